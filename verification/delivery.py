"""Delivery: what a worker's job does with the mail the outbox holds.

A job claims due mails in short transactions (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, the single writer on SQLite), so two jobs, or two clusters, never take the same
mail. It claims one mail for each free SMTP session (VERIFICATION_SMTP_CONNECTIONS) and sends
over all of them at once, codes, links and security notices before other notices, within the
send-rate cap shared by every cluster (verification/sendrate.py); mail without a recipient is
closed unsent, outside the cap. Each mail is marked sent the moment its server accepted it,
so a worker that dies can send again at most the mails it had in flight. A job that finds a
full batch wakes another worker, so a backlog is drained by all of them. A job with no
session known to be open sends one mail alone first, so a server that is down costs a job
one timeout.

What each outcome of a send does (the retry rules, one function each):

| outcome of a send                    | the mail         | waiting mail           | code                    |
| ------------------------------------ | ---------------- | ---------------------- | ----------------------- |
| accepted                             | sent             | goes on                | `_Job._sent`            |
| 5xx about this message               | failed           | goes on                | `_record_failure`       |
| 4xx about this message; not composed | retried, counted | goes on                | `_record_failure`       |
| unreachable, timed out, dropped      | retried, counted | held if down (below)   | `_Job._unreachable`     |
| new session refused 4xx (a limit)    | back, uncounted  | goes on, open sessions | `_Job._session_refused` |
| sender refused (535, 5xx greeting)   | back, uncounted  | held for a backoff     | `_Job._sender_refused`  |

"Counted" spends one of VERIFICATION_MAIL_MAX_ATTEMPTS (the last fails the mail); "retried"
is after `backoff()`, with a job queued for that moment; "back" is in the queue at once;
"held" means no waiting mail is tried before then, and none spends an attempt. The server is
down for the job when it cannot be reached (refused, timed out, TLS failed, dropped) before a
send got through, or twice in a row: the waiting mail is held until that mail's retry rather
than each waiting out its own connection timeout. One session that times out while the others
deliver holds nothing. A provider's limit on connections is not an outage: the sessions open
go on sending (verification/smtp.py). A kept connection that the server closed or answered
4xx is reopened and the message sent again at once (`_Session.send`): it was not taken. A
worker that dies mid-send leaves its mails `sending`; after their lease another job takes them
up as another attempt, and one on its last attempt is failed by the sweep
(`OutboundEmail.abandoned`). A mail sent again carries a freshly issued code or link, which
revokes the one before.
"""

import logging
import random
import time
from concurrent import futures
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils.module_loading import import_string

from verification import attempts, clock, registry, sendrate, signals, smtp, tokens
from verification.models import OutboundEmail, Suppression
from verification.outbox import wake_a_worker

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status

# A job starts no new send after this long, and waits for the sends it started (each on its
# own session, each bounded by EMAIL_TIMEOUT twice: send, reconnect, send), so that it ends
# well inside Django-Q2's timeout; what it claimed and did not start goes back to the queue.
JOB_TIME = settings.Q_CLUSTER["timeout"] / 2
# A job owns the mails it claimed this long: longer than a job may run, shorter than the
# broker's redelivery of a lost job (Q_CLUSTER["retry"]), which then takes them over.
LEASE = timedelta(seconds=settings.Q_CLUSTER["timeout"] * 1.5)
# A worker that may open no session hands a job on this much later: soon enough for mail,
# and no busy loop while every worker waits out a provider's refusal.
HAND_OVER_DELAY = timedelta(seconds=1)
# Mail without a recipient closed by one claim (a bound on the statement, not on the rate).
CLOSED_PER_CLAIM = 1000


def compose(email: OutboundEmail) -> EmailMessage:
    """The message for an OutboundEmail, as the composer of its kind writes it (a host
    project's, VERIFICATION_MAIL_COMPOSERS; else the one its kind was registered with): this
    engine delivers mail, it does not word it."""
    message = import_string(registry.composer_of(email.kind))(email)
    attempts.stamp_attempt(email=email, message=message)  # a Message-ID per attempt (issue 22)
    return message


def deliver_due_mail() -> None:
    """Send due mail over this worker's SMTP sessions until none is left or this job has run
    long enough. Never raises: what happens to each mail is decided here and written on its
    record."""
    _Job().run()


class _Server:
    """What one job has learned of the SMTP server: until a send gets through, one is tried at
    a time; one that cannot be reached before then, or twice in a row, is down for the job."""

    def __init__(self):
        self.works = smtp.pool.has_open_session()  # a session is open: it answered before
        self.unreachable_in_a_row = 0
        self.down = False

    def sessions(self):
        return smtp.pool.allowed() if self.works else min(1, smtp.pool.allowed())

    def answered(self):
        self.works, self.unreachable_in_a_row = True, 0

    def could_not_reach(self):
        """Count a send that could not reach the server; True when the server is now down.
        One session that times out while the others deliver is that session's trouble."""
        self.unreachable_in_a_row += 1
        if self.down or (self.works and self.unreachable_in_a_row < 2):
            return False
        self.down = True
        return True


class _Job:
    """One run of `deliver_due_mail`: the sends in flight, and what it learned of the server."""

    def __init__(self):
        self.stop_at = time.monotonic() + JOB_TIME
        self.sending = {}  # Future -> the mail it sends
        self.server = _Server()
        # The last claim took all there was: mail that comes between sends is looked for
        # before the next claim locks anything (a trickle of mail costs one claim a mail).
        self.drained = False

    def run(self):
        if not smtp.pool.allowed():
            self._hand_over()
            return
        while True:
            found, pause = self._start_sends() if self._may_start() else (False, 0)
            if self.sending:
                self._finish_sends(timeout=pause or None)
            elif pause:  # the send-rate cap holds back mail that is due
                time.sleep(min(pause, max(0.0, self.stop_at - time.monotonic())))
            elif not found:
                break
        if not self.server.down and time.monotonic() >= self.stop_at:
            wake_a_worker()  # another job takes up what is left

    def _hand_over(self):
        """This worker may open no session (the provider refused one, and other workers hold
        its connections): leave the job to one of them, a second from now, if mail waits."""
        if OutboundEmail.claimable().exists():
            wake_a_worker(not_before=clock.now() + HAND_OVER_DELAY)

    def _may_start(self):
        return not self.server.down and time.monotonic() < self.stop_at

    def _start_sends(self):
        """Claim a due mail for each free session and start sending them; return whether it
        found mail (more may be waiting) and the seconds until the send-rate cap allows more,
        when it held some back."""
        free = self.server.sessions() - len(self.sending)
        if free < 1:
            return False, 0
        if self.drained and not OutboundEmail.claimable().exists():
            return False, 0  # a look without the claim's lock: none came since the last claim
        batch, took, pause = _claim_batch(free)
        self.drained = took < free
        if self.server.works and took == free:
            # More may be waiting: make sure a job is there for an idle worker (of this
            # cluster or another) to take, while this one sends.
            wake_a_worker()
        for position, email in enumerate(batch):
            if not self._may_start():
                _release(batch[position:])
                return True, 0
            self._start(email)
        return took > 0, pause

    def _start(self, email):
        try:
            message = compose(email)
        except tokens.CodeDied:
            _mark(email, status=Status.CANCELLED, last_error="Not sent: its code died before it could go.")
            return
        except Exception as error:
            _record_failure(email, error)
            return
        self.sending[smtp.pool.start_sending(message)] = email

    def _finish_sends(self, timeout):
        done, _ = futures.wait(self.sending, timeout=timeout, return_when=futures.FIRST_COMPLETED)
        outcomes = [(self.sending.pop(future), future.exception()) for future in done]
        self._sent([email for email, error in outcomes if error is None])
        for email, error in outcomes:
            if error is not None:
                self._finish(email, error)

    def _finish(self, email, error):
        """Decide what becomes of a mail whose send failed (the module's table)."""
        if smtp.refused_session(error):
            self._session_refused(email, error)
        elif smtp.is_about_the_sender(error):
            self._sender_refused(email, error)
        elif smtp.is_unreachable(error):
            self._unreachable(email, error)
        else:
            _record_failure(email, error)

    def _sent(self, emails):
        """Mark the mails whose server accepted them sent, the ones that finished together in
        one statement."""
        if not emails:
            return
        _mark(*emails, status=Status.SENT, sent_at=clock.now())
        for email in emails:
            signals.send_after_commit(signals.mail_sent, sender=OutboundEmail, email=email)
        self.server.answered()

    def _session_refused(self, email, error):
        """The provider allows no more connections from us: the mail is not at fault, and the
        sessions open here or in other workers send it."""
        _release([email], reason=error)
        if not smtp.pool.allowed():  # none here: come back, in case none is open anywhere
            wake_a_worker(not_before=smtp.pool.may_ask_again_at())

    def _sender_refused(self, email, error):
        """Every mail would get the same answer (our password, our address), and staff can
        mend it: no mail is charged, and the queue waits as for an outage."""
        _release([email], reason=error)
        self.server.down = True
        until = clock.now() + timedelta(seconds=backoff(1))
        _hold_waiting_mail(until=until)
        wake_a_worker(not_before=until)

    def _unreachable(self, email, error):
        """The mail is retried; when the server is down, no other waits out its own timeout."""
        retry_at = _record_failure(email, error)
        if self.server.could_not_reach():
            _hold_waiting_mail(until=retry_at or clock.now() + timedelta(seconds=backoff(1)))


def _claim_batch(limit):
    """Claim up to `limit` due mails, codes and links first, as far as the send-rate cap
    allows, each with its user, its secret and whether its address is suppressed; return
    them, how many rows the claim took (those without a recipient too), and, when the cap
    held some back, the seconds until it allows more. Mail the claim meets that goes nowhere
    (no recipient, or a suppressed address) is closed unsent, outside the cap (_close_unsent)."""
    now = clock.now()
    with transaction.atomic():
        allowance = sendrate.open_allowance(now)
        allowed = sendrate.allowed(allowance, limit)
        for _ in range(2):  # once more after closing some, for the mail they stood before
            due = _lock_due(allowed)
            unsent = [email for email in due if _goes_nowhere(email)]
            if not unsent:
                break
            _close_unsent(unsent)
        batch = [email for email in due if email not in unsent]
        sendrate.spend(allowance, len(batch))
        lease = now + LEASE
        OutboundEmail.objects.filter(pk__in=[email.pk for email in batch]).update(
            status=Status.SENDING, lease_expires_at=lease, attempts=F("attempts") + 1
        )
        attempts.open_attempts(batch)
    for email in batch:  # as the claim wrote them
        email.status, email.lease_expires_at, email.attempts = Status.SENDING, lease, email.attempts + 1
    held_back = len(due) == allowed < limit
    return batch, len(due), sendrate.seconds_until_next(allowance) if held_back else 0


def _lock_due(limit):
    """Lock up to `limit` claimable mails (skipping those another job holds), codes and links
    first, each with its user and secret, and with `suppressed`: whether its address is on the
    suppression list."""
    email_field = get_user_model().get_email_field_name()
    recipient = Coalesce(NullIf(OuterRef("to_address"), Value("")), OuterRef(f"user__{email_field}"))
    return list(
        OutboundEmail.claimable()
        .select_related("user", "secret")
        .annotate(suppressed=Exists(Suppression.objects.filter(address=recipient, lifted=False)))
        .order_by("priority", "pk")
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )


def _goes_nowhere(email):
    return email.user_id is None or email.suppressed


def _close_unsent(emails):
    """Close the claimed mails that go nowhere: those without a recipient (with up to
    CLOSED_PER_CLAIM more like them) and those to a suppressed address (issue 22). Neither
    takes a send from the cap nor a session, so requests that send nothing hold back no mail."""
    if any(email.user_id is None for email in emails):
        _close_mail_without_recipient()
    OutboundEmail.objects.filter(pk__in=[email.pk for email in emails if email.user_id is not None]).update(
        status=Status.SUPPRESSED,
        lease_expires_at=None,
        next_attempt_at=None,
        last_error="Not sent: the address is suppressed.",
    )


def _close_mail_without_recipient():
    """A request about an address without an account records a row like any other (the same
    work for every address), and nothing is sent for it: so it spends neither the send-rate
    cap nor a session, and a flood of such requests never holds back a real mail (a claim
    that meets one closes up to CLOSED_PER_CLAIM). Locked like a claim (skipping rows another
    job holds), so parallel jobs never wait on each other nor deadlock; what is past the bound
    goes with the next claim that meets it."""
    nobody = OutboundEmail.claimable().filter(user=None).select_for_update(skip_locked=True)
    ids = list(nobody.values_list("pk", flat=True)[:CLOSED_PER_CLAIM])
    OutboundEmail.objects.filter(pk__in=ids).update(
        status=Status.NO_RECIPIENT, lease_expires_at=None, next_attempt_at=None
    )


def _error_text(error):
    """What staff read of a failure in `last_error`."""
    return f"{type(error).__name__}: {error}"[:2000]


def _release(emails, *, reason=None):
    """Put claimed mails that this job did not try back in the queue, their attempt uncounted
    (with the `reason`, when one kept them from going, for staff to read)."""
    reason_field = {"last_error": _error_text(reason)} if reason else {}
    _still_ours(emails).update(
        status=Case(When(attempts=1, then=Value(Status.QUEUED)), default=Value(Status.RETRYING)),
        attempts=F("attempts") - 1,
        lease_expires_at=None,
        **reason_field,
    )


def _hold_waiting_mail(*, until):
    """The server cannot be reached: no waiting mail is tried before `until` (each try would
    wait out its own connection timeout); none spends an attempt."""
    OutboundEmail.objects.filter(status__in=OutboundEmail.NOT_STARTED).filter(
        Q(next_attempt_at=None) | Q(next_attempt_at__lt=until)
    ).update(next_attempt_at=until)


def _mark(*emails, **fields):
    """Write what became of mails this job was sending (their lease ends with it)."""
    _still_ours(emails).update(**{"lease_expires_at": None, "next_attempt_at": None, **fields})


def _still_ours(emails):
    """The rows of `emails` still under the lease this job's claim wrote: a job that outlived
    its lease (a provider that drips its answers) must not write over the mail another job
    took up since: every mail goes once."""
    return OutboundEmail.objects.filter(
        pk__in=[email.pk for email in emails],
        status=Status.SENDING,
        lease_expires_at__in={email.lease_expires_at for email in emails},
    )


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt`: doubling from the base delay, capped, with full
    jitter in its upper half so that mails failed together do not come back together."""
    ceiling = min(
        settings.VERIFICATION_MAIL_RETRY_DELAY * 2 ** (attempt - 1),
        settings.VERIFICATION_MAIL_RETRY_MAX_DELAY,
    )
    return random.uniform(ceiling / 2, ceiling)  # not a secret: `random` is fine here


def _record_failure(email, error):
    """Write the failure on the record; return when it is due again (None: given up)."""
    give_up = smtp.is_permanent(error) or email.attempts >= settings.VERIFICATION_MAIL_MAX_ATTEMPTS
    retry_at = None if give_up else clock.now() + timedelta(seconds=backoff(email.attempts))
    _mark(
        email,
        status=Status.FAILED if give_up else Status.RETRYING,
        next_attempt_at=retry_at,
        last_error=_error_text(error),
    )
    logger.warning(
        "Mail %s attempt %s failed (%s): %s",
        email.pk,
        email.attempts,
        "giving up" if give_up else f"retry at {retry_at:%H:%M:%S}",
        _error_text(error),  # the class alone does not say what to mend
    )
    if retry_at is None:
        signals.send_after_commit(
            signals.mail_failed, sender=OutboundEmail, email=email, error=_error_text(error)
        )
    else:
        wake_a_worker(not_before=retry_at)
    return retry_at
