"""SECURITY.md 4, and the outbox's claims, under real parallelism: threads with their own
connections, real commits.

SQLite runs one writer at a time, so these only prove something on PostgreSQL; bin/test runs
the suite a second time there when a server is reachable.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from accounts.vocabulary import Purpose
from tests import helpers
from tests.factories import PASSWORD, UserFactory
from tests.helpers import wrong_code
from verification import delivery, ratelimit, tokens
from verification.models import FailedGuesses, OneTimeSecret, OutboundEmail

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: bin/test runs it in its PostgreSQL pass (DATABASE_URL=postgres://...)",
    ),
]


def in_parallel(count, call):
    """Run `call()` in `count` threads released at once; return what each returned or raised."""
    start = threading.Barrier(count)

    def run(_):
        try:
            start.wait()
            return call()
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def guess(user, code):
    def call():
        helpers.guess(user=user, purpose=Purpose.PASSWORD_RESET, code=code)
        return "ok"

    return call


def test_twenty_parallel_wrong_guesses_count_at_most_five_and_kill_the_code():
    user = UserFactory()
    code = helpers.issue_code(user=user, purpose=Purpose.PASSWORD_RESET)
    wrong = wrong_code(code)

    results = in_parallel(20, guess(user, wrong))

    assert all(isinstance(r, tokens.InvalidCode) for r in results)
    assert OneTimeSecret.objects.get().attempts == 5
    with pytest.raises(tokens.InvalidCode):
        guess(user, code)()


def test_of_two_parallel_right_guesses_exactly_one_succeeds():
    user = UserFactory()
    code = helpers.issue_code(user=user, purpose=Purpose.PASSWORD_RESET)

    results = in_parallel(2, guess(user, code))

    assert results.count("ok") == 1
    assert OneTimeSecret.objects.get().state == "used"


def guesses_of_each(user, codes, purpose=Purpose.PASSWORD_RESET):
    """One call per code, for in_parallel: each thread guesses its own."""
    pending = iter(codes)
    lock = threading.Lock()

    def call():
        with lock:
            code = next(pending)
        helpers.guess(user=user, purpose=purpose, code=code)
        return "ok"

    return call


def test_of_parallel_right_guesses_at_both_live_codes_exactly_one_succeeds_and_spends_both(monkeypatch):
    # Issue 22: the code of the mail before stays live after "send again"; one use for both.
    user = UserFactory()
    codes = [helpers.issue_code(user=user, purpose=Purpose.PASSWORD_RESET) for _ in range(2)]
    both_matched = threading.Barrier(2)
    use_up = tokens._use_up

    def once_both_matched(challenge, matched):  # each guess has found its code right
        both_matched.wait(timeout=10)
        return use_up(challenge, matched)

    monkeypatch.setattr(tokens, "_use_up", once_both_matched)

    results = in_parallel(2, guesses_of_each(user, codes))

    assert results.count("ok") == 1
    assert [row.state for row in OneTimeSecret.objects.all()] == ["used", "used"]


def test_of_two_parallel_activations_exactly_one_succeeds():
    from accounts.services import activate_account

    user = UserFactory(awaiting_activation=True)
    token = tokens.issue_link_token(purpose=Purpose.ACTIVATION, user=user)

    results = in_parallel(
        2, lambda: activate_account(token=token, password=PASSWORD, client_ip="198.51.100.1")
    )

    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert [r.reason for r in results if isinstance(r, tokens.InvalidLink)] == ["used"]


def test_parallel_requests_never_pass_a_rate_limit(settings):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 5

    results = in_parallel(20, lambda: ratelimit.hit(ratelimit.Scope.REQUEST_FROM_CLIENT, "203.0.113.5"))

    assert results.count(0) == 5


def test_parallel_jobs_draining_one_outbox_send_every_mail_once(
    jobs_wait_in_the_queue, mailoutbox, monkeypatch
):
    OutboundEmail.objects.bulk_create(
        OutboundEmail(user=user, kind="password_changed") for user in UserFactory.create_batch(200)
    )

    results = in_parallel(6, delivery.deliver_due_mail)

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(m.extra_headers["Message-ID"] for m in mailoutbox) == sorted(
        OutboundEmail.objects.values_list("message_id", flat=True)
    )
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_parallel_jobs_close_mail_without_a_recipient_once_and_send_the_rest(
    jobs_wait_in_the_queue, mailoutbox
):
    users = UserFactory.create_batch(50)
    OutboundEmail.objects.bulk_create(
        OutboundEmail(user=user, kind=kind)
        for user in users
        for kind in ["password_changed", "password_reset"]
    )
    OutboundEmail.objects.bulk_create(OutboundEmail(user=None, kind="password_reset") for _ in range(300))

    results = in_parallel(6, delivery.deliver_due_mail)

    assert not [r for r in results if isinstance(r, Exception)]
    assert len(mailoutbox) == 100
    assert OutboundEmail.objects.filter(status="no_recipient", attempts=0).count() == 300


def parallel_sign_ups(*forms):
    """POST each sign-up form in its own thread at once; return the responses' status codes."""
    from django.test import Client
    from django.urls import reverse

    pending = iter(forms)
    lock = threading.Lock()

    def post():
        with lock:
            form = next(pending)
        data = {
            **form,
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        }
        return Client().post(reverse("accounts:signup"), data).status_code

    return in_parallel(len(forms), post)


def test_two_parallel_sign_ups_for_one_username_make_one_account_and_a_form_error(mailoutbox):
    from accounts.models import User

    results = parallel_sign_ups(
        {"username": "ada", "email": "first@example.com"},
        {"username": "ada", "email": "second@example.com"},
    )

    assert sorted(results) == [200, 302]  # the loser sees "That username is taken", not a 500
    assert User.objects.filter(username="ada").count() == 1


def test_two_parallel_sign_ups_for_one_username_in_two_cases_make_one_account(mailoutbox, monkeypatch):
    from django.contrib.auth.hashers import make_password

    from accounts import services as account_services
    from accounts.models import User

    both_checked_the_form = threading.Barrier(2)

    def hash_once_both_checked(raw):
        both_checked_the_form.wait(timeout=10)
        return make_password(raw)

    monkeypatch.setattr(account_services, "make_password", hash_once_both_checked)
    results = parallel_sign_ups(
        {"username": "ζας", "email": "first@example.com"},
        {"username": "ΖΑΣ", "email": "second@example.com"},
    )

    assert sorted(results) == [200, 302]
    assert User.objects.with_username("ζασ").count() == 1


def test_two_parallel_sign_ups_for_one_address_make_one_account(mailoutbox):
    from accounts.models import User

    results = parallel_sign_ups(
        {"username": "first", "email": "ada@example.com"},
        {"username": "second", "email": "ada@example.com"},
    )

    assert results == [302, 302]
    assert User.objects.filter(email="ada@example.com").count() == 1


def test_two_parallel_right_sign_in_codes_give_exactly_one_session(mailoutbox):
    from django.contrib.sessions.models import Session
    from django.test import Client
    from django.urls import reverse

    from accounts.services import request_sign_in_code
    from tests.helpers import mailed_code

    user = UserFactory()
    request_sign_in_code(email=user.email, client_ip="198.51.100.1")  # commits; the job runs
    code = mailed_code(mailoutbox[-1])

    results = in_parallel(
        2,
        lambda: (
            Client().post(reverse("accounts:login_code"), {"email": user.email, "code": code}).status_code
        ),
    )

    assert sorted(results) == [200, 302]
    signed_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    assert len(signed_in) == 1


def test_two_parallel_sign_ins_with_the_codes_of_both_mails_give_exactly_one_session(mailoutbox, settings):
    from django.contrib.sessions.models import Session
    from django.test import Client
    from django.urls import reverse

    from accounts.services import request_sign_in_code
    from tests.helpers import mailed_code

    settings.VERIFICATION_MAIL_COOLDOWN = 0  # "send again" at once
    user = UserFactory()
    for _ in range(2):
        request_sign_in_code(email=user.email, client_ip="198.51.100.1")
    pending = iter(mailed_code(mail) for mail in mailoutbox)
    lock = threading.Lock()

    def sign_in():
        with lock:
            code = next(pending)
        return Client().post(reverse("accounts:login_code"), {"email": user.email, "code": code}).status_code

    results = in_parallel(2, sign_in)

    assert sorted(results) == [200, 302]
    signed_in = [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    assert len(signed_in) == 1
    assert [row.state for row in OneTimeSecret.objects.all()] == ["used", "used"]


def test_two_parallel_changes_to_one_address_give_it_to_exactly_one_account(mailoutbox, settings):
    from accounts import email_change
    from accounts.models import User
    from tests.helpers import mailed_code

    settings.VERIFICATION_MAIL_COOLDOWN = 0  # both codes go out, to one address
    movers = UserFactory.create_batch(2)
    codes = []
    for mover in movers:
        email_change.request_email_change(
            user=mover, new_email="wanted@example.org", client_ip=f"198.51.100.{mover.pk}"
        )
        codes.append(mailed_code(mailoutbox[-1]))
    pending = iter(zip(movers, codes, strict=True))
    lock = threading.Lock()

    def confirm():
        with lock:
            mover, code = next(pending)
        email_change.confirm_email_change(user=mover, code=code, client_ip="198.51.100.9")
        return "moved"

    results = in_parallel(2, confirm)

    assert results.count("moved") == 1
    assert [type(r) for r in results if r != "moved"] == [email_change.AddressTaken]
    assert User.objects.filter(email="wanted@example.org").count() == 1


def checks_of_passwords(monkeypatch):
    """Count the passwords actually checked (the hasher's work), from every thread."""
    from accounts.models import User

    checked = []
    real_check = User.check_password

    def counting_check(self, raw_password):
        checked.append(raw_password)
        return real_check(self, raw_password)

    monkeypatch.setattr(User, "check_password", counting_check)
    return checked


def test_thirty_two_parallel_wrong_passwords_at_sign_in_check_at_most_the_limit(settings, monkeypatch):
    from django.test import Client
    from django.urls import reverse

    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 5
    user = UserFactory()
    checked = checks_of_passwords(monkeypatch)

    in_parallel(
        32,
        lambda: Client(REMOTE_ADDR="203.0.113.80").post(
            reverse("accounts:login"), {"username": user.username, "password": "wrong"}
        ),
    )

    assert len(checked) <= 5


def test_thirty_two_parallel_wrong_current_passwords_check_at_most_the_limit(settings, monkeypatch):
    from accounts.services import verify_password_counting_failures

    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 5
    user = UserFactory()
    checked = checks_of_passwords(monkeypatch)

    in_parallel(
        32, lambda: verify_password_counting_failures(user=user, password="wrong", client_ip="203.0.113.81")
    )

    assert len(checked) <= 5


def test_parallel_wrong_codes_wait_as_if_they_came_one_after_another():
    # Found by an attacker helper: the wait was read before any parallel guess was counted,
    # so a burst went through each wait, and a few bursts closed an address in minutes.
    from accounts import services as account_services

    user = UserFactory()
    account_services.request_password_reset(email=user.email, client_ip="203.0.113.90")
    FailedGuesses.objects.update_or_create(
        address_key=tokens.address_key(user.email), defaults={"count": 10, "last_at": "2000-01-01T00:00Z"}
    )

    def guess():
        account_services.reset_password_with_code(
            email=user.email, code="000000", password="a-brand-new-passphrase", client_ip="203.0.113.91"
        )

    results = in_parallel(20, guess)

    assert sum(isinstance(r, tokens.InvalidCode) for r in results) == 1  # the rest wait
    assert FailedGuesses.objects.get().count == 11
