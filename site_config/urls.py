from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from site_config.health import health

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
