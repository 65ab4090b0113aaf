"""Sign in with a password, or with a code mailed to the address (any device: the code page
needs the address and the code, nothing from the browser that asked)."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from accounts import services
from accounts.forms import LoginForm, SignInCodeForm
from accounts.views.address_cookie import SIGN_IN_ADDRESS
from accounts.views.code_page import CodePage, CodeRequest
from accounts.views.signed_in import SignedInGoToAccount
from accounts.vocabulary import Purpose
from verification.tokens import InvalidCode


class LoginView(SignedInGoToAccount, auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"


class LoginByCodeEnabled:
    """The sign-in-by-code pages exist only while VERIFICATION_LOGIN_BY_CODE is on."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.VERIFICATION_LOGIN_BY_CODE:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class SignInCodeRequestView(LoginByCodeEnabled, CodeRequest):
    template_name = "accounts/login_code_request.html"
    success_url = reverse_lazy("accounts:login_code")
    address_cookie = SIGN_IN_ADDRESS
    ask = staticmethod(services.request_sign_in_code)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class SignInCodeView(LoginByCodeEnabled, CodePage, auth_views.RedirectURLMixin, FormView):
    """GET shows the form (the mailed link fills it in, from its fragment) and changes
    nothing, since mail scanners open links; the POST signs in."""

    template_name = "accounts/login_code.html"
    form_class = SignInCodeForm
    next_page = settings.LOGIN_REDIRECT_URL  # unless a safe ?next= says otherwise
    address_cookie = SIGN_IN_ADDRESS
    purpose = Purpose.LOGIN

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return {**context, "signing_in_as": context["form"]["email"].value() or ""}

    def form_valid(self, form):
        try:
            user = services.sign_in_with_code(
                email=form.cleaned_data["email"],
                code=form.cleaned_data["code"],
                client_ip=self.request.client_ip,
                browser=self.browser(),
            )
        except (services.TooManyTries, InvalidCode) as refused:
            form.refuse_code(refused)
            return self.form_invalid(form)
        login(self.request, user)  # a new session key: what a stranger planted is gone
        response = super().form_valid(form)
        SIGN_IN_ADDRESS.forget(response)
        return response
