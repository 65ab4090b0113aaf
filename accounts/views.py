from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import services
from accounts.forms import EmailForm, LoginForm, PasswordResetConfirmForm, SignUpForm
from verification.ratelimit import client_ip
from verification.services import InvalidCode, InvalidLink, read_activation_token

# The address a reset was asked for, so the code page can fill it in: a signed cookie in the
# browser that typed it, for as long as a code lives. Not the session: that would write a
# session row, with the typed address in it, for every request from anyone. Never the code.
RESET_EMAIL_COOKIE = "reset_email"
RESET_EMAIL_SALT = "accounts.reset_email"


def remember_reset_email(response, email):
    response.set_signed_cookie(
        RESET_EMAIL_COOKIE,
        email,
        salt=RESET_EMAIL_SALT,
        max_age=settings.VERIFICATION_CODE_TTL,
        path=reverse("accounts:password_reset"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def remembered_reset_email(request):
    return request.get_signed_cookie(
        RESET_EMAIL_COOKIE, default="", salt=RESET_EMAIL_SALT, max_age=settings.VERIFICATION_CODE_TTL
    )


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class SignUpView(FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("accounts:signup_done")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.register_user(
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                client_ip=client_ip(self.request),
            )
        except services.UsernameTaken:
            form.username_taken()
            return self.form_invalid(form)
        return super().form_valid(form)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"


@method_decorator(never_cache, name="dispatch")
class ActivateView(TemplateView):
    """GET shows a button and changes nothing (mail scanners open links); POST activates."""

    template_name = "accounts/activate.html"

    def get(self, request, token):
        try:
            read_activation_token(token)
        except InvalidLink as refused:
            return self.refuse(refused)
        return self.render_to_response({})

    def post(self, request, token):
        try:
            services.activate_account(token=token)
        except InvalidLink as refused:
            return self.refuse(refused)
        messages.success(request, _("Your account is active. Sign in to continue."))
        return redirect("accounts:login")

    def refuse(self, refused):
        return self.render_to_response({"refused": refused.reason}, status=400)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # The token is in this page's URL: Referer headers carry the origin only, never the
        # path. Not "no-referrer": under it browsers send "Origin: null" with the confirm
        # POST, and Django's CSRF check refuses it (the browser test caught this).
        response["Referrer-Policy"] = "strict-origin"
        return response


class ResendActivationView(FormView):
    template_name = "accounts/resend_activation.html"
    form_class = EmailForm
    success_url = reverse_lazy("accounts:activation_sent")

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")}

    def form_valid(self, form):
        services.resend_activation(
            email=form.cleaned_data["email"], client_ip=client_ip(self.request)
        )
        return super().form_valid(form)


class PasswordResetRequestView(FormView):
    template_name = "accounts/password_reset_request.html"
    form_class = EmailForm
    success_url = reverse_lazy("accounts:password_reset_confirm")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        services.request_password_reset(email=email, client_ip=client_ip(self.request))
        response = super().form_valid(form)
        remember_reset_email(response, email)
        return response


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("code", "password1", "password2"), name="dispatch")
class PasswordResetConfirmView(FormView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = PasswordResetConfirmForm
    success_url = reverse_lazy("accounts:login")

    def get_initial(self):
        return {"email": remembered_reset_email(self.request)}

    def get_context_data(self, **kwargs):
        # The "send the code again" button counts down the address's cooldown.
        email = remembered_reset_email(self.request)
        wait = services.seconds_until_next_mail(email=email) if email else 0
        return super().get_context_data(resend_email=email, resend_wait=wait, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.reset_password_with_code(
                email=data["email"],
                code=data["code"],
                password=data["password1"],
                client_ip=client_ip(self.request),
            )
        except (services.TooManyTries, InvalidCode) as refused:
            form.refuse_code(refused)
            return self.form_invalid(form)
        messages.success(self.request, _("Your password is changed. Sign in with it."))
        response = super().form_valid(form)
        response.delete_cookie(RESET_EMAIL_COOKIE, path=reverse("accounts:password_reset"))
        return response
