"""Bounces read back over IMAP from a real Dovecot, matched to the attempt they name, and the
suppression list they feed (issue 22). The bounce mails are tests/fixtures/bounces/: Postfix's
captured from a real Postfix (make_postfix_bounces.sh), the others written in their form."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from django.db import OperationalError
from django.test import Client
from django_q.models import Schedule
from imapclient import IMAPClient

from harness import dovecot
from tests.factories import PASSWORD, UserFactory
from tests.test_outbox import record
from verification import bounces, delivery, suppression
from verification.models import BounceMailboxCursor, MessageAttempt, OutboundEmail, Suppression

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status
FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
_ORIGINAL_ID = re.compile(rb"^(Message-ID:\s*)<[^>]+@verify\.example\.org>", re.M | re.I)


def bounce_of(fixture: str, message_id: str) -> bytes:
    """The fixture's bounce, about the mail with `message_id` (the original's Message-ID in it
    replaced by that one)."""
    raw = (FIXTURES / fixture).read_bytes()
    return _ORIGINAL_ID.sub(rb"\g<1>" + message_id.encode(), raw)


def sent_to(address, smtp_sink):
    email = record(UserFactory(email=address))
    delivery.deliver_due_mail()
    smtp_sink.wait_for(1)
    email.refresh_from_db()
    assert email.status == Status.SENT
    return email


@pytest.mark.parametrize(
    "fixture, address, reason",
    [
        ("postfix-remote-550.eml", "lin@bounce.example", "550 5.1.1 <lin@bounce.example>: Recipient address"),
        ("postfix-unknown-local-user.eml", "nosuchuser@verify.example.org", 'unknown user: "nosuchuser"'),
        ("163-coremail.eml", "lin@163.con", "550 DNS query error"),
        ("163-coremail-as-sampled.eml", "lin@163.com", "550 User not found"),
    ],
)
def test_a_permanent_bounce_marks_the_mail_bounced_and_suppresses_its_address(
    fixture, address, reason, smtp_sink
):
    email = sent_to(address, smtp_sink)

    assert bounces.record_bounce(raw=bounce_of(fixture, email.message_id))

    email.refresh_from_db()
    assert email.status == Status.BOUNCED and email.last_error.startswith("Bounced (permanent)")
    attempt = MessageAttempt.objects.get(message_id=email.message_id)
    assert attempt.bounce_permanent is True and reason in attempt.bounce_reason
    assert Suppression.objects.get(address=address).source == Suppression.Source.BOUNCE


def test_a_delay_notice_is_a_temporary_bounce_and_suppresses_nothing(smtp_sink):
    email = sent_to("lin@bounce.example", smtp_sink)

    assert bounces.record_bounce(raw=bounce_of("postfix-delayed.eml", email.message_id))

    attempt = MessageAttempt.objects.get(message_id=email.message_id)
    assert attempt.bounce_permanent is False and "Mailbox full" in attempt.bounce_reason
    assert OutboundEmail.objects.get().status == Status.BOUNCED
    assert not suppression.is_suppressed("lin@bounce.example")


def test_a_bounce_that_names_no_mail_of_this_site_counts_for_nothing(smtp_sink):
    # SECURITY.md 27: anyone can mail the bounce box; only our unguessable ids count.
    sent_to("lin@bounce.example", smtp_sink)

    assert not bounces.record_bounce(raw=(FIXTURES / "postfix-remote-550.eml").read_bytes())

    assert OutboundEmail.objects.get().status == Status.SENT
    assert not Suppression.objects.exists()


def test_a_late_bounce_of_an_earlier_attempt_stays_on_that_attempt(smtp_sink, time_machine):
    smtp_sink.refuse_next(1, "451 4.3.0 Local error")
    email = record(UserFactory(email="lin@bounce.example"))
    delivery.deliver_due_mail()
    first_id = OutboundEmail.objects.get().message_id
    time_machine.advance(seconds=31)
    delivery.deliver_due_mail()

    assert bounces.record_bounce(raw=bounce_of("postfix-delayed.eml", first_id))

    email.refresh_from_db()
    assert email.status == Status.SENT  # the later attempt went through
    assert MessageAttempt.objects.get(message_id=first_id).bounced_at is not None


def test_mail_to_a_suppressed_address_is_closed_as_suppressed_and_sent_again_once_lifted(smtp_sink):
    suppression.suppress_address(address="lin@bounce.example", source="bounce", reason="550 5.1.1")
    email = record(UserFactory(email="lin@bounce.example"))

    delivery.deliver_due_mail()

    email.refresh_from_db()
    assert email.status == Status.SUPPRESSED and smtp_sink.messages == []
    suppression.lift_suppressions(Suppression.objects.all())
    record(email.user)
    delivery.deliver_due_mail()
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_migration_schedules_the_poll_every_minute(db):
    schedule = Schedule.objects.get(name="verification.poll_bounce_mailbox")
    assert schedule.func == "verification.tasks.poll_bounce_mailbox"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


# --- Over IMAP, from a real Dovecot ---------------------------------------------------------


@pytest.fixture
def imap_box(tmp_path, settings, monkeypatch):
    """A Dovecot on 127.0.0.1 speaking IMAPS with a certificate of a private CA, which the site
    trusts through SSL_CERT_FILE, as docs/delivery.md tells operators; yields a client of that box."""
    if reason := dovecot.unavailable_reason():
        pytest.skip(reason)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    with dovecot.Dovecot(ca) as server:
        settings.VERIFICATION_BOUNCE_IMAP_URL = server.url
        client = IMAPClient("127.0.0.1", port=server.port, ssl=True)
        client.login(dovecot.USER, dovecot.PASSWORD)
        client.select_folder("INBOX")
        yield client
        client.logout()


def flags(client):
    found = client.fetch(client.search(["ALL"]), ["FLAGS"])
    return {uid: set(data[b"FLAGS"]) - {b"\\Recent"} for uid, data in found.items()}


def test_the_poll_records_bounces_from_the_box_flags_them_and_leaves_other_mail_alone(imap_box, smtp_sink):
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", b"From: a friend <friend@example.com>\r\nSubject: lunch?\r\n\r\nAt noon.\r\n")
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))
    imap_box.append("INBOX", bounce_of("qq-postmaster.eml", email.message_id))  # no detector knows it

    assert bounces.poll_bounce_mailbox() == {"read": 3, "bounces": 1}

    email.refresh_from_db()
    assert email.status == Status.BOUNCED
    assert suppression.is_suppressed("lin@bounce.example")
    friend, bounce, unknown = sorted(flags(imap_box).items())
    assert friend[1] == set() and unknown[1] == set()  # left alone, still unread
    assert bounce[1] == {b"\\Seen", b"$VerifyBounce"}
    assert len(imap_box.search(["ALL"])) == 3  # nothing deleted or moved


def test_each_poll_reads_only_what_arrived_since_the_last(imap_box, smtp_sink):
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", b"Subject: no From (one of flufl's detectors trips on it)\r\n\r\nhello\r\n")
    assert bounces.poll_bounce_mailbox() == {"read": 1, "bounces": 0}

    imap_box.append("INBOX", bounce_of("postfix-delayed.eml", email.message_id))

    assert bounces.poll_bounce_mailbox() == {"read": 1, "bounces": 1}
    assert bounces.poll_bounce_mailbox() == {"read": 0, "bounces": 0}
    assert BounceMailboxCursor.objects.get().last_uid == 2


def a_stranger_mail_with_a_charset_nobody_knows():
    raw = (FIXTURES / "postfix-remote-550.eml").read_bytes()
    return raw.replace(b"text/plain; charset=utf-8", b"text/plain; charset=x-no-such", 1)


def test_a_mail_that_trips_the_reader_is_left_alone_and_the_bounces_after_it_are_read(imap_box, smtp_sink):
    # Anyone can mail the box: one such mail stopped every poll before its cursor moved (the
    # fresh attacker of session 7), so no bounce after it was ever recorded, and one before
    # it was recorded again each minute, undoing a staff lift.
    assert not bounces.record_bounce(raw=a_stranger_mail_with_a_charset_nobody_knows())
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", a_stranger_mail_with_a_charset_nobody_knows())
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))

    assert bounces.poll_bounce_mailbox() == {"read": 2, "bounces": 1}

    email.refresh_from_db()
    assert email.status == Status.BOUNCED
    assert BounceMailboxCursor.objects.get().last_uid == 2
    suppression.lift_suppressions(Suppression.objects.all())  # staff lift it
    assert bounces.poll_bounce_mailbox() == {"read": 0, "bounces": 0}
    assert not suppression.is_suppressed("lin@bounce.example")


def test_any_mail_the_reader_trips_on_is_left_alone(imap_box, smtp_sink, monkeypatch):
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", b"Subject: trips the reader\r\n\r\nhello\r\n")
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))
    real_record_bounce = bounces.record_bounce

    def record_bounce(*, raw):
        if b"trips the reader" in raw:  # whatever a stranger's mail may yet find
            raise ValueError("a mail no reader foresaw")
        return real_record_bounce(raw=raw)

    monkeypatch.setattr(bounces, "record_bounce", record_bounce)

    assert bounces.poll_bounce_mailbox() == {"read": 2, "bounces": 1}
    assert BounceMailboxCursor.objects.get().last_uid == 2


def test_a_mail_too_big_for_a_bounce_is_left_unread_and_a_stopped_poll_goes_on_after_what_it_read(
    imap_box, smtp_sink, monkeypatch
):
    # The second attacker of session 7 mailed the box a few mails of megabytes: the detectors
    # took a poll past its job's timeout, the cluster killed it before its cursor moved, and
    # every later poll died on the same mails.
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", b"Subject: big\r\n\r\n" + b"x" * (bounces.MAX_BOUNCE_BYTES + 1))
    imap_box.append("INBOX", b"Subject: the poll is killed here\r\n\r\nhello\r\n")
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))
    read, real_record_bounce = [], bounces.record_bounce

    def record_bounce(*, raw):
        read.append(raw[:40])
        if b"killed here" in raw and len(read) == 1:
            raise SystemExit("the job's timeout")  # not an Exception: nothing catches it
        return real_record_bounce(raw=raw)

    monkeypatch.setattr(bounces, "record_bounce", record_bounce)
    with pytest.raises(SystemExit):
        bounces.poll_bounce_mailbox()
    assert BounceMailboxCursor.objects.get().last_uid == 1  # what it had read stays read

    assert bounces.poll_bounce_mailbox() == {"read": 2, "bounces": 1}
    assert not any(b"Subject: big" in raw for raw in read)  # never parsed
    email.refresh_from_db()
    assert email.status == Status.BOUNCED


def test_a_database_that_fails_stops_the_poll_before_the_mail_and_the_next_poll_reads_it(
    imap_box, smtp_sink, monkeypatch
):
    email = sent_to("lin@bounce.example", smtp_sink)
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))
    real_record_bounce_of = bounces.record_bounce_of

    def record_bounce_of(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(bounces, "record_bounce_of", record_bounce_of)
    with pytest.raises(OperationalError):
        bounces.poll_bounce_mailbox()
    assert BounceMailboxCursor.objects.get().last_uid == 0  # not read past

    monkeypatch.setattr(bounces, "record_bounce_of", real_record_bounce_of)
    assert bounces.poll_bounce_mailbox() == {"read": 1, "bounces": 1}


def test_no_url_no_poll(db, settings):
    settings.VERIFICATION_BOUNCE_IMAP_URL = ""
    assert bounces.poll_bounce_mailbox() == {"read": 0, "bounces": 0}


def test_a_sign_up_whose_mail_bounces_is_told_after_one_poll_and_mailed_again_only_after_a_staff_lift(
    imap_box, smtp_sink, client, django_capture_on_commit_callbacks, time_machine
):
    """The whole way round, with real peers: the SMTP server takes the activation mail, its
    bounce (a real Postfix DSN, naming the Message-ID that went out) lands in Dovecot, one
    poll reads it, the page after sign-up shows it, "send again" sends nothing, and a staff
    lift in the admin lets it go again."""
    address = "lin@bounce.example"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {"username": "lin", "email": address, "password1": PASSWORD, "password2": PASSWORD},
        )
    [activation] = smtp_sink.wait_for(1)
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", activation["Message-ID"]))

    assert bounces.poll_bounce_mailbox() == {"read": 1, "bounces": 1}

    page = client.get("/accounts/signup/done/").content.decode()
    assert f"The mail to {address} could not be delivered: there is no mailbox at that address." in page
    time_machine.advance(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/activate/resend/", {"email": address})
    assert len(smtp_sink.messages) == 1
    assert OutboundEmail.objects.latest("pk").status == Status.SUPPRESSED

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    held = Suppression.objects.get(address=address)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            "/admin/verification/suppression/",
            {"action": "lift", "_selected_action": [held.pk]},
        )
    time_machine.advance(minutes=2)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/activate/resend/", {"email": address})
    assert len(smtp_sink.wait_for(2)) == 2


def test_staff_count_sent_failed_bounced_and_suppressed_mail_over_the_last_hour_and_day(
    smtp_sink, client, time_machine
):
    bounced = sent_to("lin@bounce.example", smtp_sink)
    assert bounces.record_bounce(raw=bounce_of("postfix-remote-550.eml", bounced.message_id))
    user = UserFactory()
    record(user, status=Status.FAILED)
    record(user, status=Status.SUPPRESSED, created_at=time_machine.now - timedelta(hours=3))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    body = client.get("/health/mail/").json()
    page = client.get("/admin/verification/outboundemail/").content.decode()

    assert body["last_hour"] == {"sent": 1, "failed": 1, "bounced": 1, "suppressed": 0}
    assert body["last_day"] == {"sent": 1, "failed": 1, "bounced": 1, "suppressed": 1}
    assert "<strong>1</strong> bounced" in page


def test_the_first_poll_of_a_box_starts_two_days_back(imap_box, smtp_sink):
    email = sent_to("lin@bounce.example", smtp_sink)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    imap_box.append("INBOX", b"Subject: an old letter\r\n\r\nhello\r\n", msg_time=long_ago)
    imap_box.append("INBOX", bounce_of("postfix-remote-550.eml", email.message_id))

    assert bounces.poll_bounce_mailbox() == {"read": 1, "bounces": 1}
