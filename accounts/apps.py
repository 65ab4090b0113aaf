from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from accounts import known_browser, language, vocabulary  # noqa: F401  (connect their sign-in receivers)

        vocabulary.register()
