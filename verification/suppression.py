"""The suppression list: addresses no mail goes to, because mail to them bounced for good or
their owner complained. Providers such as 163 block a sender that keeps mailing addresses that
do not exist (`421 HL:REP`), so a typo must not be mailed again on every "send again".

The worker closes mail to a suppressed address as `suppressed` (verification/delivery.py): the
request that asked for it did the same work as for any address. Addresses here are canonical,
as the site stores them; an app canonicalises a typed one before it asks."""

from django.db import transaction

from verification import clock
from verification.models import MessageAttempt, Suppression

Source = Suppression.Source


def is_suppressed(address: str) -> bool:
    # The worker asks the same in its claim (delivery._lock_due), for a whole batch at once.
    return Suppression.objects.filter(address=address, lifted=False).exists()


@transaction.atomic
def suppress_address(*, address: str, source: str, reason: str) -> None:
    """Stop mail to `address` (again, if it was lifted), keeping whether its owner has had
    their one retry."""
    Suppression.objects.update_or_create(
        address=address,
        defaults={"source": source, "reason": reason[:2000], "created_at": clock.now(), "lifted": False},
    )


def _retry_left(address):
    # A complaint is for staff only: it says a real mailbox got our mail.
    return Suppression.objects.filter(address=address, lifted=False, source=Source.BOUNCE, retried_at=None)


def retry_offered(address: str) -> Suppression | None:
    """The hard bounce a person typing `address` is told of and may confirm past, once (a
    mailbox broken for a day is not lost for ever)."""
    return _retry_left(address).first()


def retry_address(*, address: str) -> bool:
    """Lift a hard bounce for its one retry, which the person who typed it confirmed; False
    when there is none to lift."""
    return bool(_retry_left(address).update(lifted=True, retried_at=clock.now()))


def lift_suppressions(queryset) -> int:
    """Staff lift: mail goes to these addresses again."""
    return queryset.filter(lifted=False).update(lifted=True)


def undelivered_reason(*, address: str, since, kinds: list[str]) -> str | None:
    """Why mail of `kinds` to `address` since `since` did not arrive (None: nothing known): a
    bounce of it, or a hard bounce before, which keeps mail from going. A complaint says
    nothing here. Only the kinds the asking page caused: a bounce of other mail there (a code
    only an account gets) would tell whoever asked something about the address."""
    bounced = (
        MessageAttempt.objects.filter(recipient=address, created_at__gte=since, email__kind__in=kinds)
        .exclude(bounced_at=None)
        .order_by("-bounced_at")
        .first()
    )
    if bounced:
        return bounced.bounce_reason
    held = Suppression.objects.filter(address=address, lifted=False, source=Source.BOUNCE).first()
    return held.reason if held else None
