"""What a person is told of mail that did not arrive, on the two pages where that reveals
nothing about accounts: the "check your inbox" page after sign-up and the address-change code
page. Both flows mail the typed address whatever its account state; the reset and sign-in-code
pages never say (docs/security.md, SECURITY.md 26)."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.views.address_cookie import AddressCookie
from accounts.vocabulary import MailKind
from verification import suppression

# The typed address and when it was mailed, for the page after sign-up; never the password.
SIGNED_UP_ADDRESS = AddressCookie(
    "signed_up_email", path_url_name="accounts:signup_done", ttl_setting="VERIFICATION_ACTIVATION_TTL"
)

# The receiving server's words, in plain ones: (what the reason contains, what we say).
_PLAIN_REASONS = [
    (
        ("5.1.1", "unknown user", "user unknown", "mailbox not found", "不存在", "does not exist"),
        gettext_lazy("there is no mailbox at that address"),
    ),
    (("5.1.2", "5.4.4", "dns", "host not found", "no mx"), gettext_lazy("that domain does not receive mail")),
    (("5.2.2", "4.2.2", "full", "quota"), gettext_lazy("the mailbox is full")),
]


def plain_reason(reason: str) -> str:
    lowered = reason.lower()
    for marks, words in _PLAIN_REASONS:
        if any(mark in lowered for mark in marks):
            return str(words)
    return _("the receiving mail server refused it")


# The mail each page's request sends to the typed address, whatever its account state.
SIGN_UP_MAIL = [MailKind.ACTIVATION, MailKind.ACCOUNT_EXISTS]
EMAIL_CHANGE_MAIL = [MailKind.EMAIL_CHANGE_CODE, MailKind.EMAIL_IN_USE]


def undelivered_notice(*, address: str, since: datetime, kinds: list[str]) -> str:
    """ "The mail to x could not be delivered: <why>. Check the address." ("" when nothing is
    known against the mail of `kinds` sent there since `since`)."""
    reason = suppression.undelivered_reason(address=address, since=since, kinds=kinds)
    if reason is None:
        return ""
    return _("The mail to %(address)s could not be delivered: %(reason)s. Check the address.") % {
        "address": address,
        "reason": plain_reason(reason),
    }


def remember_signed_up(response, email: str) -> None:
    # The cookie keeps when the mail was asked for, too.
    SIGNED_UP_ADDRESS.remember(response, email, "-")


def signed_up_notice(request) -> tuple[str, str]:
    """The address this browser signed up with, and what is known against its mail."""
    email, _none, asked_at = SIGNED_UP_ADDRESS.recall(request)
    if not email or not asked_at:
        return "", ""
    # A minute's slack: the mail's attempt is stamped by the worker, after this time.
    since = datetime.fromtimestamp(asked_at - 60, tz=UTC)
    return email, undelivered_notice(address=email, since=since, kinds=SIGN_UP_MAIL)


def retry_question(address: str) -> str:
    """What a person typing an address whose mail bounced for good is told ("" when it did
    not, or when its one retry is spent)."""
    held = suppression.retry_offered(address)
    if held is None:
        return ""
    return _(
        "Mail to %(address)s could not be delivered before: %(reason)s. If the address is right, "
        "tick the box below to have it tried once more."
    ) % {"address": address, "reason": plain_reason(held.reason)}


class AsksAboutABouncedAddress(forms.Form):
    """A form where a person types an address of their own (sign-up, address change): a near
    miss of a common provider's domain gets a hint, and an address whose mail bounced for
    good is refused once with `retry_question`; ticking the box that then shows lets it be
    tried again (`wants_retry`), once."""

    address_field = "email"
    try_again = forms.BooleanField(
        label=gettext_lazy("The address is right: try it once more"), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # static/js/typo-hint.js shows it for a near miss of a common provider's domain.
        self.fields[self.address_field].widget.attrs["data-typo-hint"] = gettext_lazy(
            "Did you mean {address}?"
        )

    def ask_about_a_bounced_address(self):
        address = self.cleaned_data.get(self.address_field)
        if not address or self.wants_retry:
            return
        if question := retry_question(address):
            self.fields["try_again"].widget = forms.CheckboxInput()
            self.add_error(self.address_field, ValidationError(question, code="bounced_before"))

    @property
    def wants_retry(self) -> bool:
        return bool(self.cleaned_data.get("try_again"))
