"""The outbox: a request records the mail it owes; Django-Q2 jobs deliver it.

A job receives an OutboundEmail id and nothing else (Django-Q2 pickles arguments into its
tables). The record, not Django-Q2, owns delivery:

- a job *claims* its record with one conditional UPDATE, so a job run twice, or taken by two
  clusters, sends once;
- a failure is classified: an SMTP 5xx fails the record for good, anything else is retried
  with exponential backoff and jitter, up to VERIFICATION_MAIL_MAX_ATTEMPTS;
- a retry is a new job that the ORM broker hands out no earlier than the record's
  `next_attempt_at`; a periodic sweep re-queues records whose job was lost.

A mail sent again carries a freshly issued code or link, which revokes the one before.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import translation
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Failure
from django_q.tasks import async_task

from verification import clock, messages, ratelimit, smtp
from verification.models import OneTimeSecret, OutboundEmail, RateLimitBucket

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status
DONE = [Status.SENT, Status.FAILED, Status.CANCELLED]

# A job owns a claimed record this long. Longer than a job may run (Django-Q2 stops it after
# Q_CLUSTER["timeout"]), shorter than the broker's redelivery of a lost job (["retry"]).
LEASE = timedelta(seconds=settings.Q_CLUSTER["timeout"] * 1.5)


def queue_email(*, user, kind):
    """Record a mail for `user` and hand its id to the workers once the transaction commits."""
    email = OutboundEmail.objects.create(user=user, kind=kind, language=translation.get_language() or "")
    transaction.on_commit(lambda: enqueue(email.pk))
    return email


class _DelayedOrmBroker(ORM):
    """The ORM broker hands out only rows whose `lock` time has passed (that is how it
    re-delivers unacknowledged tasks); writing a future time there delays a task."""

    def __init__(self, not_before):
        super().__init__(list_key=Conf.CLUSTER_NAME)
        self.not_before = not_before

    def enqueue(self, task):
        return self.get_connection().create(key=self.list_key, payload=task, lock=self.not_before).pk


def enqueue(email_id, *, not_before=None):
    """Queue the job that delivers `email_id`, to run now or not before `not_before`."""
    options = {"task_name": f"mail-{email_id}"}
    if not_before is not None and not Conf.SYNC:
        options["broker"] = _DelayedOrmBroker(not_before)
    async_task("verification.tasks.deliver_email", email_id, **options)


def deliver_email(email_id):
    """Send one recorded mail unless it is sent, taken or not yet due. Never raises: what
    happens next is decided here and written on the record."""
    email = _claim(email_id)
    if email is None:
        logger.info("Mail %s is not due, or is sent or being sent elsewhere; skipped.", email_id)
        return
    try:
        smtp.send(messages.compose(email))
    except Exception as error:
        _record_failure(email, error)
        return
    OutboundEmail.objects.filter(pk=email.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=clock.now(), lease_expires_at=None, next_attempt_at=None
    )


def _claim(email_id):
    now = clock.now()
    claimed = OutboundEmail.claimable().filter(pk=email_id).update(
        status=Status.SENDING, lease_expires_at=now + LEASE, attempts=F("attempts") + 1
    )
    return OutboundEmail.objects.select_related("user").get(pk=email_id) if claimed else None


def backoff(attempt):
    """Seconds before retry number `attempt`: doubling from the base delay, capped, with full
    jitter in its upper half so that mails failed together do not come back together."""
    ceiling = min(
        settings.VERIFICATION_MAIL_RETRY_DELAY * 2 ** (attempt - 1),
        settings.VERIFICATION_MAIL_RETRY_MAX_DELAY,
    )
    return random.uniform(ceiling / 2, ceiling)  # not a secret: `random` is fine here


def _record_failure(email, error):
    give_up = smtp.is_permanent(error) or email.attempts >= settings.VERIFICATION_MAIL_MAX_ATTEMPTS
    retry_at = None if give_up else clock.now() + timedelta(seconds=backoff(email.attempts))
    OutboundEmail.objects.filter(pk=email.pk, status=Status.SENDING).update(
        status=Status.FAILED if give_up else Status.RETRYING,
        next_attempt_at=retry_at,
        lease_expires_at=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning(
        "Mail %s attempt %s failed (%s): %s", email.pk, email.attempts,
        "giving up" if give_up else f"retry at {retry_at:%H:%M:%S}", type(error).__name__,
    )
    if retry_at is not None:
        enqueue(email.pk, not_before=retry_at)


# --- Operators (the admin's actions) -----------------------------------------------------


def retry_now(queryset):
    """Send failed, cancelled or waiting mails again now, with a fresh allowance of attempts."""
    ids = list(queryset.exclude(status__in=[Status.SENT, Status.SENDING]).values_list("pk", flat=True))
    OutboundEmail.objects.filter(pk__in=ids).update(
        status=Status.RETRYING, attempts=0, next_attempt_at=clock.now()
    )
    for email_id in ids:
        transaction.on_commit(lambda email_id=email_id: enqueue(email_id))
    return len(ids)


def cancel(queryset):
    """Stop mails that have not gone out yet; their codes and links are never issued."""
    return queryset.filter(status__in=[Status.QUEUED, Status.RETRYING]).update(
        status=Status.CANCELLED, next_attempt_at=None
    )


# --- The periodic sweep ---------------------------------------------------------------------

# A claimable record this late has lost its job (nothing else keeps a job from running for
# so long while the cluster sweeps); re-queuing one that still has a job costs a no-op run.
STRANDED_AFTER = timedelta(minutes=10)


def sweep_outbox():
    """Re-queue mail whose job was lost, and delete what is past its retention."""
    now = clock.now()
    late = now - STRANDED_AFTER
    stranded = OutboundEmail.claimable().filter(
        Q(next_attempt_at__lte=late) | Q(next_attempt_at=None, created_at__lte=late)
    )
    requeued = list(stranded.values_list("pk", flat=True)[:1000])
    for email_id in requeued:
        enqueue(email_id)
    kept_since = now - timedelta(days=settings.VERIFICATION_RETENTION_DAYS)
    purged = {
        "emails": OutboundEmail.objects.filter(status__in=DONE, created_at__lt=kept_since),
        "secrets": OneTimeSecret.objects.filter(expires_at__lt=kept_since),
        "rate limits": RateLimitBucket.objects.filter(updated_at__lt=now - ratelimit.longest_window()),
        "failed jobs": Failure.objects.filter(stopped__lt=kept_since),
    }
    counts = {name: rows.delete()[0] for name, rows in purged.items()}
    logger.info("Outbox sweep: re-queued %s, deleted %s", len(requeued), counts)
    return {"requeued": len(requeued), **counts}
