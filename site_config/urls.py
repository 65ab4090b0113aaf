from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from accounts.api import api
from accounts.language import switch_language
from site_config.health import health, mail_delivery
from verification.checks import anymail_esp

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("health/", health, name="health"),
    path("health/mail/", mail_delivery, name="health_mail"),
    # Django's set_language, for the switcher, which also stores a signed-in person's choice.
    path("i18n/setlang/", switch_language, name="set_language"),
]

if esp := anymail_esp():
    # The tracking webhook of the ESP the site sends through, and no other: anymail
    # authenticates it (its signature, or WEBHOOK_SECRET: manage.py check asks for one).
    from anymail.urls import urlpatterns as anymail_urls

    webhook = [p for p in anymail_urls if p.name == f"{esp}_tracking_webhook"]
    urlpatterns.append(path("anymail/", include(webhook)))

if settings.DEBUG and settings.EMAIL_BACKEND == "site_config.dev_mailbox.DevMailboxBackend":
    from site_config.dev_mailbox import mailbox

    urlpatterns.append(path("dev/mailbox/", mailbox, name="dev_mailbox"))
