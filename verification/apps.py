from django.apps import AppConfig


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"

    def ready(self):
        # Registered here: the mail settings' checks, and the receiver of ESPs' events.
        from verification import checks, esp_events  # noqa: F401
