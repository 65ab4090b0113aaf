"""What this app's codes, links and mails are called: the engine stores these names and knows
none of them; `register()` (from `AccountsConfig.ready()`) tells it what each one is."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from verification import registry


class Purpose(models.TextChoices):
    """What a code or a link proves."""

    ACTIVATION = "activation", _("account activation link")
    PASSWORD_RESET = "password_reset", _("password reset code")
    LOGIN = "login", _("sign-in code")
    EMAIL_CHANGE = "email_change", _("address change code")
    EMAIL_CHANGE_UNDO = "email_change_undo", _("address change undo link")


class MailKind(models.TextChoices):
    ACTIVATION = "activation", _("activation link")
    ACCOUNT_EXISTS = "account_exists", _("you already have an account")
    PASSWORD_RESET = "password_reset", _("password reset code")
    LOGIN_CODE = "login_code", _("sign-in code")
    EMAIL_CHANGE_CODE = "email_change_code", _("address change code")
    EMAIL_IN_USE = "email_in_use", _("address already has an account")
    EMAIL_CHANGED = "email_changed", _("address changed notice, with undo")
    EMAIL_CONFIRMED = "email_confirmed", _("new address confirmed")
    EMAIL_CHANGE_UNDONE = "email_change_undone", _("address change undone notice")
    PASSWORD_CHANGED = "password_changed", _("password changed notice")


# Claimed before other mail: someone is waiting for the code or link it carries, or must hear
# at once that someone changed the account (the address change's notice carries the undo).
WAITED_FOR = {
    MailKind.ACTIVATION,
    MailKind.PASSWORD_RESET,
    MailKind.LOGIN_CODE,
    MailKind.EMAIL_CHANGE_CODE,
    MailKind.EMAIL_CHANGED,
    MailKind.EMAIL_CHANGE_UNDONE,
    MailKind.PASSWORD_CHANGED,
}

CODE_TTL_SETTING = {
    Purpose.PASSWORD_RESET: "VERIFICATION_CODE_TTL",
    Purpose.LOGIN: "VERIFICATION_LOGIN_CODE_TTL",
    Purpose.EMAIL_CHANGE: "VERIFICATION_CODE_TTL",
}


def register() -> None:
    for purpose, ttl_setting in CODE_TTL_SETTING.items():
        registry.register_code_purpose(purpose, label=purpose.label, ttl_setting=ttl_setting)
    registry.register_link_purpose(
        Purpose.ACTIVATION,
        label=Purpose.ACTIVATION.label,
        salt="verification.activation",
        ttl_setting="VERIFICATION_ACTIVATION_TTL",
        replaces_older=True,
    )
    registry.register_link_purpose(
        Purpose.EMAIL_CHANGE_UNDO,
        label=Purpose.EMAIL_CHANGE_UNDO.label,
        salt="verification.email_change_undo",
        ttl_setting="VERIFICATION_EMAIL_UNDO_TTL",
        replaces_older=False,  # several address changes may each owe an undo to another address
    )
    for kind in MailKind:
        registry.register_mail_kind(
            kind, label=kind.label, waited_for=kind in WAITED_FOR, composer="accounts.mail.compose"
        )
