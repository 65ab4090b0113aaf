"""Forms of the signed-in person's account page: change the address, change the password."""

from django import forms
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.delivery_notice import AsksAboutABouncedAddress
from accounts.forms import (
    PASSWORD_MAX_LENGTH,
    CodeField,
    CodeRefusals,
    EmailAddressField,
    ThrottledSignIn,
    password_fields,
    too_many_tries,
    validate_new_password,
)


class CurrentPassword(forms.Form):
    """Asks again for the password of the signed-in person before a change that matters
    (a session left open is not enough). Wrong ones count against the client like wrong
    passwords at sign-in."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request, self.user = request, request.user

    def clean_current_password(self):
        password = self.cleaned_data["current_password"]
        try:
            services.verify_password_counting_failures(
                user=self.user, password=password, client_ip=self.request.client_ip
            )
        except services.TooManyTries as refused:
            raise too_many_tries(ThrottledSignIn.too_many_wrong_passwords, refused.seconds) from None
        except services.WrongPassword:
            raise ValidationError(_("That is not your current password."), code="wrong_password") from None
        return password


class EmailChangeForm(CurrentPassword, AsksAboutABouncedAddress):
    new_email = EmailAddressField(autofocus=True)
    field_order = ["new_email", "current_password"]
    address_field = "new_email"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_email"].label = _("New email address")

    def refuse_mail(self, refused):
        message = _("We cannot mail this address again yet. Try again in %(seconds)s seconds.")
        self.add_error("new_email", too_many_tries(message, refused.seconds))

    def clean_new_email(self):
        new_email = self.cleaned_data["new_email"]
        if new_email == self.user.email:
            raise ValidationError(_("This is already your address."), code="same_address")
        return new_email

    def clean(self):
        self.ask_about_a_bounced_address()
        return super().clean()


class EmailChangeCodeForm(CodeRefusals, forms.Form):
    code = CodeField(label=_("Code"))


class PasswordChangeForm(SetPasswordMixin, CurrentPassword):
    password1, password2 = password_fields()

    def clean(self):
        self.validate_passwords()
        validate_new_password(self, self.user)
        # A "change" to the same password would spend the account's few changes an hour and
        # change nothing: a thief spent them so, and the owner could change nothing.
        new = self.cleaned_data.get("password1")
        if new and self.cleaned_data.get("current_password") == new:
            self.add_error(
                "password1", ValidationError(_("That is your password already."), code="same_password")
            )
        return self.cleaned_data

    def refuse_change(self, refused):
        message = _("This account's password was changed too often lately. Try again in %(seconds)s seconds.")
        self.add_error(None, too_many_tries(message, refused.seconds))


class UndoEmailChangeForm(SetPasswordMixin, forms.Form):
    """The undo page: a new password, since whoever changed the address may know the old one."""

    password1, password2 = password_fields()

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        self.validate_passwords()
        validate_new_password(self, self.user)
        return self.cleaned_data
