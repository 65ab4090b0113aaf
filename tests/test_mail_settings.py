"""`manage.py check` catches mail settings that would fail only at the provider (issue 22)."""

import pytest
from django.core import checks

from harness.processes import manage, site_environment
from tests.test_security_settings import PRODUCTION
from verification.checks import check_sender


def ids(settings):
    return [message.id for message in check_sender()]


@pytest.mark.parametrize("sender", ["apikey", "Verify <noreply@>", ""])
def test_a_from_address_without_a_domain_is_an_error(settings, sender):
    settings.DEFAULT_FROM_EMAIL = sender
    assert ids(settings) == ["verification.E001"]


def test_a_from_that_is_not_the_login_warns_on_qq_163_and_126(settings):
    settings.EMAIL_HOST, settings.EMAIL_HOST_USER = "smtp.163.com", "lin@163.com"
    settings.DEFAULT_FROM_EMAIL = "Verify <noreply@example.org>"
    assert ids(settings) == ["verification.W001"]

    settings.DEFAULT_FROM_EMAIL = "Verify <LIN@163.com>"
    assert ids(settings) == []


def test_elsewhere_a_from_of_its_own_domain_is_fine(settings):
    settings.EMAIL_HOST, settings.EMAIL_HOST_USER = "smtp.example.org", "apikey"
    settings.DEFAULT_FROM_EMAIL = "Verify <noreply@example.org>"
    assert ids(settings) == []


def test_the_check_runs_with_manage_py_check(settings):
    settings.DEFAULT_FROM_EMAIL = "apikey"
    assert "verification.E001" in [message.id for message in checks.run_checks()]


def test_the_support_line_shows_the_bare_address():
    env = site_environment(database_url=PRODUCTION["DATABASE_URL"], smtp_port=25, web_port=443)
    show = "from django.conf import settings as s; print(s.SUPPORT_EMAIL)"
    named = {**env, **PRODUCTION, "DEFAULT_FROM_EMAIL": "Verify <noreply@verify.example.org>"}

    assert (
        manage("shell", "--no-imports", "-c", show, env=named).stdout.strip() == "noreply@verify.example.org"
    )
