"""The site's URLs with the Mailgun tracking webhook, as site_config/urls.py mounts it when the
site sends through Mailgun (it reads EMAIL_BACKEND once, at start)."""

from anymail.urls import urlpatterns as anymail_urls
from django.urls import include, path

from site_config.urls import urlpatterns as site_urls

urlpatterns = [
    *site_urls,
    path("anymail/", include([p for p in anymail_urls if p.name == "mailgun_tracking_webhook"])),
]
