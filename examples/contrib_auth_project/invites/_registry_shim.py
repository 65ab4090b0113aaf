"""TEMPORARY, until verification.registry lands on main: the registry's calls mapped onto the
engine's settings of today. Deleted at the rebase."""

from django.conf import settings


def register_code_purpose(name, *, label, ttl_setting):
    settings.VERIFICATION_CODE_TTL = getattr(settings, ttl_setting)


def register_mail_kind(name, *, label, waited_for, composer):
    settings.VERIFICATION_MAIL_COMPOSER = composer
    settings.VERIFICATION_MAIL_COMPOSERS = {name: composer}
    settings.SILENCED_SYSTEM_CHECKS = ["verification.E003"]
