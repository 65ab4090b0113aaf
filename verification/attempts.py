"""What every delivery attempt carries besides the app's words: a Message-ID of its own,
recorded with the address it goes to (so a bounce can name the attempt), and the headers of
an automatic mail."""

from django.conf import settings
from django.core.mail import EmailMessage

from verification.models import MessageAttempt, OutboundEmail, new_message_id


def stamp_attempt(*, email: OutboundEmail, message: EmailMessage) -> None:
    """Give this attempt a fresh Message-ID and record it: each attempt carries a new code, and
    a receiver that drops copies by Message-ID must not keep the one with the dead code. The
    mail's own row takes it with the outcome of the send (delivery._mark)."""
    message_id = new_message_id()
    MessageAttempt.objects.create(email=email, message_id=message_id, recipient=message.to[0])
    email.message_id = message_id
    message.extra_headers["Message-ID"] = message_id
    # django-anymail hands metadata to the ESP, which returns it with each tracking event
    # (verification/esp_events.py); other backends ignore it.
    message.metadata = {"message_id": message_id}  # type: ignore[attr-defined]
    # RFC 3834: no auto-responder answers it, and receivers know no person typed it.
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    if settings.VERIFICATION_REPLY_TO:
        message.reply_to = [settings.VERIFICATION_REPLY_TO]
