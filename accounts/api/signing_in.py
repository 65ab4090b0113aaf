"""Sign in (with a password, by username or address, or with a mailed code), sign out, the
current session, and a password reset by code."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.core import signing
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Schema, Status

from accounts import known_browser, services
from accounts.api.clients import SIGNED_IN, SessionOut, session_answer
from accounts.api.refusals import Refusal, Refused, bound, refused_code, refusing
from accounts.forms import EmailForm, LoginForm, PasswordResetConfirmForm, SignInCodeForm
from accounts.vocabulary import Purpose
from verification import clock
from verification.tokens import InvalidCode

router = Router(tags=["sign-in"])


class SignInIn(Schema):
    username: str  # or the address
    password: str


@router.post("/session", response={200: SessionOut, **refusing(400, 429)})
@sensitive_variables("body")
def sign_in(request, body: SignInIn):
    """The site's sign-in form, throttled alike: an address without an account and a wrong
    password are answered alike."""
    form = bound(LoginForm, body, request=request)
    login(request, form.get_user())
    return session_answer(request)


@router.get("/session", response={200: SessionOut, 401: Refusal}, auth=SIGNED_IN)
def current_session(request):
    return session_answer(request)


@router.delete("/session", response={204: None, **refusing()})
def sign_out(request):
    logout(request)
    return Status(204, None)


class CodeAsked(Schema):
    # Send it back with the code: it makes this client the one that asked, which is told how
    # many tries are left and has tries of its own (docs/security.md, "Guessing codes").
    request: str
    resend_after: int


class CodeRequest:
    """One kind of mailed code: the service that mails it, and the signed note of the code
    asked for (like the pages' address cookie, accounts/views/address_cookie.py)."""

    def __init__(self, purpose: str, ttl_setting: str) -> None:
        self.purpose, self.ttl_setting = purpose, ttl_setting
        self.salt = f"accounts.api.{purpose}.request"

    def answer(self, email: str, code_id: str) -> dict:
        # This client's own cooldown, from now: the address's would tell that someone else
        # asked for it a moment ago.
        wait = services.resend_wait(asked_at=clock.now().timestamp())
        return {"request": signing.dumps([email, code_id], salt=self.salt), "resend_after": wait}

    def browser(self, request, *, email: str, signed: str) -> services.Browser:
        try:
            asked_email, code_id = signing.loads(
                signed, salt=self.salt, max_age=getattr(settings, self.ttl_setting)
            )
        except (signing.BadSignature, ValueError, TypeError):
            asked_email = code_id = ""
        return services.Browser(
            asked_for=code_id if asked_email == email else "", signed_in_proof=known_browser.proof_in(request)
        )


def confirm_link(operation_id: str) -> dict:
    """An OpenAPI link from a code request to its confirm: the same address, the note."""
    body = {"email": "$request.body#/email", "request": "$response.body#/request"}
    return {"responses": {202: {"links": {"confirm": {"operationId": operation_id, "requestBody": body}}}}}


SIGN_IN_CODE = CodeRequest(Purpose.LOGIN, "VERIFICATION_LOGIN_CODE_TTL")
RESET_CODE = CodeRequest(Purpose.PASSWORD_RESET, "VERIFICATION_CODE_TTL")


class EmailIn(Schema):
    email: str


def sign_in_by_code_is_on() -> None:
    if not settings.VERIFICATION_LOGIN_BY_CODE:
        raise Refused.one("flow_off", _("Sign-in by code is off on this site."))


@router.post(
    "/sign-in-code",
    response={202: CodeAsked, **refusing(400, 404)},
    openapi_extra=confirm_link("accounts_api_signing_in_sign_in_with_code"),
)
def request_sign_in_code(request, body: EmailIn):
    """Mails a sign-in code; every address is answered alike."""
    sign_in_by_code_is_on()
    email = bound(EmailForm, body).cleaned_data["email"]
    code_id = services.request_sign_in_code(
        email=email, client_ip=request.client_ip, signed_in_proof=known_browser.proof_in(request)
    )
    return Status(202, SIGN_IN_CODE.answer(email, code_id))


class CodeIn(Schema):
    email: str
    code: str
    request: str = ""  # from the answer that asked for the code, if this client asked


@router.post(
    "/sign-in-code/confirm",
    response={200: SessionOut, **refusing(400, 404, 429)},
)
@sensitive_variables("body")
def sign_in_with_code(request, body: CodeIn):
    """Signs in with the code, from any device; a wrong one is explained only to the client
    that asked for it."""
    sign_in_by_code_is_on()
    form = bound(SignInCodeForm, body)
    email = form.cleaned_data["email"]
    try:
        user = services.sign_in_with_code(
            email=email,
            code=form.cleaned_data["code"],
            client_ip=request.client_ip,
            browser=SIGN_IN_CODE.browser(request, email=email, signed=body.request),
        )
    except (services.TooManyTries, InvalidCode) as refused:
        raise refused_code(form, refused) from None
    login(request, user)
    return session_answer(request)


@router.post(
    "/password-reset",
    response={202: CodeAsked, **refusing(400)},
    tags=["password reset"],
    openapi_extra=confirm_link("accounts_api_signing_in_reset_password"),
)
def request_password_reset(request, body: EmailIn):
    """Mails a reset code; every address is answered alike."""
    email = bound(EmailForm, body).cleaned_data["email"]
    code_id = services.request_password_reset(
        email=email, client_ip=request.client_ip, signed_in_proof=known_browser.proof_in(request)
    )
    return Status(202, RESET_CODE.answer(email, code_id))


class ResetIn(CodeIn):
    password1: str
    password2: str


@router.post(
    "/password-reset/confirm",
    response={204: None, **refusing(400, 429)},
    tags=["password reset"],
)
@sensitive_variables("body")
def reset_password(request, body: ResetIn):
    """Sets the new password; every session of the account ends, apps' included."""
    form = bound(PasswordResetConfirmForm, body)
    data = form.cleaned_data
    try:
        services.reset_password_with_code(
            email=data["email"],
            code=data["code"],
            password=data["password1"],
            client_ip=request.client_ip,
            browser=RESET_CODE.browser(request, email=data["email"], signed=body.request),
        )
    except (services.TooManyTries, InvalidCode) as refused:
        raise refused_code(form, refused) from None
    return Status(204, None)
