"""What the whole site does to each request and response: the client's address, and the
headers every page shares."""

from django.conf import settings
from django.http import HttpRequest

from verification.ratelimit import client_network


class ClientAddress:
    """Set `request.client_ip` once per request, before anything reads it: the client as
    the per-client limits see it. Views, forms and the API read that, never the headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_address(request)
        return self.get_response(request)


def client_address(request: HttpRequest) -> str:
    """The socket's address, or the one the last trusted proxy saw (TRUSTED_PROXY_COUNT: the
    proxies in front that append to X-Forwarded-For; what a client wrote before them is not
    believed), as its network (an IPv6 client is its /64)."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    return client_network(address)


class ContentSecurityPolicyMiddleware:
    """Every script and style is a file from this site, so the policy refuses all else
    (injected markup cannot run script), and no other site may frame a page (clickjacking).
    A view may set its own policy on its response (the development mailbox does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
