"""Reset a forgotten password with a code mailed to the address."""

from django.contrib import messages
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from accounts import services
from accounts.forms import PasswordResetConfirmForm
from accounts.views.address_cookie import RESET_ADDRESS
from accounts.views.code_page import CodePage, CodeRequest
from accounts.vocabulary import Purpose
from verification.tokens import InvalidCode


class PasswordResetRequestView(CodeRequest):
    template_name = "accounts/password_reset_request.html"
    success_url = reverse_lazy("accounts:password_reset_confirm")
    address_cookie = RESET_ADDRESS
    ask = staticmethod(services.request_password_reset)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("code", "password1", "password2"), name="dispatch")
class PasswordResetConfirmView(CodePage, FormView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = PasswordResetConfirmForm
    success_url = reverse_lazy("accounts:login")
    address_cookie = RESET_ADDRESS
    purpose = Purpose.PASSWORD_RESET

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.reset_password_with_code(
                email=data["email"],
                code=data["code"],
                password=data["password1"],
                client_ip=self.request.client_ip,
                browser=self.browser(),
            )
        except (services.TooManyTries, InvalidCode) as refused:
            form.refuse_code(refused)
            return self.form_invalid(form)
        messages.success(self.request, _("Your password is changed. Sign in with it."))
        response = super().form_valid(form)
        RESET_ADDRESS.forget(response)
        return response
