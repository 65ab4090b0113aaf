"""Sign up, activate, ask for a new activation link."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import delivery_notice, services
from accounts.forms import ActivationForm, EmailForm, SignUpForm
from accounts.views.signed_in import SignedInGoToAccount
from verification.tokens import InvalidLink


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class SignUpView(SignedInGoToAccount, FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("accounts:signup_done")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.register_user(
                username=data.get("username", ""),  # none when the site asks for none
                email=data["email"],
                password=data["password1"],
                client_ip=self.request.client_ip,
                language=self.request.LANGUAGE_CODE,
                retry_bounced=form.wants_retry,
            )
        except services.UsernameTaken:
            form.username_taken()
            return self.form_invalid(form)
        response = super().form_valid(form)
        delivery_notice.remember_signed_up(response, data["email"])
        return response


@method_decorator(never_cache, name="dispatch")
class SignUpDoneView(TemplateView):
    """ "Check your inbox", and, once a bounce of that mail is read back, that it did not
    arrive: sign-up mails the typed address whatever its account state, so this tells nothing
    about accounts (accounts/delivery_notice.py)."""

    template_name = "accounts/signup_done.html"

    def get_context_data(self, **kwargs):
        address, undelivered = delivery_notice.signed_up_notice(self.request)
        return super().get_context_data(signed_up_address=address, undelivered=undelivered, **kwargs)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ActivateView(TemplateView):
    """GET shows the form and changes nothing (mail scanners open links); the POST, with the
    password chosen at sign-up, activates and signs in."""

    template_name = "accounts/activate.html"

    def get(self, request, token):
        return self.show(token, ActivationForm())

    def post(self, request, token):
        form = ActivationForm(request.POST)
        if not form.is_valid():
            return self.show(token, form)
        try:
            user = services.activate_account(
                token=token, password=form.cleaned_data["password"], client_ip=request.client_ip
            )
        except InvalidLink as refused:
            return self.refuse(refused)
        except (services.WrongPassword, services.TooManyTries) as refused:
            form.refuse(refused)
            return self.show(token, form)
        login(request, user)
        messages.success(request, _("Your account is active."))
        return redirect(settings.LOGIN_REDIRECT_URL)

    def show(self, token, form):
        try:
            services.read_activation_link(token)
        except InvalidLink as refused:
            return self.refuse(refused)
        return self.render_to_response({"form": form})

    def refuse(self, refused):
        return self.render_to_response({"refused": refused.reason}, status=400)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # The token is in this page's URL: Referer headers carry the origin only, never the
        # path. Not "no-referrer": under it browsers send "Origin: null" with the confirm
        # POST, and Django's CSRF check refuses it (docs/security.md).
        response["Referrer-Policy"] = "strict-origin"
        return response


class ResendActivationView(FormView):
    template_name = "accounts/resend_activation.html"
    form_class = EmailForm
    success_url = reverse_lazy("accounts:activation_sent")

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")}

    def form_valid(self, form):
        services.resend_activation(email=form.cleaned_data["email"], client_ip=self.request.client_ip)
        return super().form_valid(form)
