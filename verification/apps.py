from django.apps import AppConfig

from verification import conf


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        # Before any app's models or ready(): engine modules may read their settings at import.
        conf.apply_defaults()

    def ready(self):
        # Registered here: the mail settings' checks, and the receiver of ESPs' events.
        from verification import checks, esp_events  # noqa: F401
