"""The client's address is the site's to say (issue 23): one middleware computes it per
request, behind the proxies the site trusts, and everything else reads `request.client_ip`.
How it is computed (proxies, IPv6 networks) is tested through the pages in test_rate_limits."""

import re

from django.http import HttpResponse
from django.test import RequestFactory

from harness.processes import ROOT
from site_config.middleware import ClientAddress


def seen_by_a_view(settings, proxies, **meta):
    settings.TRUSTED_PROXY_COUNT = proxies
    seen = []
    ClientAddress(lambda request: seen.append(request.client_ip) or HttpResponse())(
        RequestFactory().get("/", **meta)
    )
    return seen


def test_a_view_reads_the_client_the_last_trusted_proxy_saw_as_its_network(settings):
    behind_one = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "spoofed, 2001:db8:1:2::7"}

    assert seen_by_a_view(settings, 0, **behind_one) == ["10.0.0.1"]
    assert seen_by_a_view(settings, 1, **behind_one) == ["2001:db8:1:2::/64"]


def test_no_module_outside_the_site_middleware_reads_the_clients_address_itself():
    readers = [
        str(path.relative_to(ROOT))
        for package in ("accounts", "verification", "site_config")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"HTTP_X_FORWARDED_FOR|client_ip\(", path.read_text())
    ]
    # The development mailbox refuses any forwarded request outright (site_config/dev_mailbox.py).
    assert sorted(readers) == ["site_config/dev_mailbox.py", "site_config/middleware.py"]
