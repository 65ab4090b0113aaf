"""What the site offers, the CSRF token, sign-up, activation, a new activation link."""

from django.conf import settings
from django.contrib.auth import login
from django.middleware.csrf import get_token
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Schema, Status

from accounts import services
from accounts.api.clients import TOKEN_HEADER, SessionOut, session_answer
from accounts.api.refusals import LINK_MESSAGES, Refused, bound, refusing
from accounts.forms import ActivationForm, EmailForm, SignUpForm
from accounts.vocabulary import Purpose
from verification import clock
from verification.tokens import InvalidLink

router = Router(tags=["sign-up"])


class ConfigOut(Schema):
    sign_in_by_code: bool
    code_length: int
    code_ttl: int
    sign_in_code_ttl: int
    activation_ttl: int
    email_undo_ttl: int
    mail_cooldown: int
    session_token_header: str


@router.get("/config", response=ConfigOut, tags=["site"])
def config(request):
    """Which flows are on, how long codes and links live (seconds), how codes look."""
    return {
        "sign_in_by_code": settings.VERIFICATION_LOGIN_BY_CODE,
        "code_length": settings.VERIFICATION_CODE_LENGTH,
        "code_ttl": settings.VERIFICATION_CODE_TTL,
        "sign_in_code_ttl": settings.VERIFICATION_LOGIN_CODE_TTL,
        "activation_ttl": settings.VERIFICATION_ACTIVATION_TTL,
        "email_undo_ttl": settings.VERIFICATION_EMAIL_UNDO_TTL,
        "mail_cooldown": settings.VERIFICATION_MAIL_COOLDOWN,
        "session_token_header": TOKEN_HEADER,
    }


class CsrfOut(Schema):
    csrf_token: str


@router.get("/csrf", response=CsrfOut, tags=["site"])
def csrf(request):
    """For cookie clients: the token to send in X-CSRFToken with every POST and DELETE (the
    cookie it pairs with is set on this answer; it is HttpOnly, so script reads it here)."""
    return {"csrf_token": get_token(request)}


class Mailed(Schema):
    # Seconds before the same mail may be asked for again (the address's cooldown).
    resend_after: int


def mailed(email: str, purpose: str) -> dict:
    # This client's own cooldown: the address's would tell that someone asked for it lately.
    return {"resend_after": services.resend_wait(asked_at=clock.now().timestamp())}


class SignUpIn(Schema):
    username: str = ""  # required unless VERIFICATION_SIGNUP_USERNAME is off
    email: str
    password1: str
    password2: str


@router.post("/signup", response={202: Mailed, **refusing(400)})
@sensitive_variables("body")
def sign_up(request, body: SignUpIn):
    """Mails an activation link; a taken address is answered alike (its owner is mailed)."""
    form = bound(SignUpForm, body)
    data = form.cleaned_data
    try:
        services.register_user(
            username=data.get("username", ""),  # none when the site asks for none
            email=data["email"],
            password=data["password1"],
            client_ip=request.client_ip,
        )
    except services.UsernameTaken:
        form.username_taken()
        raise Refused.from_form(form) from None
    return Status(202, mailed(data["email"], Purpose.ACTIVATION))


class ActivationIn(Schema):
    token: str  # from the mailed link
    password: str  # the one chosen at sign-up


@router.post("/activation", response={200: SessionOut, **refusing(400, 429)})
@sensitive_variables("body")
def activate(request, body: ActivationIn):
    """Activates the account and signs this client in."""
    form = bound(ActivationForm, body)
    try:
        user = services.activate_account(
            token=body.token, password=form.cleaned_data["password"], client_ip=request.client_ip
        )
    except InvalidLink as refused:
        raise link_refused("activation", refused) from None
    except (services.WrongPassword, services.TooManyTries) as refused:
        form.refuse(refused)
        raise Refused.from_form(form) from None
    login(request, user)
    return session_answer(request)


def link_refused(kind: str, refused: InvalidLink) -> Refused:
    return Refused.one(f"link_{refused.reason}", LINK_MESSAGES[kind][refused.reason], field="token")


class EmailIn(Schema):
    email: str


@router.post("/activation/resend", response={202: Mailed, **refusing(400)})
def resend_activation(request, body: EmailIn):
    """Mails a new link if the address awaits activation; every address is answered alike."""
    email = bound(EmailForm, body).cleaned_data["email"]
    services.resend_activation(email=email, client_ip=request.client_ip)
    return Status(202, mailed(email, Purpose.ACTIVATION))
