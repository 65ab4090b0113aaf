"""What every delivery attempt carries besides the app's words: a Message-ID of its own,
recorded with the address it goes to (so a bounce can name the attempt), and the headers of
an automatic mail."""

from django.conf import settings
from django.core.mail import EmailMessage

from verification.models import MessageAttempt, OutboundEmail, new_message_id


def open_attempts(emails: list[OutboundEmail]) -> None:
    """Give each claimed mail a fresh Message-ID, recorded with the address it goes to (one
    statement for the batch, one more on the mails' rows, where staff see the last): each
    attempt carries a new code, and a receiver that drops copies by Message-ID must not keep
    the one with the dead code."""
    for email in emails:
        email.message_id = new_message_id()
    MessageAttempt.objects.bulk_create(
        MessageAttempt(email=e, message_id=e.message_id, recipient=e.recipient) for e in emails
    )
    OutboundEmail.objects.bulk_update(emails, ["message_id"])


def stamp_attempt(*, email: OutboundEmail, message: EmailMessage) -> None:
    """Put on the message what every attempt carries: its Message-ID and the headers of an
    automatic mail."""
    message_id = email.message_id
    message.extra_headers["Message-ID"] = message_id
    # django-anymail hands metadata to the ESP, which returns it with each tracking event
    # (verification/esp_events.py); other backends ignore it.
    message.metadata = {"message_id": message_id}  # type: ignore[attr-defined]
    # RFC 3834: no auto-responder answers it, and receivers know no person typed it.
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    if settings.VERIFICATION_REPLY_TO:
        message.reply_to = [settings.VERIFICATION_REPLY_TO]
