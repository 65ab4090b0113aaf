"""`manage.py check` on the mail settings: mistakes that otherwise start without complaint and
fail only at the provider, or at the receiver's spam filter."""

from email.utils import parseaddr

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

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


def anymail_esp() -> str:
    """The ESP django-anymail sends through ("mailgun", "amazon_ses"…; "" for none)."""
    backend = settings.EMAIL_BACKEND.split(".")
    return backend[2] if backend[:2] == ["anymail", "backends"] and len(backend) > 3 else ""


# ESPs whose webhooks anymail authenticates by their own signature, and that setting's name.
_SIGNED_WEBHOOKS = {"mailgun": "MAILGUN_WEBHOOK_SIGNING_KEY", "postal": "POSTAL_WEBHOOK_KEY"}


@checks.register(checks.Tags.security)
def check_esp_webhook(app_configs=None, **kwargs):
    """An ESP's events change mail state and the suppression list: its webhook must be
    authenticated (SECURITY.md 27), which anymail only warns about."""
    esp = anymail_esp()
    if esp in ("", "test"):  # anymail's test backend has no webhook
        return []
    configured = getattr(settings, "ANYMAIL", {})  # anymail's own setting, which it may go without
    if configured.get("WEBHOOK_SECRET") or configured.get(_SIGNED_WEBHOOKS.get(esp, "-")):
        return []
    key = _SIGNED_WEBHOOKS.get(esp, "WEBHOOK_SECRET")
    return [
        checks.Error(
            f"The {esp} tracking webhook would take events from anyone.",
            hint=f"Set {key} in ANYMAIL (WEBHOOK_SECRET is user:password for HTTP basic auth).",
            id="verification.E002",
        )
    ]


@checks.register(checks.Tags.compatibility)
def check_mail_composers(app_configs=None, **kwargs):
    """A composer that is misnamed would fail each mail of its kind in the worker, one by one,
    long after the site started: said at start instead."""
    from verification import registry

    errors = []
    kinds = registry.mail_kind_names()
    for kind in sorted(settings.VERIFICATION_MAIL_COMPOSERS.keys() - set(kinds)):
        errors.append(
            checks.Error(
                f"VERIFICATION_MAIL_COMPOSERS names {kind!r}, which is no mail kind.",
                hint=f"The kinds: {', '.join(kinds)}.",
                id="verification.E003",
            )
        )
    for kind in kinds:
        path = registry.composer_of(kind)
        try:
            import_string(path)
        except ImportError as error:
            errors.append(
                checks.Error(
                    f"The mail composer {path!r} for {kind} cannot be imported: {error}",
                    id="verification.E004",
                )
            )
    return errors


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    errors = []
    if not getattr(settings, "SITE_URL", ""):
        errors.append(
            checks.Error(
                "SITE_URL is not set: the engine names its Message-IDs after its host.",
                hint='e.g. SITE_URL = "https://example.org"',
                id="verification.E010",
            )
        )
    if settings.VERIFICATION_SMTP_CONNECTIONS < 1:
        errors.append(
            checks.Error("VERIFICATION_SMTP_CONNECTIONS must be at least 1.", id="verification.E011")
        )
    return errors
