"""What the pages around a mailed code share: the page that asks for one (and remembers the
address in its cookie), and the page that takes it (the address from that cookie, and a "send
the code again" button that counts down this browser's own cooldown)."""

from django.views.generic import FormView

from accounts import known_browser, services
from accounts.forms import EmailForm


class CodeRequest(FormView):
    form_class = EmailForm
    address_cookie = None  # an AddressCookie
    ask = None  # staticmethod(the service that mails the code: ask(email=..., client_ip=...))

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        code_id = self.ask(
            email=email,
            client_ip=self.request.client_ip,
            signed_in_proof=known_browser.proof_in(self.request),
        )
        response = super().form_valid(form)
        self.address_cookie.remember(response, email, code_id)
        return response


class CodePage:
    address_cookie = None  # an AddressCookie
    purpose = None  # the Purpose of the code

    def get_initial(self):
        return {"email": self.address_cookie.recall(self.request)[0]}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if not form["email"].value():  # another device, or the cookie is gone: the address first
            del form.fields["code"].widget.attrs["autofocus"]
            form.fields["email"].widget.attrs["autofocus"] = True
        return form

    def browser(self):
        """What this browser proves of itself to the code's service."""
        return services.Browser(
            asked_for=self.address_cookie.recall(self.request)[1],
            signed_in_proof=known_browser.proof_in(self.request),
        )

    def get_context_data(self, **kwargs):
        email, _code_id, asked_at = self.address_cookie.recall(self.request)
        wait = services.resend_wait(asked_at=asked_at) if email else 0
        return super().get_context_data(resend_email=email, resend_wait=wait, **kwargs)
