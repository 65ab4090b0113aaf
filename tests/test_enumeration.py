"""SECURITY.md 9: the answers to reset, resend and sign-up say nothing about which addresses
have accounts, and in what state."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import OrmQ

from accounts.models import EmailChange, User
from tests.factories import UserFactory
from tests.helpers import mailed_code
from verification import clock

ADDRESS_STATES = ["active", "awaiting_activation", "deactivated", "held_for_undo", "unknown"]
REQUESTS = ["accounts:password_reset", "accounts:resend_activation", "accounts:login_code_request"]


@pytest.fixture
def addresses(db):
    return {
        "active": UserFactory().email,
        "awaiting_activation": UserFactory(awaiting_activation=True).email,
        "deactivated": UserFactory(deactivated=True).email,
        "held_for_undo": moved_away_from("held@example.com").old_email,
        "unknown": "nobody@example.com",
    }


def moved_away_from(address):
    """An account moved from `address` a moment ago, whose undo link holds it (issue 19)."""
    now, user = clock.now(), UserFactory()
    return EmailChange.objects.create(
        user=user, old_email=address, new_email=user.email, requested_at=now, completed_at=now
    )


def comparable(response, email):
    """What a watcher sees, minus the per-request CSRF token and session id, the clock
    (Expires) and the address they typed themselves (and so the length)."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"CSRF", response.content)
    body = body.replace(email.encode(), b"EMAIL")
    varying = {"set-cookie", "expires", "content-length"}
    headers = {k: v for k, v in response.headers.items() if k.lower() not in varying}
    return response.status_code, headers, sorted(response.cookies), body


def ask(url_name, email, deliver):
    client = Client()
    posted = deliver(client.post, reverse(url_name), {"email": email})
    followed = client.get(posted.url)
    return comparable(posted, email), comparable(followed, email)


@pytest.mark.parametrize("url_name", REQUESTS)
def test_requests_answer_byte_for_byte_the_same_for_every_kind_of_address(
    url_name, addresses, deliver, time_machine
):
    answers = {state: ask(url_name, addresses[state], deliver) for state in ADDRESS_STATES}

    assert answers["active"] == answers["awaiting_activation"]
    assert answers["active"] == answers["deactivated"]
    assert answers["active"] == answers["unknown"]


def test_signing_up_with_a_taken_address_answers_like_a_new_sign_up(db, deliver, mailoutbox):
    owner = UserFactory(email="taken@example.com")

    def sign_up(username, email):
        client = Client()
        data = {
            "username": username,
            "email": email,
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        }
        posted = deliver(client.post, reverse("accounts:signup"), data)
        return comparable(posted, email), comparable(client.get(posted.url), email)

    moved_away_from("held@example.com")

    assert sign_up("newcomer", "new@example.com") == sign_up("someone", "Taken@Example.com")
    assert sign_up("newcomer2", "new2@example.com") == sign_up("someone2", "held@example.com")
    assert not User.objects.filter(username__in=["someone", "someone2"]).exists()
    assert [m.to for m in mailoutbox] == [
        ["new@example.com"],
        [owner.email],
        ["new2@example.com"],
        ["held@example.com"],
    ]
    assert "already have" in mailoutbox[1].subject and "already have" in mailoutbox[3].subject


def test_a_flood_for_one_address_sends_one_mail_and_the_same_page(user, deliver, mailoutbox, time_machine):
    answers = [ask("accounts:password_reset", user.email, deliver) for _ in range(10)]

    assert all(answer == answers[0] for answer in answers)
    assert len(mailoutbox) == 1


def test_wrong_codes_read_the_same_for_every_kind_of_address(addresses, deliver, time_machine):
    def guesses(email, count, ask_first=True):
        client = Client()
        if ask_first:
            deliver(client.post, reverse("accounts:password_reset"), {"email": email})
        data = {
            "email": email,
            "code": "000000",
            "password1": "a-brand-new-passphrase-42",
            "password2": "a-brand-new-passphrase-42",
        }
        return [
            comparable(client.post(reverse("accounts:password_reset_confirm"), data), email)
            for _ in range(count)
        ]

    answers = {state: guesses(addresses[state], 6) for state in ADDRESS_STATES}
    time_machine.advance(minutes=1)
    fresh = {state: guesses(addresses[state], 1) for state in ADDRESS_STATES}
    time_machine.advance(minutes=11)
    expired = {state: guesses(addresses[state], 1, ask_first=False) for state in ADDRESS_STATES}

    assert b"4 tries left" in answers["unknown"][0][3] and b"Ask for a new one" in answers["unknown"][5][3]
    assert b"4 tries left" in fresh["unknown"][0][3]
    assert b"Ask for a new one" in expired["unknown"][0][3]
    for state in ADDRESS_STATES:
        assert answers[state] == answers["active"], state
        assert fresh[state] == fresh["active"], state
        assert expired[state] == expired["active"], state


def queries_of(url_name, email, deliver, client_ip):
    OrmQ.objects.all().delete()  # each request finds the same queue: no job waiting
    with CaptureQueriesContext(connection) as done:
        deliver(Client(REMOTE_ADDR=client_ip).post, reverse(url_name), {"email": email})
    return statement_shapes(done)


def statement_shapes(done):
    """Which tables are read and written, in which order (the values left out)."""
    return [
        re.sub(r"'[^']*'|\b\d+(\.\d+)?(e[+-]?\d+)?\b|NULL|\"s\d+_x\d+\"", "?", query["sql"])
        for query in done.captured_queries
    ]


@pytest.mark.parametrize("url_name", REQUESTS)
def test_requests_do_the_same_database_work_for_every_kind_of_address(
    jobs_wait_in_the_queue, url_name, addresses, deliver, monkeypatch
):
    work = {
        state: queries_of(url_name, addresses[state], deliver, f"198.51.100.{n}")
        for n, state in enumerate(ADDRESS_STATES)
    }

    assert any(query.startswith('INSERT INTO "verification_outboundemail"') for query in work["unknown"])
    for state in ADDRESS_STATES:
        assert work[state] == work["unknown"], state


@pytest.mark.parametrize("worker", ["running", "stopped until the second guess"])
def test_wrong_codes_read_the_same_whether_or_not_the_worker_has_issued_the_code(
    addresses, django_capture_on_commit_callbacks, worker, time_machine
):
    # The clock stands still: the pages count down the cooldown, and a slow machine would
    # otherwise show 60 s on one and 59 s on another.
    def guesses(email):
        client = Client()
        with django_capture_on_commit_callbacks(execute=False) as jobs:
            client.post(reverse("accounts:password_reset"), {"email": email})
        if worker == "running":
            [job() for job in jobs]
        data = {
            "email": email,
            "code": "000000",
            "password1": "a-brand-new-passphrase-42",
            "password2": "a-brand-new-passphrase-42",
        }
        pages = [comparable(client.post(reverse("accounts:password_reset_confirm"), data), email)]
        [job() for job in jobs if worker != "running"]  # the worker catches up
        pages += [
            comparable(client.post(reverse("accounts:password_reset_confirm"), data), email) for _ in range(5)
        ]
        return pages

    pages = {state: guesses(addresses[state]) for state in ("active", "awaiting_activation", "unknown")}

    assert b"4 tries left" in pages["unknown"][0][3] and b"3 tries left" in pages["unknown"][1][3]
    assert pages["active"] == pages["unknown"]
    assert pages["awaiting_activation"] == pages["unknown"]


def test_a_used_code_reads_like_a_wrong_guess_at_an_unknown_address(
    addresses, deliver, mailoutbox, time_machine
):
    def after_a_reset(email, code=None):
        client = Client()
        deliver(client.post, reverse("accounts:password_reset"), {"email": email})
        data = {
            "email": email,
            "code": code or mailed_code(mailoutbox[-1]),
            "password1": "a-brand-new-passphrase-42",
            "password2": "a-brand-new-passphrase-42",
        }
        first = deliver(client.post, reverse("accounts:password_reset_confirm"), data)
        again = Client().post(reverse("accounts:password_reset_confirm"), data)
        return data["code"], first.status_code, comparable(again, email)

    used_code, reset, account = after_a_reset(addresses["active"])
    _, refused, unknown = after_a_reset(addresses["unknown"], used_code)

    assert (reset, refused) == (302, 200)
    assert account == unknown  # the used code, and a second guess at no code: alike


def test_guesses_with_two_live_codes_read_and_work_the_same_for_every_kind_of_address(
    addresses, deliver, time_machine
):
    # Issue 22: after "send again" two codes are live, and each guess is weighed against both.
    new_password = "a-brand-new-passphrase-42"
    data = {"code": "000000", "password1": new_password, "password2": new_password}

    def after_two_asks(email, client_ip):
        asker = Client(REMOTE_ADDR=client_ip)
        for _ in range(2):
            deliver(asker.post, reverse("accounts:password_reset"), {"email": email})
            time_machine.advance(seconds=61)
        seen = []
        for guesser in (asker, Client(REMOTE_ADDR=client_ip)):
            with CaptureQueriesContext(connection) as done:
                answer = guesser.post(reverse("accounts:password_reset_confirm"), {**data, "email": email})
            seen.append((comparable(answer, email), statement_shapes(done)))
        return seen

    seen = {
        state: after_two_asks(addresses[state], f"198.51.100.{n}") for n, state in enumerate(ADDRESS_STATES)
    }

    assert b"4 tries left" in seen["unknown"][0][0][3]
    for state in ADDRESS_STATES:
        assert seen[state] == seen["unknown"], state
