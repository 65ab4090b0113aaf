"""What the pages that take a mailed code share: the address the code was asked for (from its
cookie) and a "send the code again" button that counts down the address's cooldown."""

from accounts import services


class CodePage:
    address_cookie = None  # an AddressCookie
    purpose = None  # the Purpose of the code, whose cooldown the button waits out

    def get_initial(self):
        return {"email": self.address_cookie.recall(self.request)}

    def get_context_data(self, **kwargs):
        email = self.address_cookie.recall(self.request)
        wait = services.seconds_until_next_mail(email=email, purpose=self.purpose) if email else 0
        return super().get_context_data(resend_email=email, resend_wait=wait, **kwargs)
