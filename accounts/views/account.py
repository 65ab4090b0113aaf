"""The signed-in person's account: what it holds, a change of address (proven by a code to
the new address, undone from the old one), a change of password."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import delivery_notice, email_change, known_browser, services
from accounts.account_forms import (
    EmailChangeCodeForm,
    EmailChangeForm,
    PasswordChangeForm,
    UndoEmailChangeForm,
)
from accounts.addresses import shown_email
from accounts.mail import mask_address
from accounts.time_zone import TimeZoneForm, set_time_zone, time_zone_of
from verification.tokens import InvalidCode, InvalidLink

ACCOUNT = reverse_lazy("accounts:account")


@method_decorator(never_cache, name="dispatch")
class AccountView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/account.html"

    def get_context_data(self, **kwargs):
        pending = self.request.user.email_changes.pending().first()
        zone = time_zone_of(self.request.user, page_language=self.request.LANGUAGE_CODE)
        return super().get_context_data(pending_change=pending, time_zone=zone, **kwargs)


class SignedInForm(LoginRequiredMixin, FormView):
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("current_password"), name="dispatch")
class EmailChangeView(SignedInForm):
    template_name = "accounts/email_change.html"
    form_class = EmailChangeForm
    success_url = reverse_lazy("accounts:email_change_code")

    def form_valid(self, form):
        try:
            email_change.request_email_change(
                user=self.request.user,
                new_email=form.cleaned_data["new_email"],
                client_ip=self.request.client_ip,
                retry_bounced=form.wants_retry,
            )
        except services.TooManyTries as refused:
            form.refuse_mail(refused)
            return self.form_invalid(form)
        return super().form_valid(form)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class EmailChangeCodeView(LoginRequiredMixin, FormView):
    template_name = "accounts/email_change_code.html"
    form_class = EmailChangeCodeForm
    success_url = ACCOUNT

    def get_context_data(self, **kwargs):
        pending = self.request.user.email_changes.pending().first()
        # This person's own cooldown, from when they asked: the new address's would tell them
        # how much mail it got lately from anyone (found by an attacker helper).
        wait = pending and services.resend_wait(asked_at=pending.requested_at.timestamp())
        # The typed address is mailed whatever its account state: saying it bounced tells
        # nothing about accounts (accounts/delivery_notice.py).
        undelivered = pending and delivery_notice.undelivered_notice(
            address=pending.new_email, since=pending.requested_at, kinds=delivery_notice.EMAIL_CHANGE_MAIL
        )
        return super().get_context_data(
            pending_change=pending, resend_wait=wait, undelivered=undelivered, **kwargs
        )

    def form_valid(self, form):
        user = self.request.user
        try:
            email_change.confirm_email_change(
                user=user, code=form.cleaned_data["code"], client_ip=self.request.client_ip
            )
        except (services.TooManyTries, InvalidCode) as refused:
            form.refuse_code(refused)
            return self.form_invalid(form)
        except email_change.AddressTaken:
            form.add_error(None, _("That address now belongs to another account."))
            return self.form_invalid(form)
        known_browser.stay_signed_in(self.request, user)  # this session stays; the others end
        messages.success(
            self.request, _("Your address is now %(address)s.") % {"address": shown_email(user.email)}
        )
        return super().form_valid(form)


class EmailChangeResendView(LoginRequiredMixin, View):
    def post(self, request):
        email_change.resend_email_change_code(user=request.user, client_ip=request.client_ip)
        return redirect("accounts:email_change_code")


class EmailChangeCancelView(LoginRequiredMixin, View):
    def post(self, request):
        email_change.cancel_email_change(user=request.user)
        messages.info(request, _("The change of address is cancelled."))
        return redirect(ACCOUNT)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("token", "password1", "password2"), name="dispatch")
class EmailChangeUndoView(TemplateView):
    """From the notice mailed to the old address. The link carries its token in the fragment,
    which no server, log or proxy sees; the page's script puts it in the form. GET shows the
    form and changes nothing (mail scanners open links); POST puts the old address back with
    the new password typed here, and signs this browser in: the link proves the mailbox, as
    a mailed code would. A token in the path (links mailed before) fills the same form."""

    template_name = "accounts/email_change_undo.html"

    def get(self, request, token=""):
        if not token:
            return self.render_to_response({"form": UndoEmailChangeForm()})
        return self._answer(token, form=None)

    def post(self, request, token=""):
        return self._answer(request.POST.get("token") or token, form=request.POST)

    def _answer(self, token, *, form):
        try:
            owner = email_change.read_undo_link(token)
        except InvalidLink as refused:
            return self.render_to_response({"refused": refused.reason}, status=400)
        form = UndoEmailChangeForm(form, user=owner)
        if not form.is_bound or not form.is_valid():
            context = {"address": mask_address(owner.email), "form": form, "token": token}
            return self.render_to_response(context)
        try:
            user = email_change.undo_email_change(token=token, password=form.cleaned_data["password1"])
        except InvalidLink as refused:
            return self.render_to_response({"refused": refused.reason}, status=400)
        except email_change.AddressTaken:
            return self.render_to_response({"refused": "taken"}, status=409)
        login(self.request, user)
        messages.success(
            self.request,
            _(
                "Your address is back, with your new password, and everyone else is signed out of "
                "your account."
            ),
        )
        return redirect(ACCOUNT)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        response["Referrer-Policy"] = "strict-origin"  # a token in the path (see ActivateView)
        return response


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("current_password", "password1", "password2"), name="dispatch")
class PasswordChangeView(SignedInForm):
    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = ACCOUNT

    def form_valid(self, form):
        user = self.request.user
        try:
            services.set_new_password(user=user, password=form.cleaned_data["password1"])
        except services.TooManyTries as refused:
            form.refuse_change(refused)
            return self.form_invalid(form)
        except services.AccountChanged:
            form.add_error(None, _("Your account changed while this page was open. Sign in again."))
            return self.form_invalid(form)
        known_browser.stay_signed_in(self.request, user)  # this session stays; the others end
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)


class TimeZoneView(LoginRequiredMixin, FormView):
    template_name = "accounts/time_zone.html"
    form_class = TimeZoneForm
    success_url = ACCOUNT

    def get_initial(self):
        return {"time_zone": time_zone_of(self.request.user, page_language=self.request.LANGUAGE_CODE)}

    def form_valid(self, form):
        set_time_zone(user=self.request.user, time_zone=form.cleaned_data["time_zone"])
        return super().form_valid(form)
