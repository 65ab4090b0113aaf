from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from verification import registry


class InvitesConfig(AppConfig):
    name = "invites"

    def ready(self):
        # This app's words, which the engine knows only by these names.
        registry.register_code_purpose(
            "invite", label=_("invitation code"), ttl_setting="EXAMPLE_INVITE_CODE_TTL"
        )
        registry.register_mail_kind(
            "invite_code", label=_("invitation code"), waited_for=True, composer="invites.mail.compose_invite"
        )
