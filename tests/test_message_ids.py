"""Every delivery attempt carries a Message-ID of its own, random from `secrets`, kept so that a
bounce names the attempt it is about (SECURITY.md 27)."""

import random
import re

from tests.test_outbox import record
from verification import delivery
from verification.models import MessageAttempt, OutboundEmail, new_message_id

Status = OutboundEmail.Status


def test_a_retry_carries_a_new_message_id_and_both_are_kept(user, smtp_sink, time_machine):
    smtp_sink.refuse_next(1, "451 4.3.0 Local error")
    email = record(user)

    delivery.deliver_due_mail()
    first = OutboundEmail.objects.get().message_id
    time_machine.advance(seconds=31)
    delivery.deliver_due_mail()

    [message] = smtp_sink.wait_for(1)
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert message["Message-ID"] == email.message_id != first
    attempts = MessageAttempt.objects.filter(email=email).order_by("created_at")
    assert [a.message_id for a in attempts] == [first, email.message_id]
    assert {a.recipient for a in attempts} == {user.email}


def test_a_message_id_is_not_drawn_from_random():
    # make_msgid draws from `random`: with its state replayed, the same id comes again.
    state = random.getstate()
    first = new_message_id()
    random.setstate(state)
    assert new_message_id() != first
    random_part = re.fullmatch(r"<([A-Za-z0-9_-]+)@[^>]+>", first).group(1)
    assert len(random_part) >= 22  # 128 bits or more


def test_every_mail_says_it_is_automatic_and_replies_go_to_the_support_address(user, smtp_sink, settings):
    settings.VERIFICATION_REPLY_TO = "help@verify.example.org"
    record(user)

    delivery.deliver_due_mail()

    [message] = smtp_sink.wait_for(1)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"] == "help@verify.example.org"
