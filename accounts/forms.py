import re
import unicodedata

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin, UsernameField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from accounts import addresses, scripts, services
from accounts.delivery_notice import AsksAboutABouncedAddress
from accounts.models import User
from accounts.services import CodesClosed, TooManyTries
from verification import ratelimit
from verification.ratelimit import Scope

PASSWORD_MAX_LENGTH = 128


NEW_PASSWORD_LABELS = (_("New password"), _("New password, again"))


def password_fields(labels=NEW_PASSWORD_LABELS):
    """Django's two new-password fields, capped so a huge body cannot tie up the hasher."""
    fields = SetPasswordMixin.create_password_fields(*labels)
    for field in fields:
        field.max_length = PASSWORD_MAX_LENGTH
        field.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))
        field.widget.attrs["maxlength"] = PASSWORD_MAX_LENGTH
    return fields


def validate_new_password(form, user):
    """Django's validators on the first field, where the person typed the password they chose
    (Django puts "too common" under the field that repeats it)."""
    form.validate_password_for_user(user, password_field_name="password1")


class EmailAddressField(forms.CharField):
    """An address as typed, cleaned to its canonical form (accounts/addresses.py), so that
    every look-alike spelling of one mailbox is one account, one rate-limit key, one mail."""

    def __init__(self, *, autofocus=False, **kwargs):
        attrs = {"autocomplete": "email", "autofocus": autofocus, "maxlength": addresses.MAX_LENGTH}
        super().__init__(label=_("Email"), widget=forms.EmailInput(attrs), **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return addresses.canonical_email(value) if value else value


class SignUpForm(SetPasswordMixin, AsksAboutABouncedAddress):
    username = UsernameField(
        label=_("Username"),
        max_length=150,
        validators=[User.username_validator],
        help_text=User._meta.get_field("username").help_text,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = EmailAddressField()
    password1, password2 = password_fields((_("Password"), _("Password, again")))

    error_messages = {
        **SetPasswordMixin.error_messages,
        "username_taken": _("That username is taken."),
        "mixed_scripts": _(
            "Write your username in one alphabet: letters of different ones (such as Latin "
            "and Cyrillic) can look the same and pass for someone else's name."
        ),
        "at_sign": _("A username cannot contain @: you sign in with your address anyway."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.VERIFICATION_SIGNUP_USERNAME:  # the address alone
            del self.fields["username"]
            self.fields["email"].widget.attrs["autofocus"] = True

    def clean_username(self):
        username = self.cleaned_data["username"]
        if scripts.mixes_scripts(username):
            raise ValidationError(self.error_messages["mixed_scripts"], code="mixed_scripts")
        # Sign-in takes what has "@" in it for an address only (accounts/backends.py): a
        # username that is someone's address would sign in exactly when that address has no
        # account, telling its owner's secret to whoever chose it.
        if "@" in username:
            raise ValidationError(self.error_messages["at_sign"], code="at_sign")
        return username

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and services.username_is_taken(username):
            self.username_taken()
        self.validate_passwords()
        candidate = User(
            username=self.cleaned_data.get("username", ""),
            email=self.cleaned_data.get("email", ""),
        )
        validate_new_password(self, candidate)
        self.ask_about_a_bounced_address()
        return self.cleaned_data

    def username_taken(self):
        self.add_error(
            "username",
            ValidationError(self.error_messages["username_taken"], code="username_taken"),
        )


def too_many_tries(message, seconds):
    """The refusal of a rate limit, saying how long to wait."""
    return ValidationError(message, code="rate_limited", params={"seconds": seconds})


class ThrottledSignIn:
    """Slows down password guessing on a Django sign-in form: wrong passwords count per
    client IP (never per account, so nobody can lock an account's owner out); every sign-in
    counts, generously, per client IP; and right ones per account (new sessions)."""

    too_many_wrong_passwords = _(
        "Too many wrong passwords from your network. Try again in %(seconds)s seconds."
    )
    too_many_sign_ins = _("Too many sign-ins from your network. Try again in %(seconds)s seconds.")
    too_many_sessions = _(
        "Too many sign-ins to this account in the last hour. Try again in %(seconds)s seconds. "
        "If they were not yours, set a new password with a code (Forgot your password?)."
    )

    def clean(self):
        ip = self.request.client_ip if self.request else ""
        wait = ratelimit.hit(Scope.SIGNIN_FROM_CLIENT, ip)
        if wait:
            raise too_many_tries(self.too_many_sign_ins, wait)
        # Counted as wrong before the password is checked, and taken back unless it was, so
        # that parallel guesses cannot all pass a check made before any of them was counted.
        wait = ratelimit.hit(Scope.FAILED_SIGNIN_FROM_CLIENT, ip)
        if wait:
            raise too_many_tries(self.too_many_wrong_passwords, wait)
        try:
            cleaned_data = super().clean()
        except ValidationError as refused:
            if refused.code != "invalid_login":
                ratelimit.refund(Scope.FAILED_SIGNIN_FROM_CLIENT, ip)
            raise
        ratelimit.refund(Scope.FAILED_SIGNIN_FROM_CLIENT, ip)
        return cleaned_data

    def confirm_login_allowed(self, user):
        # An account awaiting activation is answered like a wrong password: see LoginForm.
        if user.awaits_activation:
            raise self.get_invalid_login_error()
        super().confirm_login_allowed(user)
        wait = services.spend_session_allowance(user=user)
        if wait:
            raise too_many_tries(self.too_many_sessions, wait)


class AdminLoginForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in form, throttled like the site's (accounts/admin.py installs it)."""


class LoginForm(ThrottledSignIn, AuthenticationForm):
    """Django's sign-in form. An account waiting for activation is answered like a wrong
    password, and that answer says what to do about an account not activated yet: anyone can
    sign up with someone's address and a username of their own, and an answer of its own for
    that username would tell them whether the address already had a proven account (then
    their sign-up made nothing)."""

    # A username or the account's address (accounts.backends.ActiveSessionBackend).
    username = UsernameField(
        label=_("Username or email"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "That username and password do not match an active account. If you signed up and "
            "have not opened the activation link we mailed you yet, open it first, or ask for a "
            "new one below."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.VERIFICATION_SIGNUP_USERNAME:  # nobody has a username to type
            self.fields["username"].label = _("Email")
        # Room for an address, which may be longer than a username (Django sets the
        # username's 150).
        self.fields["username"].max_length = addresses.MAX_LENGTH
        self.fields["username"].widget.attrs["maxlength"] = addresses.MAX_LENGTH

    @property
    def refused(self):
        return self.has_error(NON_FIELD_ERRORS, "invalid_login")


class ActivationForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        help_text=_("The password you chose when you signed up."),
    )

    error_messages = {
        "wrong_password": _(
            "That is not the password this sign-up was made with. If you did not sign up, "
            "someone else used your address: ignore this link, or set your own password with "
            "a code (Forgot your password?)."
        ),
        "rate_limited": ThrottledSignIn.too_many_wrong_passwords,
    }

    def refuse(self, refused):
        """Show why the service refused (WrongPassword or TooManyTries)."""
        if isinstance(refused, TooManyTries):
            error = too_many_tries(self.error_messages["rate_limited"], refused.seconds)
        else:
            error = ValidationError(self.error_messages["wrong_password"], code="wrong_password")
        self.add_error("password", error)


class EmailForm(forms.Form):
    """Asks for an address: for a new activation link or a password reset code."""

    email = EmailAddressField(autofocus=True)


class CodeField(forms.CharField):
    """A numeric code as people type or paste it: "123 456", "123-456" or full-width digits."""

    default_error_messages = {
        "invalid": _("Enter the %(length)s-digit code from the email."),
    }

    def __init__(self, **kwargs):
        self.length = settings.VERIFICATION_CODE_LENGTH
        # The field people come to the page for (CodePage moves the focus to the address
        # when the page has none to fill in).
        attrs = {"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        super().__init__(max_length=32, widget=forms.TextInput(attrs=attrs), **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        # NFKC turns full-width digits into ASCII; other scripts' digits stay and are refused.
        return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value))

    def validate(self, value):
        super().validate(value)
        if value and not re.fullmatch(rf"[0-9]{{{self.length}}}", value, flags=re.ASCII):
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"length": self.length}
            )


class CodeRefusals:
    """How a form shows the service's refusal of a code (TooManyTries or InvalidCode)."""

    code_error_messages = {
        "wrong_code": _("That code is wrong."),
        "dead_code": _("This code is wrong, used, expired or has had too many tries. Ask for a new one."),
        # To a browser that did not ask for the code: see services.guess_code_at_address.
        "code_refused": _(
            "That code is not right, or it is no longer valid. Check the address and the code, "
            "or ask for a new one."
        ),
        "rate_limited": _("Too many tries. Try again in %(seconds)s seconds."),
        "codes_closed": _(
            "Too many wrong codes were tried for this address. Sign in with your password, or "
            "from a browser you have signed in with before."
        ),
    }

    def refuse_code(self, refused):
        if isinstance(refused, CodesClosed):
            error = ValidationError(self.code_error_messages["codes_closed"], code="codes_closed")
        elif isinstance(refused, TooManyTries):
            error = too_many_tries(self.code_error_messages["rate_limited"], refused.seconds)
        elif refused.reason == "refused":
            error = ValidationError(self.code_error_messages["code_refused"], code="code_refused")
        elif refused.attempts_left is None:
            error = ValidationError(self.code_error_messages["dead_code"], code="dead_code")
        else:
            n = refused.attempts_left
            tries = ngettext("%(n)s try left.", "%(n)s tries left.", n) % {"n": n}
            # Two sentences, joined as the language joins them (no space after a Chinese 。).
            message = pgettext("two sentences", "%(first)s %(second)s") % {
                "first": self.code_error_messages["wrong_code"],
                "second": tries,
            }
            error = ValidationError(message, code="wrong_code")
        self.add_error("code", error)


class PasswordResetConfirmForm(CodeRefusals, SetPasswordMixin, forms.Form):
    email = EmailAddressField()
    code = CodeField(label=_("Code"))
    password1, password2 = password_fields()

    def clean(self):
        # Passwords are checked here, before the view spends one of the code's tries on a
        # form with a typo in them. Compared with the typed address, not the account: an
        # error that depended on the account (say, "too similar to your username") would
        # tell that it exists.
        self.validate_passwords()
        validate_new_password(self, User(email=self.cleaned_data.get("email", "")))
        return self.cleaned_data


class SignInCodeForm(CodeRefusals, forms.Form):
    """The address and the code: all a device needs to sign in, whichever device asked."""

    email = EmailAddressField()
    code = CodeField(label=_("Code"))
