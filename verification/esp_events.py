"""Delivery events from an ESP (Amazon SES, Mailgun, Postmark, …) through django-anymail's
tracking signal: its bounces and rejections feed the same states as bounces read over IMAP
(verification/bounces.py), a complaint suppresses the address. Anymail authenticates each
webhook (the ESP's signature, or WEBHOOK_SECRET) before the signal fires (SECURITY.md 27);
even then an event counts only when it names an attempt of ours."""

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver

from verification import bounces, suppression
from verification.models import MessageAttempt

PERMANENT = {EventType.BOUNCED, EventType.REJECTED}


@receiver(tracking, dispatch_uid="verification.record_esp_event")
def record_esp_event(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    # The Message-ID we sent comes back in the metadata (verification/attempts.py); some ESPs
    # also report it as the event's message_id.
    named = [(event.metadata or {}).get("message_id"), event.message_id]
    attempt = MessageAttempt.objects.filter(message_id__in=[n for n in named if n]).first()
    if attempt is None:
        return
    reason = event.mta_response or event.description or f"{esp_name}: {event.event_type}"
    if event.event_type == EventType.COMPLAINED:
        suppression.suppress_address(
            address=attempt.recipient, source=suppression.Source.COMPLAINT, reason=reason
        )
    elif event.event_type in PERMANENT or event.event_type == EventType.DEFERRED:
        bounces.record_bounce_of(attempt, permanent=event.event_type in PERMANENT, reason=reason)
