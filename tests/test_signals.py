"""Signals for integrators (issue 23; docs/engine.md): each is sent once, after commit, with its
arguments, from the services and the worker; a receiver that raises is logged and breaks
neither the flow nor the worker."""

import logging

import pytest
from django.dispatch import Signal

from accounts import email_change, services, signals
from accounts.models import EmailChange, User, email_change_code_key
from accounts.vocabulary import Purpose
from harness.processes import ROOT
from tests.factories import PASSWORD
from tests.helpers import issue_code
from tests.test_bounces import bounce_of, sent_to
from tests.test_outbox import record
from verification import bounces, delivery, tokens
from verification import signals as engine_signals
from verification.models import OutboundEmail

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"
NEW_PASSWORD = "another-long-and-unusual-passphrase"


def listen(module, names):
    """What each of `module`'s signals `names` was sent, as (name, arguments) in order."""
    sent = []
    receivers = []
    for name in names:

        def receiver(sender, signal, name=name, **arguments):
            sent.append((name, arguments))

        getattr(module, name).connect(receiver, weak=False)
        receivers.append((getattr(module, name), receiver))
    yield sent
    for signal, receiver in receivers:
        signal.disconnect(receiver)


@pytest.fixture
def heard():
    """The app's signals (the mail the flows queue is delivered inline, and not heard here)."""
    yield from listen(
        signals,
        ["user_signed_up", "address_proven", "password_reset", "password_changed",
         "email_changed", "email_change_undone", "signed_in_by_code"],
    )  # fmt: skip


@pytest.fixture
def mail_heard():
    yield from listen(engine_signals, ["mail_sent", "mail_failed", "mail_bounced"])


def names(sent):
    return [name for name, _ in sent]


def test_a_sign_up_is_heard_after_commit_and_not_before(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.register_user(username="ada", email="ada@example.com", password=PASSWORD, client_ip=IP)
    assert heard == []

    for callback in callbacks:
        callback()

    assert [(name, arguments["user"].username) for name, arguments in heard] == [("user_signed_up", "ada")]


def test_an_activation_proves_the_address(heard, new_user, django_capture_on_commit_callbacks):
    token = tokens.issue_link_token(purpose=Purpose.ACTIVATION, user=new_user)

    with django_capture_on_commit_callbacks(execute=True):
        services.activate_account(token=token, password=PASSWORD, client_ip=IP)

    assert heard == [("address_proven", {"user": new_user, "how": "activation"})]


def test_a_reset_proves_the_address_and_changes_the_password(heard, user, django_capture_on_commit_callbacks):
    code = issue_code(user=user, purpose=Purpose.PASSWORD_RESET)

    with django_capture_on_commit_callbacks(execute=True):
        services.reset_password_with_code(email=user.email, code=code, password=NEW_PASSWORD, client_ip=IP)

    assert names(heard) == ["password_changed", "address_proven", "password_reset"]
    assert heard[1][1]["how"] == "reset" and all(arguments["user"] == user for _, arguments in heard)


def test_a_signed_in_password_change_is_heard_as_a_change_only(
    heard, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.set_new_password(user=user, password=NEW_PASSWORD)

    assert heard == [("password_changed", {"user": user})]


def test_a_sign_in_by_code_proves_the_address(heard, user, django_capture_on_commit_callbacks):
    code = issue_code(user=user, purpose=Purpose.LOGIN)

    with django_capture_on_commit_callbacks(execute=True):
        services.sign_in_with_code(email=user.email, code=code, client_ip=IP)

    assert heard == [
        ("address_proven", {"user": user, "how": "sign_in_code"}),
        ("signed_in_by_code", {"user": user}),
    ]


def test_a_wrong_code_is_heard_of_by_nobody(heard, user, django_capture_on_commit_callbacks):
    issue_code(user=user, purpose=Purpose.LOGIN)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(tokens.InvalidCode):
        services.sign_in_with_code(email=user.email, code="000000", client_ip=IP)

    assert heard == []


def change_address(user, new_email):
    email_change.request_email_change(user=user, new_email=new_email, client_ip=IP)
    change = user.email_changes.pending().get()
    challenge = tokens.open_code_challenge(
        address=email_change_code_key(change), purpose=Purpose.EMAIL_CHANGE, user=user
    )
    code = tokens.write_code(secret=challenge, bound_to=new_email)
    return email_change.confirm_email_change(user=user, code=code, client_ip=IP)


def test_an_address_change_and_its_undo_are_heard_with_both_addresses(
    heard, user, django_capture_on_commit_callbacks
):
    old_email = user.email
    with django_capture_on_commit_callbacks(execute=True):
        change = change_address(user, "new@example.org")
    assert heard == [
        ("address_proven", {"user": user, "how": "change"}),
        ("email_changed", {"user": user, "old_email": old_email, "new_email": "new@example.org"}),
    ]
    heard.clear()
    token = tokens.issue_link_token(
        user=user, purpose=Purpose.EMAIL_CHANGE_UNDO, bound_to=str(change.public_id)
    )

    with django_capture_on_commit_callbacks(execute=True):
        email_change.undo_email_change(token=token, password=NEW_PASSWORD)

    [(name, arguments)] = heard
    assert name == "email_change_undone" and arguments["user"].pk == user.pk
    assert (arguments["restored_email"], arguments["replaced_email"]) == (old_email, "new@example.org")
    assert EmailChange.objects.get().undone_at is not None


def test_a_receiver_that_raises_is_logged_and_the_sign_in_goes_on(
    user, caplog, django_capture_on_commit_callbacks
):
    def broken(sender, **arguments):
        raise RuntimeError("the integrator's bug")

    signals.signed_in_by_code.connect(broken)
    code = issue_code(user=user, purpose=Purpose.LOGIN)
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            signed_in = services.sign_in_with_code(email=user.email, code=code, client_ip=IP)
    finally:
        signals.signed_in_by_code.disconnect(broken)

    assert signed_in == user
    [logged] = [r for r in caplog.records if r.name == "django.dispatch"]
    assert logged.levelno == logging.ERROR and "the integrator's bug" in logged.getMessage()
    assert User.objects.get(pk=user.pk).email_verified_at is not None


def test_the_worker_tells_of_each_mail_it_sent(
    mail_heard, user, smtp_sink, django_capture_on_commit_callbacks
):
    email = record(user)

    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver_due_mail()

    [(name, arguments)] = mail_heard
    assert name == "mail_sent" and arguments["email"].pk == email.pk


def test_the_worker_tells_of_a_mail_it_gave_up_on_only(
    mail_heard, user, smtp_sink, time_machine, django_capture_on_commit_callbacks
):
    smtp_sink.refuse_next(1, "451 4.3.0 Try later")
    smtp_sink.refuse_next(1, "550 5.1.1 Mailbox unavailable")
    email = record(user)

    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver_due_mail()  # 451: retried, nobody is told
        assert mail_heard == []
        time_machine.advance(days=1)
        delivery.deliver_due_mail()

    [(name, arguments)] = mail_heard
    assert name == "mail_failed" and arguments["email"].pk == email.pk and "550" in arguments["error"]


def test_a_receiver_that_raises_never_stops_the_worker(
    user, smtp_sink, caplog, django_capture_on_commit_callbacks
):
    def broken(sender, **arguments):
        raise RuntimeError("the integrator's bug")

    engine_signals.mail_sent.connect(broken)
    record(user), record(user)
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            delivery.deliver_due_mail()
    finally:
        engine_signals.mail_sent.disconnect(broken)

    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}
    assert len(smtp_sink.wait_for(2)) == 2
    assert sum("the integrator's bug" in r.getMessage() for r in caplog.records) == 2


def test_a_bounce_is_heard_with_its_address_and_kind(
    mail_heard, smtp_sink, django_capture_on_commit_callbacks
):
    email = sent_to("lin@bounce.example", smtp_sink)

    with django_capture_on_commit_callbacks(execute=True):
        bounces.record_bounce(raw=bounce_of("postfix-remote-550.eml", email.message_id))

    [(name, arguments)] = mail_heard
    assert name == "mail_bounced" and arguments["email"].pk == email.pk
    assert arguments["address"] == "lin@bounce.example" and arguments["permanent"] is True
    assert "550" in arguments["reason"]


def test_every_signal_is_documented_in_docs_engine():
    documented = (ROOT / "docs" / "engine.md").read_text()
    defined = [
        name
        for module in (signals, engine_signals)
        for name, value in vars(module).items()
        if isinstance(value, Signal)
    ]
    assert len(defined) == 10
    assert [name for name in defined if f"| `{name}`" not in documented] == []
