"""A password-reset view the way tutorials write it: the request sends the mail itself, over
SMTP, before it answers. It exists only here, to measure what the outbox saves."""

from django.core.mail import send_mail
from django.shortcuts import redirect
from django.urls import path
from django.views.generic import FormView

from accounts.forms import EmailForm
from accounts.models import User
from site_config.urls import urlpatterns as site_urlpatterns


class SynchronousResetView(FormView):
    template_name = "accounts/password_reset_request.html"
    form_class = EmailForm

    def form_valid(self, form):
        user = User.objects.get_by_email(form.cleaned_data["email"])
        if user is not None:
            send_mail("Your password reset code", "Your code is 000000.", None, [user.email])
        return redirect("accounts:password_reset_confirm")


urlpatterns = [
    path("baseline/password-reset/", SynchronousResetView.as_view()),
    *site_urlpatterns,
]
