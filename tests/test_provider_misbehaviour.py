"""Delivery against providers that misbehave the way real ones do: a cap on mails per
connection, idle connections closed with 421, one slow session among healthy ones, a worker
that keeps dying mid-send, a wrong password, a clock stepped back. Jobs run inline against a
scripted server on 127.0.0.1 (harness/scripted_smtp.py)."""

import collections
from datetime import timedelta

import pytest
from django.utils import timezone

from harness.processes import wait_for
from harness.scripted_smtp import ScriptedServer
from tests.conftest import deliver_until_none_is_due, use_smtp_server
from verification import delivery, outbox, smtp
from verification.models import OutboundEmail, SendAllowance

Status = OutboundEmail.Status


@pytest.fixture
def provider(settings):
    """Start a scripted server with `behave` and point the site's mail at it."""
    servers = []

    def start(behave=None, **options):
        server = ScriptedServer(behave, **options).__enter__()
        servers.append(server)
        use_smtp_server(settings, server.port, EMAIL_TIMEOUT=1)
        return server

    yield start
    smtp.pool.reset()
    for server in servers:
        server.__exit__()


def mails(user, count, kind="password_changed"):
    return OutboundEmail.objects.bulk_create(OutboundEmail(user=user, kind=kind) for _ in range(count))


def test_a_cap_on_mails_per_connection_costs_a_new_connection_not_the_mail(
    jobs_wait_in_the_queue, user, provider, settings
):
    per_connection = collections.Counter()

    def behave(n, command):  # 163 answers "451 MI:DMC" past its mails per connection
        if command == "MAIL":
            per_connection[n] += 1
            if per_connection[n] > 3:
                return {"reply": "451 4.7.0 MI:DMC Too many mails in the current connection"}
        return None

    server = provider(behave)
    settings.VERIFICATION_SMTP_CONNECTIONS = 1
    mails(user, 20)

    deliver_until_none_is_due()

    assert len(server.accepted) == 20
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_a_kept_connection_the_provider_closed_for_idleness_is_reopened_for_the_next_code(
    jobs_wait_in_the_queue, user, provider, time_machine
):
    server = provider(idle_timeout=0.3)  # Postfix and Exim say "421 4.4.2 timeout exceeded"
    for _ in range(3):  # three people ask for a code, a quiet spell apart
        [code_mail] = mails(user, 1, kind="password_reset")
        delivery.deliver_due_mail()
        code_mail.refresh_from_db()
        assert (code_mail.status, code_mail.attempts) == (Status.SENT, 1)
        wait_for(lambda: server.idle_closes == len(server.accepted), timeout=10, every=0.05)
    assert len(server.accepted) == 3


def test_a_slow_answer_on_a_kept_connection_is_not_taken_for_a_closed_one_and_sent_again_at_once(
    jobs_wait_in_the_queue, user, provider
):
    ends_of_data = collections.Counter()

    def behave(n, command):  # the second message's "250" comes well after EMAIL_TIMEOUT (1 s)
        if command == "DOT":
            ends_of_data[n] += 1
            return {"delay": 2} if ends_of_data[n] == 2 else None
        return None

    server = provider(behave)
    mails(user, 1)
    delivery.deliver_due_mail()  # opens a connection and keeps it
    [slow] = mails(user, 1)

    delivery.deliver_due_mail()
    smtp.pool.reset()  # we hang up, and the server ends every connection: its late "250" is given
    wait_for(lambda: server.open == 0, timeout=10, every=0.05)

    slow.refresh_from_db()
    assert server.accepted.count(slow.message_id) == 1  # not sent a second time at once
    assert slow.status == Status.RETRYING and "timed out" in slow.last_error  # it may not have arrived


def test_one_slow_session_among_healthy_ones_does_not_hold_the_queue(
    jobs_wait_in_the_queue, user, provider, settings
):
    def behave(n, command):
        if command == "DOT":
            return {"delay": 3 if n == 3 else 0.05}  # connection 3 outlasts EMAIL_TIMEOUT (1 s)
        return None

    provider(behave)
    settings.VERIFICATION_SMTP_CONNECTIONS = 8
    mails(user, 100)

    deliver_until_none_is_due()

    statuses = collections.Counter(OutboundEmail.objects.values_list("status", flat=True))
    assert statuses[Status.SENT] >= 98 and statuses[Status.SENT] + statuses[Status.RETRYING] == 100
    assert not OutboundEmail.objects.filter(attempts=0).exists()  # nothing was held back


def test_a_mail_whose_sender_died_on_its_last_attempt_fails_instead_of_being_sent_again(
    user, provider, settings, time_machine
):
    server = provider()
    settings.VERIFICATION_MAIL_MAX_ATTEMPTS = 3
    # A worker claimed it for its third try and was killed mid-send (a provider slower than
    # the job's timeout, an out-of-memory kill): its lease has run out.
    [lost] = mails(user, 1)
    OutboundEmail.objects.filter(pk=lost.pk).update(
        status=Status.SENDING, attempts=3, lease_expires_at=time_machine.now - timedelta(seconds=1)
    )

    delivery.deliver_due_mail()
    assert server.messages == []  # not taken up again

    outbox.sweep_outbox()

    lost.refresh_from_db()
    assert lost.status == Status.FAILED and "stopped while sending" in lost.last_error


def test_staff_can_cancel_a_mail_whose_sender_died(user, time_machine):
    [lost] = mails(user, 1)
    OutboundEmail.objects.filter(pk=lost.pk).update(
        status=Status.SENDING, attempts=1, lease_expires_at=time_machine.now - timedelta(seconds=1)
    )

    assert outbox.cancel(OutboundEmail.objects.all()) == 1


def test_a_wrong_smtp_password_holds_the_mail_and_fails_none_however_many_jobs_meet_it(
    jobs_wait_in_the_queue, user, provider, settings, time_machine
):
    server = provider(
        lambda n, command: {"reply": "535 5.7.8 Authentication failed"} if command == "AUTH" else None,
        auth=True,
    )
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "sender", "changed-by-someone"
    settings.VERIFICATION_MAIL_MAX_ATTEMPTS = 3
    mails(user, 30)

    delivery.deliver_due_mail()
    assert server.connections == 1  # one knock, then the whole queue is held
    assert all(held.next_attempt_at > time_machine.now for held in OutboundEmail.objects.all())

    for _ in range(settings.VERIFICATION_MAIL_MAX_ATTEMPTS + 2):  # staff take a while to mend it
        time_machine.advance(seconds=settings.VERIFICATION_MAIL_RETRY_MAX_DELAY + 1)
        delivery.deliver_due_mail()

    assert server.connections == settings.VERIFICATION_MAIL_MAX_ATTEMPTS + 3 and server.accepted == []
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.QUEUED, 0)}
    assert "535" in OutboundEmail.objects.order_by("pk").first().last_error  # what staff read


def test_a_clock_stepped_back_does_not_stop_the_send_rate_cap(
    jobs_wait_in_the_queue, user, provider, settings, monkeypatch
):
    monkeypatch.setattr(delivery, "JOB_TIME", 5)
    server = provider()
    settings.VERIFICATION_MAIL_RATE = 100
    # The bucket was last refilled by a clock an hour fast (or before this one was set back).
    SendAllowance.objects.create(pk=1, tokens=0, refilled_at=timezone.now() + timedelta(hours=1))
    mails(user, 5)

    deliver_until_none_is_due()  # the real clock: five sends at 100/s take a twentieth of a second

    assert len(server.accepted) == 5
    assert SendAllowance.objects.get().refilled_at <= timezone.now()
