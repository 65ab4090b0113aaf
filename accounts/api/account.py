"""The signed-in person's account: read it, change the address (a code to the new one), undo
a change from the old address, change the password."""

from datetime import datetime

from django.contrib.auth import login
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Schema, Status

from accounts import email_change, known_browser, services
from accounts.account_forms import (
    EmailChangeCodeForm,
    EmailChangeForm,
    PasswordChangeForm,
    UndoEmailChangeForm,
)
from accounts.api.clients import SIGNED_IN, SessionOut, session_answer
from accounts.api.refusals import LINK_MESSAGES, Refusal, Refused, bound, refused_code, refusing
from accounts.api.signing_up import Mailed
from verification import clock
from verification.tokens import InvalidCode, InvalidLink

router = Router(tags=["account"])

address_taken = _("That address now belongs to another account.")
account_changed = _("Your account changed while this page was open. Sign in again.")


class PendingChangeOut(Schema):
    new_email: str
    requested_at: datetime
    resend_after: int


class AccountOut(Schema):
    username: str
    email: str
    email_verified_at: datetime | None
    date_joined: datetime
    last_login: datetime | None
    password_changed_at: datetime | None
    pending_change: PendingChangeOut | None


def pending_change(user) -> dict | None:
    change = user.email_changes.pending().first()
    if change is None:
        return None
    # This client's own cooldown: the new address's would tell how much mail it got lately.
    wait = services.resend_wait(asked_at=change.requested_at.timestamp())
    return {"new_email": change.new_email, "requested_at": change.requested_at, "resend_after": wait}


@router.get("", response={200: AccountOut, 401: Refusal}, auth=SIGNED_IN)
def read_account(request):
    user = request.user
    fields = ["username", "email", "email_verified_at", "date_joined", "last_login", "password_changed_at"]
    return {**{name: getattr(user, name) for name in fields}, "pending_change": pending_change(user)}


class EmailChangeIn(Schema):
    new_email: str
    current_password: str


@router.post("/email", response={202: Mailed, **refusing(400, 401, 429)}, auth=SIGNED_IN)
@sensitive_variables("body")
def request_email_change(request, body: EmailChangeIn):
    """Mails a code to the new address; nothing changes until it comes back."""
    form = bound(EmailChangeForm, body, request=request)
    new_email = form.cleaned_data["new_email"]
    try:
        email_change.request_email_change(user=request.user, new_email=new_email, client_ip=request.client_ip)
    except services.TooManyTries as refused:
        form.refuse_mail(refused)
        raise Refused.from_form(form) from None
    return Status(202, {"resend_after": services.resend_wait(asked_at=clock.now().timestamp())})


class EmailCodeIn(Schema):
    code: str


@router.post(
    "/email/confirm",
    response={200: SessionOut, **refusing(400, 401, 409, 429)},
    auth=SIGNED_IN,
)
@sensitive_variables("body")
def confirm_email_change(request, body: EmailCodeIn):
    """Moves the account to the new address; this session stays (with a new token), every
    other one ends."""
    form = bound(EmailChangeCodeForm, body)
    user = request.user
    try:
        email_change.confirm_email_change(
            user=user, code=form.cleaned_data["code"], client_ip=request.client_ip
        )
    except (services.TooManyTries, InvalidCode) as refused:
        raise refused_code(form, refused) from None
    except email_change.AddressTaken:
        raise Refused.one("address_taken", address_taken) from None
    known_browser.stay_signed_in(request, user)
    return session_answer(request)


@router.post("/email/resend", response={202: Mailed, **refusing(401)}, auth=SIGNED_IN)
def resend_email_change_code(request):
    email_change.resend_email_change_code(user=request.user, client_ip=request.client_ip)
    change = pending_change(request.user)
    return Status(202, {"resend_after": change["resend_after"] if change else 0})


@router.post("/email/cancel", response={204: None, **refusing(401)}, auth=SIGNED_IN)
def cancel_email_change(request):
    email_change.cancel_email_change(user=request.user)
    return Status(204, None)


class UndoIn(Schema):
    token: str  # from the link mailed to the old address
    password1: str
    password2: str


@router.post("/email/undo", response={200: SessionOut, **refusing(400, 409)})
@sensitive_variables("body")
def undo_email_change(request, body: UndoIn):
    """Puts the old address back with a new password, ends every session, and signs this
    client in (the link proves the mailbox). No session needed: it is the old address's."""
    try:
        form = bound(UndoEmailChangeForm, body, user=email_change.read_undo_link(body.token))
        user = email_change.undo_email_change(token=body.token, password=form.cleaned_data["password1"])
    except InvalidLink as refused:
        raise Refused.one(
            f"link_{refused.reason}", LINK_MESSAGES["undo"][refused.reason], field="token"
        ) from None
    except email_change.AddressTaken:
        raise Refused.one("address_taken", LINK_MESSAGES["undo"]["taken"], field="token") from None
    login(request, user)
    return session_answer(request)


class PasswordChangeIn(Schema):
    current_password: str
    password1: str
    password2: str


@router.post("/password", response={200: SessionOut, **refusing(400, 401, 429)}, auth=SIGNED_IN)
@sensitive_variables("body")
def change_password(request, body: PasswordChangeIn):
    """This session stays (with a new token); every other one ends."""
    form = bound(PasswordChangeForm, body, request=request)
    user = request.user
    try:
        services.set_new_password(user=user, password=form.cleaned_data["password1"])
    except services.TooManyTries as refused:
        form.refuse_change(refused)
        raise Refused.from_form(form) from None
    except services.AccountChanged:
        raise Refused.one("account_changed", account_changed) from None
    known_browser.stay_signed_in(request, user)
    return session_answer(request)
