"""Delivery through the outbox, against a real SMTP server on 127.0.0.1 (jobs run inline)."""

import smtplib
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage

from accounts.vocabulary import MailKind, Purpose
from harness.smtp_sink import SilentServer, free_port, text_body
from tests.conftest import deliver_until_none_is_due, use_smtp_server
from tests.factories import UserFactory
from tests.helpers import ask_for_code
from verification import delivery, outbox, registry, sendrate, suppression, tokens
from verification.models import OneTimeSecret, OutboundEmail, SendAllowance, Suppression

Status = OutboundEmail.Status


def record_for(user, kind=MailKind.PASSWORD_CHANGED, **fields):
    """The row `queue_email` would write, unsaved (for bulk_create), with no worker woken."""
    return OutboundEmail(user=user, kind=kind, priority=registry.mail_kind(kind).priority, **fields)


def record(user, kind=MailKind.PASSWORD_CHANGED, **fields):
    email = record_for(user, kind, **fields)
    email.save()
    return email


def test_a_reset_mail_has_text_and_html_with_the_code_and_a_site_url_link(
    client, user, deliver, mailoutbox, settings
):
    settings.SITE_URL = "https://verify.example.org"

    code = ask_for_code(client, deliver, user.email, mailoutbox)

    [message] = mailoutbox
    [(html, _)] = message.alternatives
    assert code in html
    assert "https://verify.example.org/accounts/password-reset/code/" in message.body
    assert code not in message.subject and "\n" not in message.subject
    assert message.extra_headers["Message-ID"] == OutboundEmail.objects.get().message_id


def test_the_request_only_records_the_mail(client, user, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("accounts:password_reset"), {"email": user.email})

    assert mailoutbox == []
    assert len(callbacks) == 1
    assert OutboundEmail.objects.get().status == Status.QUEUED


def queued_jobs():
    return [SignedPackage.loads(job.payload) for job in OrmQ.objects.order_by("pk")]


def test_a_job_carries_no_arguments_and_a_burst_of_requests_queues_one(
    jobs_wait_in_the_queue, db, client, django_capture_on_commit_callbacks, monkeypatch
):
    for member in UserFactory.create_batch(3):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("accounts:password_reset"), {"email": member.email})

    [job] = queued_jobs()  # not yet taken by a worker: it will find all three mails
    assert (job["func"], job["args"], job["kwargs"]) == ("verification.tasks.deliver_due_mail", (), {})
    assert OutboundEmail.objects.filter(status=Status.QUEUED).count() == 3


def test_a_request_after_a_worker_took_the_job_queues_another(
    jobs_wait_in_the_queue, client, user, django_capture_on_commit_callbacks, monkeypatch
):
    outbox.wake_a_worker()
    OrmQ.objects.update(lock=timezone.now() + timedelta(minutes=2))  # what the broker does on taking it

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": user.email})

    assert len(queued_jobs()) == 2


def test_a_job_sends_a_backlog_in_batches_and_wakes_a_second_worker(
    jobs_wait_in_the_queue, user, smtp_sink, monkeypatch, settings
):
    backlog = 3 * settings.VERIFICATION_SMTP_CONNECTIONS + 5
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(backlog))

    deliver_until_none_is_due()

    assert len(smtp_sink.wait_for(backlog)) == backlog
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert len(queued_jobs()) == 1  # woken by the first full claim; it will find nothing left


def test_a_job_sends_over_several_sessions_at_once_and_keeps_them_for_the_next(user, smtp_sink, settings):
    settings.VERIFICATION_SMTP_CONNECTIONS = 4
    smtp_sink.delay = 0.1  # a provider that takes a while to accept each message
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(20))

    deliver_until_none_is_due()
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(8))
    deliver_until_none_is_due()

    assert len(smtp_sink.wait_for(28)) == 28
    assert smtp_sink.most_in_flight == 4 and smtp_sink.connections == 4
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENT}


def test_codes_and_links_are_claimed_before_notices_queued_earlier(
    jobs_wait_in_the_queue, user, smtp_sink, settings, monkeypatch
):
    # One session, so that mail arrives in the order it was claimed (with two, a notice claimed
    # after the last code may overtake it on the other session).
    settings.VERIFICATION_SMTP_CONNECTIONS = 1
    notices = [MailKind.EMAIL_CONFIRMED, MailKind.ACCOUNT_EXISTS] * 10
    OutboundEmail.objects.bulk_create(record_for(user, kind) for kind in notices)
    OutboundEmail.objects.bulk_create(record_for(user, kind) for kind in [MailKind.PASSWORD_RESET] * 3)
    record(user, MailKind.ACTIVATION)

    deliver_until_none_is_due()

    kinds = dict(OutboundEmail.objects.values_list("message_id", "kind"))
    arrived = [kinds[message["Message-ID"]] for message in smtp_sink.wait_for(24)]
    assert sorted(arrived[:4]) == [MailKind.ACTIVATION] + [MailKind.PASSWORD_RESET] * 3
    assert set(arrived[4:]) == {MailKind.EMAIL_CONFIRMED, MailKind.ACCOUNT_EXISTS}


def test_security_notices_are_claimed_as_soon_as_codes_before_other_notices_queued_earlier(user):
    OutboundEmail.objects.bulk_create(record_for(user, MailKind.ACCOUNT_EXISTS) for _ in range(3))
    for kind in [MailKind.EMAIL_CHANGED, MailKind.PASSWORD_RESET, MailKind.PASSWORD_CHANGED]:
        record(user, kind)

    batch, _, _ = delivery._claim_batch(3)

    assert [email.kind for email in batch] == [
        MailKind.EMAIL_CHANGED,
        MailKind.PASSWORD_RESET,
        MailKind.PASSWORD_CHANGED,
    ]


def test_requests_about_addresses_without_an_account_never_hold_back_a_notice(user, settings):
    # 240 anonymous reset requests, queued before the notice that carries the undo link.
    settings.VERIFICATION_MAIL_RATE = 1
    OutboundEmail.objects.bulk_create(record_for(None, MailKind.PASSWORD_RESET) for _ in range(240))
    notice = record(user, MailKind.EMAIL_CHANGED)

    batch, _, _ = delivery._claim_batch(8)

    assert batch == [notice]  # the one send the bucket holds went to the notice
    assert OutboundEmail.objects.filter(status=Status.NO_RECIPIENT).count() == 240


def test_mail_without_a_recipient_takes_no_send_from_the_cap(user, settings):
    settings.VERIFICATION_MAIL_RATE = 1
    OutboundEmail.objects.bulk_create(record_for(None, MailKind.LOGIN_CODE) for _ in range(5))

    assert delivery._claim_batch(8) == ([], 0, 0)
    assert SendAllowance.objects.get().tokens == 1  # still full
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.NO_RECIPIENT}


def test_mail_to_a_suppressed_address_takes_no_send_from_the_cap(user, settings):
    # The fresh attacker of session 7 suppressed their own address with a forged bounce of
    # their own mail, then held other people's codes behind requests that sent nothing.
    settings.VERIFICATION_MAIL_RATE = 1
    suppressed = UserFactory(email="me@evil.example")
    suppression.suppress_address(address=suppressed.email, source=Suppression.Source.BOUNCE, reason="550")
    record(suppressed, MailKind.PASSWORD_RESET)
    notice = record(user, MailKind.PASSWORD_RESET)

    batch, _, pause = delivery._claim_batch(8)

    assert batch == [notice] and pause > 0  # the one send the bucket holds went to the notice
    assert OutboundEmail.objects.get(user=suppressed).status == Status.SUPPRESSED


@pytest.mark.parametrize("how", ["expired", "replaced", "let go", "out of tries"])
def test_a_code_that_died_before_its_mail_went_is_not_mailed(client, user, mailoutbox, time_machine, how):
    # The fresh attacker of session 7: a mail held past its code's life (retries, a backlog)
    # went out saying "valid for 10 minutes" with a code that no longer worked.
    reset = reverse("accounts:password_reset")
    client.post(reset, {"email": user.email})  # recorded; no worker runs yet
    if how == "expired":
        time_machine.advance(minutes=11)
    elif how == "let go":  # as a new password does (the second attacker of session 7)
        tokens.revoke_secrets(user=user, purpose=Purpose.PASSWORD_RESET)
    elif how == "out of tries":
        OneTimeSecret.objects.update(attempts=F("max_attempts"))
    else:  # two more requests: the first code is no longer one of the live ones
        for _ in range(2):
            time_machine.advance(minutes=2)
            client.post(reset, {"email": user.email})
    first = OutboundEmail.objects.earliest("pk")

    deliver_until_none_is_due()

    first.refresh_from_db()
    assert first.status == Status.CANCELLED and "code" in first.last_error
    assert len(mailoutbox) == (2 if how == "replaced" else 0)


def test_a_link_that_rides_on_a_dead_code_challenge_is_still_mailed(db, client, mailoutbox, time_machine):
    # A sign-in code asked for an account awaiting activation mails its activation link
    # (valid a day), with the code's challenge for the same work; the link still goes when
    # that challenge has expired.
    waiting = UserFactory(awaiting_activation=True)
    client.post(reverse("accounts:login_code_request"), {"email": waiting.email})
    time_machine.advance(minutes=11)

    deliver_until_none_is_due()

    assert OutboundEmail.objects.get().status == Status.SENT and len(mailoutbox) == 1


def test_a_job_that_outlived_its_lease_changes_nothing_of_the_mail_another_job_took_up(user, time_machine):
    # Seen by the first attacker of session 7, by reading: a job still sending when its
    # lease ran out marked sent (or put back) the mail another job had taken up since.
    email = record(user)
    late, _, _ = delivery._claim_batch(1)
    time_machine.advance(seconds=delivery.LEASE.total_seconds() + 1)
    taken_up, _, _ = delivery._claim_batch(1)
    assert taken_up == [email]

    delivery._mark(*late, status=Status.SENT, sent_at=time_machine.now)
    delivery._release(late)

    email.refresh_from_db()
    assert email.status == Status.SENDING and email.attempts == 2 and email.sent_at is None


def test_mail_over_the_send_rate_cap_waits_in_the_outbox(
    jobs_wait_in_the_queue, user, smtp_sink, settings, monkeypatch, time_machine
):
    monkeypatch.setattr(delivery, "JOB_TIME", 0.3)
    settings.VERIFICATION_MAIL_RATE = 5
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(10))

    delivery.deliver_due_mail()  # the clock stands still: the bucket holds one send
    assert len(smtp_sink.wait_for(1)) == 1
    time_machine.advance(seconds=1)  # worth five sends, but the bucket holds one
    delivery.deliver_due_mail()

    assert len(smtp_sink.wait_for(2)) == 2
    waiting = OutboundEmail.objects.exclude(status=Status.SENT)
    assert set(waiting.values_list("status", "attempts")) == {(Status.QUEUED, 0)} and waiting.count() == 8
    assert len(queued_jobs()) == 1  # a job comes back for them


def test_the_send_rate_bucket_holds_one_send_at_low_caps_and_a_tenth_of_a_second_at_high():
    assert sendrate.capacity(5) == 1 and sendrate.capacity(200) == 20


def test_a_server_that_hangs_costs_a_job_one_connection_attempt_not_one_per_mail(
    jobs_wait_in_the_queue, user, settings, monkeypatch, time_machine
):
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(100))
    with SilentServer() as server:
        use_smtp_server(settings, server.port, EMAIL_TIMEOUT=1)

        delivery.deliver_due_mail()
        assert server.connections == 1
        [tried] = OutboundEmail.objects.filter(attempts=1)
        assert tried.status == Status.RETRYING and "timed out" in tried.last_error
        held = OutboundEmail.objects.exclude(pk=tried.pk)
        assert set(held.values_list("status", "attempts", "next_attempt_at")) == {
            (Status.QUEUED, 0, tried.next_attempt_at)
        }

        delivery.deliver_due_mail()  # before the backoff: nothing is tried
        assert server.connections == 1

        time_machine.advance(seconds=31)
        delivery.deliver_due_mail()
        assert server.connections == 2
    assert OutboundEmail.objects.filter(attempts__gt=0).count() == 1


def test_a_provider_that_allows_fewer_connections_gets_as_many_as_it_allows_and_no_mail_waits(
    jobs_wait_in_the_queue, user, smtp_sink, settings
):
    settings.VERIFICATION_SMTP_CONNECTIONS = 8
    smtp_sink.max_connections, smtp_sink.delay = 3, 0.05  # 163 answers "421 HL:ICC" past its limit
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(40))

    deliver_until_none_is_due()

    assert len(smtp_sink.wait_for(40)) == 40
    assert smtp_sink.connections_refused >= 1 and smtp_sink.most_in_flight == 3
    # A refused connection is not the mail's failure: none spent an attempt on it or waited.
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def test_a_provider_busy_with_other_workers_sessions_is_not_taken_for_down(
    jobs_wait_in_the_queue, user, smtp_sink, time_machine
):
    smtp_sink.max_connections = 2
    others = [smtplib.SMTP("127.0.0.1", smtp_sink.port) for _ in range(2)]  # another worker's sessions
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(10))

    delivery.deliver_due_mail()

    assert smtp_sink.connections_refused == 1  # one try, then this worker leaves the mail to others
    assert set(OutboundEmail.objects.values_list("status", "attempts", "next_attempt_at")) == {
        (Status.QUEUED, 0, None)  # none spent an attempt, none is held from the other workers
    }
    [later] = queued_jobs()  # this worker comes back, in case nobody else can send either
    delivery.deliver_due_mail()  # before then, it does not knock again
    assert smtp_sink.connections_refused == 1

    for other in others:
        other.quit()
    time_machine.advance(seconds=31)
    delivery.deliver_due_mail()
    assert len(smtp_sink.wait_for(10)) == 10


def test_a_worker_the_provider_refused_hands_the_job_to_another_a_second_later(
    jobs_wait_in_the_queue, user, smtp_sink, time_machine
):
    smtp_sink.max_connections = 1
    other_worker = smtplib.SMTP("127.0.0.1", smtp_sink.port)  # holds the provider's one connection
    OutboundEmail.objects.bulk_create(record_for(user) for _ in range(2))
    delivery.deliver_due_mail()  # refused: the mail goes back, uncounted
    OrmQ.objects.all().delete()

    delivery.deliver_due_mail()  # a job that lands on this worker while the other one holds it

    assert smtp_sink.connections_refused == 1  # it did not knock again
    [handed_over] = OrmQ.objects.all()
    assert handed_over.lock == time_machine.now + timedelta(seconds=1)
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(Status.QUEUED, 0)}
    other_worker.quit()


def test_a_job_out_of_time_leaves_the_rest_for_another_job(
    jobs_wait_in_the_queue, user, smtp_sink, monkeypatch
):
    monkeypatch.setattr(delivery, "JOB_TIME", 0.3)
    smtp_sink.delay = 1.0  # a slow server: the first send ends well past the job's time
    first, *_ = OutboundEmail.objects.bulk_create(record_for(user) for _ in range(5))

    delivery.deliver_due_mail()

    assert len(smtp_sink.wait_for(1)) == 1
    assert list(OutboundEmail.objects.filter(status=Status.SENT)) == [first]
    put_back = OutboundEmail.objects.exclude(pk=first.pk)
    assert set(put_back.values_list("status", "attempts", "lease_expires_at")) == {(Status.QUEUED, 0, None)}
    assert len(queued_jobs()) == 1  # another job takes them up


def test_delivering_twice_sends_once(user, smtp_sink):
    email = record(user)

    delivery.deliver_due_mail()
    delivery.deliver_due_mail()

    assert len(smtp_sink.wait_for(1)) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 1 and email.sent_at
    assert smtp_sink.messages[0]["Message-ID"] == email.message_id


def test_one_connection_carries_many_mails_and_is_reopened_when_dropped(user, smtp_sink):
    for _ in range(5):
        record(user)
        delivery.deliver_due_mail()
    assert smtp_sink.connections == 1

    smtp_sink.stop()  # the server goes away, taking the open connection with it
    smtp_sink.start()
    record(user)
    delivery.deliver_due_mail()

    assert len(smtp_sink.wait_for(6)) == 6
    assert smtp_sink.connections == 2
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENT}


@pytest.mark.parametrize("answer", ["421 4.7.0 Try again later", "451 4.3.0 Local error"])
def test_a_temporary_refusal_is_retried_after_a_backoff(user, smtp_sink, answer, time_machine):
    smtp_sink.refuse_next(2, answer)
    email = record(user)

    delivery.deliver_due_mail()
    email.refresh_from_db()
    assert email.status == Status.RETRYING and answer.split()[0] in email.last_error
    first_wait = email.next_attempt_at - time_machine.now
    assert timedelta(seconds=15) <= first_wait <= timedelta(seconds=30)

    delivery.deliver_due_mail()  # not due yet: nothing happens
    assert OutboundEmail.objects.get().attempts == 1

    time_machine.advance(seconds=31)
    delivery.deliver_due_mail()
    email.refresh_from_db()
    assert email.status == Status.RETRYING and email.attempts == 2
    assert timedelta(seconds=30) <= email.next_attempt_at - time_machine.now <= timedelta(seconds=60)

    time_machine.advance(seconds=61)
    delivery.deliver_due_mail()
    assert len(smtp_sink.wait_for(1)) == 1
    assert OutboundEmail.objects.get().status == Status.SENT


def test_a_permanent_refusal_fails_at_once_with_the_servers_words(user, smtp_sink, time_machine):
    smtp_sink.refuse_next(1, "550 5.1.1 Mailbox unavailable")
    email = record(user)

    delivery.deliver_due_mail()
    time_machine.advance(days=1)
    delivery.deliver_due_mail()

    email.refresh_from_db()
    assert email.status == Status.FAILED and email.attempts == 1
    assert "550" in email.last_error and "Mailbox unavailable" in email.last_error
    assert smtp_sink.messages == []


def test_a_server_that_is_down_is_tried_a_bounded_number_of_times(user, settings, time_machine):
    use_smtp_server(settings, free_port())  # nothing listens there
    settings.VERIFICATION_MAIL_MAX_ATTEMPTS = 3
    email = record(user)

    for _ in range(5):
        delivery.deliver_due_mail()
        time_machine.advance(hours=2)

    email.refresh_from_db()
    assert email.status == Status.FAILED and email.attempts == 3
    assert "ConnectionRefusedError" in email.last_error


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.VERIFICATION_MAIL_RETRY_DELAY, settings.VERIFICATION_MAIL_RETRY_MAX_DELAY = 10, 100
    delays = {attempt: [delivery.backoff(attempt) for _ in range(200)] for attempt in (1, 2, 3, 6)}

    assert all(5 <= d <= 10 for d in delays[1]) and all(10 <= d <= 20 for d in delays[2])
    assert all(20 <= d <= 40 for d in delays[3]) and all(50 <= d <= 100 for d in delays[6])
    assert len({round(d, 3) for d in delays[1]}) > 100  # jittered, not all the same


def test_a_retried_code_mail_carries_a_fresh_code_and_only_the_last_one_works(
    client, user, smtp_sink, deliver, time_machine
):
    smtp_sink.refuse_next(1, "451 4.3.0 Try again later")
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    refused_digest = OneTimeSecret.objects.get().digest  # written for the refused attempt

    time_machine.advance(minutes=1)
    delivery.deliver_due_mail()

    [message] = smtp_sink.wait_for(1)
    [secret] = OneTimeSecret.objects.all()
    assert secret.state == "active" and secret.digest not in ("", refused_digest)
    assert "password reset code" in message["Subject"].lower()
    assert any(line.strip().isdigit() for line in text_body(message).splitlines())


def test_a_job_that_died_mid_send_is_taken_over_after_its_lease(user, smtp_sink, time_machine):
    email = record(user)
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.SENDING, attempts=1, lease_expires_at=time_machine.now + delivery.LEASE
    )

    delivery.deliver_due_mail()  # the first job still holds it
    assert smtp_sink.messages == []

    time_machine.advance(seconds=delivery.LEASE.total_seconds() + 1)
    delivery.deliver_due_mail()
    assert len(smtp_sink.wait_for(1)) == 1


def test_staff_can_retry_a_failed_mail_and_cancel_a_waiting_one(
    user, smtp_sink, client, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    failed = record(user, status=Status.FAILED, attempts=6, last_error="550 no")
    waiting = record(user, status=Status.RETRYING, next_attempt_at=None)
    changelist = reverse("admin:verification_outboundemail_changelist")

    client.post(changelist, {"action": "cancel", "_selected_action": [waiting.pk]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "retry_now", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    waiting.refresh_from_db()
    assert failed.status == Status.SENT and failed.attempts == 1
    assert waiting.status == Status.CANCELLED
    delivery.deliver_due_mail()
    assert len(smtp_sink.wait_for(1)) == 1


def test_staff_see_the_send_rate_and_the_oldest_waiting_mail(user, client, time_machine):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    OutboundEmail.objects.bulk_create(
        record_for(user, status=Status.SENT, sent_at=time_machine.now - timedelta(seconds=s))
        for s in [5, 30, 50, 90]
    )
    record(user, created_at=time_machine.now - timedelta(seconds=42))
    record(user, status=Status.RETRYING)

    page = client.get(reverse("admin:verification_outboundemail_changelist"))

    expected = {"sent_per_second_last_minute": 0.05, "waiting": 2, "oldest_waiting_age_seconds": 42.0}
    stats = outbox.delivery_stats()
    assert stats == client.get("/health/mail/").json() == page.context["delivery"]
    assert {name: stats[name] for name in expected} == expected
    assert "0.05 mails/s" in page.content.decode()


def test_the_sweep_wakes_a_worker_for_waiting_mail_and_purges_old_rows(
    jobs_wait_in_the_queue, user, monkeypatch, time_machine, settings
):
    assert outbox.sweep_outbox()["mail_waiting"] is False and queued_jobs() == []

    waiting = record(user)  # its job was lost
    sent_long_ago = record(user, status=Status.SENT)
    OutboundEmail.objects.filter(pk=sent_long_ago.pk).update(
        created_at=time_machine.now - timedelta(days=settings.VERIFICATION_RETENTION_DAYS + 1)
    )

    result = outbox.sweep_outbox()

    assert result["mail_waiting"] is True and result["emails"] == 1
    assert [job["func"] for job in queued_jobs()] == ["verification.tasks.deliver_due_mail"]
    assert list(OutboundEmail.objects.all()) == [waiting]


def test_a_migration_schedules_the_sweep_every_minute(db):
    schedule = Schedule.objects.get(name="verification.sweep_outbox")

    assert schedule.func == "verification.tasks.sweep_outbox"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


def test_mail_goes_to_the_stored_address_not_a_typed_one(client, user, deliver, mailoutbox):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email.upper()})

    assert mailoutbox[0].to == [user.email]
