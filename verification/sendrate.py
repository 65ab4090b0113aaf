"""A cap on messages per second to the mail provider, shared by every worker of every cluster.

Free-mail providers suspend senders that go faster than they allow. The allowance is a token
bucket in one database row, locked by the transaction that claims mail, so all workers draw
from the same bucket and a mail is claimed only when the bucket allows it; mail over the cap
waits in the outbox. The bucket holds at most one message (a tenth of a second's worth at
caps above 10/s), so no second sees more than the cap plus that.
"""

from django.conf import settings

from verification.models import SendAllowance


def capacity(rate):
    return max(1.0, rate / 10)


def open_allowance(now):
    """Lock the shared bucket for the current transaction and refill it up to `now`; None
    when there is no cap."""
    rate = settings.VERIFICATION_MAIL_RATE
    if not rate:
        return None
    bucket = SendAllowance.objects.select_for_update().filter(pk=1).first()
    if bucket is None:  # the first claim ever, or two at once: one row wins
        SendAllowance.objects.bulk_create(
            [SendAllowance(pk=1, tokens=capacity(rate), refilled_at=now)], ignore_conflicts=True
        )
        bucket = SendAllowance.objects.select_for_update().get(pk=1)
    if bucket.refilled_at > now:
        # Written by a clock ahead of this one (another machine's, or this one's before it was
        # set back): refill from now on, or the bucket would stay empty until that time.
        bucket.refilled_at = now
        bucket.save(update_fields=["refilled_at"])
    elapsed = (now - bucket.refilled_at).total_seconds()
    bucket.tokens = min(capacity(rate), bucket.tokens + elapsed * rate)
    bucket.refilled_at = now
    return bucket


def allowed(bucket, wanted):
    """How many of `wanted` sends the bucket allows now."""
    return wanted if bucket is None else min(wanted, int(bucket.tokens))


def spend(bucket, count):
    """Take `count` sends from the bucket and write it back (in the claim's transaction)."""
    if bucket is not None and count:
        bucket.tokens -= count
        bucket.save(update_fields=["tokens", "refilled_at"])


def seconds_until_next(bucket):
    """How long until the bucket allows one more send; 0 without a cap."""
    if bucket is None or bucket.tokens >= 1:
        return 0.0
    return (1 - bucket.tokens) / settings.VERIFICATION_MAIL_RATE
