"""`manage.py check` on the mail settings: mistakes that otherwise start without complaint and
fail only at the provider, or at the receiver's spam filter."""

from email.utils import parseaddr

from django.conf import settings
from django.core import checks

# Providers that refuse (or bounce) a From that is not the signed-in account.
_FROM_MUST_BE_THE_LOGIN = ("qq.com", "163.com", "126.com")


@checks.register(checks.Tags.compatibility)
def check_sender(app_configs=None, **kwargs):
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    _, at, domain = sender.rpartition("@")
    if not at or not domain:
        return [
            checks.Error(
                f"DEFAULT_FROM_EMAIL {settings.DEFAULT_FROM_EMAIL!r} has no domain.",
                hint="Send from an address of your own domain, e.g. 'Verify <noreply@example.org>' "
                "(an API-key login is no From address).",
                id="verification.E001",
            )
        ]
    host = (settings.EMAIL_HOST or "").lower()
    login = settings.EMAIL_HOST_USER.lower()
    if host.endswith(_FROM_MUST_BE_THE_LOGIN) and login and sender.lower() != login:
        return [
            checks.Warning(
                f"DEFAULT_FROM_EMAIL is {sender}, but {host} signs in as {login}.",
                hint="QQ Mail, 163 and 126 refuse a From that is not the signed-in account: "
                "set DEFAULT_FROM_EMAIL to that address.",
                id="verification.W001",
            )
        ]
    return []
