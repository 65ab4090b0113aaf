"""The outbox: a request records the mail it owes, and wakes a worker to deliver it.

The record, not Django-Q2, owns delivery (verification/delivery.py is what a worker does).
A job carries no arguments at all (Django-Q2 pickles arguments into its tables): it *drains*
the outbox.

- A request only wakes a worker: it queues a job unless one is queued and not yet taken,
  since that one will start after this commit and find this mail. One job per mail would
  cost the ORM broker two writes a mail on top of ours; this way a burst of mail costs a
  few jobs. A retry wakes a worker no earlier than the record's `next_attempt_at`.
- The periodic sweep wakes a worker whenever claimable mail is waiting, so a lost job or a
  worker killed mid-batch delays mail by a minute at most (plus the lease, for the latter).
- Staff retry or cancel mail (the admin's actions) and follow its flow (`delivery_stats`).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import translation
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Failure
from django_q.tasks import async_task

from verification import clock, ratelimit, registry
from verification.models import FailedGuesses, MessageAttempt, OneTimeSecret, OutboundEmail, RateLimitBucket
from verification.retention import delete_in_batches

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status


def queue_email(
    *, user: AbstractBaseUser | None, kind: str, to_address: str = "", secret: OneTimeSecret | None = None
) -> OutboundEmail:
    """Record a mail of the registered `kind` for `user` (None: nobody, see
    OutboundEmail.user), to `to_address` when it is not the user's address, carrying the code
    of `secret` if one, and wake a worker once the transaction commits. The kind says how soon
    it goes (its priority); LookupError for a kind nobody registered."""
    email = OutboundEmail.objects.create(
        user_id=user.pk if user else None,
        kind=kind,
        priority=registry.mail_kind(kind).priority,
        to_address=to_address,
        language=translation.get_language() or "",
        secret=secret,
    )
    transaction.on_commit(wake_a_worker)
    return email


class _DelayedOrmBroker(ORM):
    """The ORM broker hands out only rows whose `lock` time has passed (that is how it
    re-delivers unacknowledged jobs); writing a future time there delays a job."""

    def __init__(self, not_before):
        super().__init__(list_key=Conf.CLUSTER_NAME)
        self.not_before = not_before

    def enqueue(self, task):
        return self.get_connection().create(key=self.list_key, payload=task, lock=self.not_before).pk


def wake_a_worker(*, not_before: datetime | None = None) -> None:
    """Make sure a job drains the outbox after this moment, or not before `not_before`."""
    if not_before is not None:
        broker = _DelayedOrmBroker(not_before)
    else:
        broker = get_broker()
        # A job that no worker has taken yet (taking one moves its `lock` into the future, out
        # of `queue_size`) starts after now, so it will find this mail too.
        if not Conf.SYNC and broker.queue_size():
            return
    async_task("verification.tasks.deliver_due_mail", task_name="deliver-due-mail", broker=broker)


# --- Operators (the admin's actions) -----------------------------------------------------


def retry_now(queryset: QuerySet[OutboundEmail]) -> int:
    """Send failed, cancelled or waiting mails again now, with a fresh allowance of attempts."""
    finished = [Status.SENT, Status.SENDING, Status.NO_RECIPIENT]
    ids = list(queryset.exclude(status__in=finished).values_list("pk", flat=True))
    OutboundEmail.objects.filter(pk__in=ids).update(
        status=Status.RETRYING, attempts=0, next_attempt_at=clock.now()
    )
    transaction.on_commit(wake_a_worker)
    return len(ids)


def cancel(queryset: QuerySet[OutboundEmail]) -> int:
    """Stop mails that have not gone out yet, and mails whose worker stopped while sending them
    (their lease ran out); their codes and links are never issued."""
    return queryset.filter(Q(status__in=OutboundEmail.NOT_STARTED) | OutboundEmail.abandoned()).update(
        status=Status.CANCELLED, next_attempt_at=None, lease_expires_at=None
    )


def delivery_stats() -> dict[str, float]:
    """How mail is flowing, for staff: mails sent per second over the last minute, how many
    wait, the age of the oldest, and what became of mail over the last hour and day."""
    now = clock.now()
    sent = OutboundEmail.objects.filter(sent_at__gt=now - timedelta(minutes=1)).count()
    waiting = OutboundEmail.objects.filter(status__in=OutboundEmail.WAITING).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    oldest = waiting["oldest"]
    return {
        "sent_per_second_last_minute": round(sent / 60, 2),
        "waiting": waiting["count"],
        "oldest_waiting_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "last_hour": _outcomes(since=now - timedelta(hours=1)),
        "last_day": _outcomes(since=now - timedelta(days=1)),
    }


def _outcomes(*, since: datetime) -> dict[str, int]:
    """Mails sent, failed, bounced and held by the suppression list since `since`: a provider
    that blocks us (163's `421 HL:REP`) starts with bounces nobody counted."""
    counts = OutboundEmail.objects.filter(created_at__gt=since - timedelta(days=1)).aggregate(
        sent=Count("pk", filter=Q(sent_at__gt=since)),
        failed=Count("pk", filter=Q(status=Status.FAILED, created_at__gt=since)),
        suppressed=Count("pk", filter=Q(status=Status.SUPPRESSED, created_at__gt=since)),
    )
    return {**counts, "bounced": MessageAttempt.objects.filter(bounced_at__gt=since).count()}


# --- The periodic sweep ---------------------------------------------------------------------


def sweep_outbox() -> dict[str, object]:
    """Wake a worker for mail left waiting, and delete what is past its retention."""
    now = clock.now()
    waiting = OutboundEmail.claimable().exists()
    if waiting:  # a lost job, a worker killed mid-batch: nothing else would come for it
        wake_a_worker()
    # A mail whose worker stopped while sending it on its last attempt (killed by the job
    # timeout behind a provider slower than that, or by the machine) is not tried again:
    # each try may cost a worker, and the provider may have taken it already.
    OutboundEmail.objects.filter(OutboundEmail.abandoned(last_attempt=True)).update(
        status=Status.FAILED,
        lease_expires_at=None,
        last_error="The worker stopped while sending it, on its last attempt.",
    )
    kept_since = now - timedelta(days=settings.VERIFICATION_RETENTION_DAYS)
    purged = {
        "emails": OutboundEmail.objects.filter(status__in=OutboundEmail.DONE, created_at__lt=kept_since),
        "secrets": OneTimeSecret.objects.filter(expires_at__lt=kept_since),
        # Wrong codes at an address, a month after the last one, count no more.
        "failed guesses": FailedGuesses.objects.filter(last_at__lt=kept_since),
        "rate limits": RateLimitBucket.objects.filter(updated_at__lt=now - ratelimit.longest_window()),
        "failed jobs": Failure.objects.filter(stopped__lt=kept_since),
    }
    counts = {name: delete_in_batches(rows) for name, rows in purged.items()}
    logger.info("Outbox sweep: mail waiting: %s; deleted %s", waiting, counts)
    return {"mail_waiting": waiting, **counts}
