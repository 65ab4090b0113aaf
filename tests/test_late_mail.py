"""A late mail still works (issue 22): after "send again", the code of the mail before stays
valid until it expires, and a third code kills the first. The live codes share the tries of the
last one asked, so no more guesses are taken than before. docs/security.md, "Guessing codes"."""

import itertools
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from accounts.vocabulary import Purpose
from tests.api_client import ApiClient, error_codes
from tests.factories import PASSWORD
from tests.helpers import mailed_code, wrong_code
from verification.models import OneTimeSecret

NEW_PASSWORD = "a-brand-new-passphrase-42"
NEW_ADDRESS = "new-address@example.org"
client_addresses = (f"203.0.113.{n % 250}" for n in itertools.count(1))


def browser():
    return Client(REMOTE_ADDR=next(client_addresses))


@dataclass(frozen=True)
class Flow:
    """A code flow as its pages drive it: `ask` mails a code (again, when `again`) and returns
    it; `enter` posts a code; a right one answers with a redirect to `done`."""

    name: str
    purpose: str

    def start(self, client, user):
        if self.purpose == Purpose.EMAIL_CHANGE:
            client.force_login(user)

    def ask(self, client, deliver, mailoutbox, user, *, again=False):
        if self.purpose == Purpose.PASSWORD_RESET:
            deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
        elif self.purpose == Purpose.LOGIN:
            deliver(client.post, reverse("accounts:login_code_request"), {"email": user.email})
        elif again:
            deliver(client.post, reverse("accounts:email_change_resend"))
        else:
            form = {"new_email": NEW_ADDRESS, "current_password": PASSWORD}
            deliver(client.post, reverse("accounts:email_change"), form)
        return mailed_code(mailoutbox[-1])

    def enter(self, client, user, code):
        if self.purpose == Purpose.PASSWORD_RESET:
            form = {"email": user.email, "code": code, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
            return client.post(reverse("accounts:password_reset_confirm"), form)
        if self.purpose == Purpose.LOGIN:
            return client.post(reverse("accounts:login_code"), {"email": user.email, "code": code})
        return client.post(reverse("accounts:email_change_code"), {"code": code})

    def done(self, user):
        user.refresh_from_db()
        if self.purpose == Purpose.PASSWORD_RESET:
            return user.check_password(NEW_PASSWORD)
        if self.purpose == Purpose.LOGIN:
            return user.last_login is not None
        return user.email == NEW_ADDRESS


FLOWS = [
    Flow("reset", Purpose.PASSWORD_RESET),
    Flow("sign-in code", Purpose.LOGIN),
    Flow("address change", Purpose.EMAIL_CHANGE),
]
by_flow = pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.name)


def ask_twice(flow, client, user, deliver, mailoutbox, time_machine):
    """The first code, then "send again" past the cooldown: both codes, as mailed."""
    flow.start(client, user)
    first = flow.ask(client, deliver, mailoutbox, user)
    time_machine.advance(seconds=61)
    second = flow.ask(client, deliver, mailoutbox, user, again=True)
    assert first != second  # one chance in a million that they are equal: run again
    return first, second


def error_code(response):
    return response.context["form"].errors.as_data()["code"][0].code


def states(flow):
    return [row.state for row in OneTimeSecret.objects.filter(purpose=flow.purpose).order_by("created_at")]


@by_flow
def test_the_code_of_the_mail_before_still_works_after_send_again(
    flow, user, deliver, mailoutbox, time_machine
):
    client = browser()
    first, _second = ask_twice(flow, client, user, deliver, mailoutbox, time_machine)

    response = deliver(flow.enter, client, user, first)

    assert response.status_code == 302 and flow.done(user)


@by_flow
def test_a_third_code_kills_the_first_and_leaves_the_second(flow, user, deliver, mailoutbox, time_machine):
    client = browser()
    first, second = ask_twice(flow, client, user, deliver, mailoutbox, time_machine)
    time_machine.advance(seconds=61)
    third = flow.ask(client, deliver, mailoutbox, user, again=True)

    assert states(flow) == ["revoked", "active", "active"]
    if first not in (second, third):
        refused = flow.enter(client, user, first)
        assert error_code(refused) == "wrong_code" and not flow.done(user)
    assert deliver(flow.enter, client, user, second).status_code == 302 and flow.done(user)


@by_flow
def test_a_right_code_spends_both_live_codes(flow, user, deliver, mailoutbox, time_machine):
    client = browser()
    first, second = ask_twice(flow, client, user, deliver, mailoutbox, time_machine)

    assert deliver(flow.enter, client, user, second).status_code == 302

    assert states(flow) == ["used", "used"]
    # Refused (the address change's page is the signed-in person's own).
    again = client if flow.purpose == Purpose.EMAIL_CHANGE else browser()
    assert flow.enter(again, user, first).status_code == 200


@by_flow
def test_wrong_guesses_at_either_code_spend_the_one_budget_of_the_last(
    flow, user, deliver, mailoutbox, time_machine
):
    client = browser()
    first, second = ask_twice(flow, client, user, deliver, mailoutbox, time_machine)
    answers = [flow.enter(client, user, wrong_code(code)) for code in (first, second, first, second)]

    # Counted once each, on the last code's row: four wrong guesses, one try left for both.
    assert ["1 try left" in a.content.decode() for a in answers] == [False, False, False, True]
    older, last = OneTimeSecret.objects.filter(purpose=flow.purpose).order_by("created_at")
    assert (older.attempts, last.attempts) == (0, 4)
    # The guess that takes the last try may be right, with either code.
    assert deliver(flow.enter, client, user, first).status_code == 302 and flow.done(user)


@by_flow
def test_past_the_last_codes_tries_neither_code_works(flow, user, deliver, mailoutbox, time_machine):
    client = browser()
    first, second = ask_twice(flow, client, user, deliver, mailoutbox, time_machine)
    for _ in range(5):
        flow.enter(client, user, wrong_code(second))

    assert error_code(flow.enter(client, user, first)) == "dead_code"
    assert error_code(flow.enter(client, user, second)) == "dead_code"
    assert not flow.done(user)
    assert OneTimeSecret.objects.order_by("created_at").last().attempts == 5


def test_strangers_guesses_at_either_code_spend_the_others_tries_of_the_last(
    user, deliver, mailoutbox, time_machine
):
    reset = FLOWS[0]
    owner = browser()
    first, second = ask_twice(reset, owner, user, deliver, mailoutbox, time_machine)
    for code in (first, second, first, second, first):
        assert error_code(reset.enter(browser(), user, wrong_code(code))) == "code_refused"

    assert error_code(reset.enter(browser(), user, first)) == "code_refused"  # their tries are spent
    older, last = OneTimeSecret.objects.order_by("created_at")
    assert (older.other_attempts, last.other_attempts) == (0, 5)
    # The owner's own tries are untouched, for either code.
    assert deliver(reset.enter, owner, user, first).status_code == 302 and reset.done(user)


# The JSON API drives the same services: the same guarantees.


@pytest.mark.parametrize(
    ("ask", "confirm"),
    [("/password-reset", "/password-reset/confirm"), ("/sign-in-code", "/sign-in-code/confirm")],
    ids=["reset", "sign-in code"],
)
def test_through_the_api_the_code_of_the_mail_before_still_works(
    ask, confirm, user, deliver, mailoutbox, time_machine
):
    app = ApiClient(app=True)
    deliver(app.post, ask, {"email": user.email})
    first = mailed_code(mailoutbox[-1])
    time_machine.advance(seconds=61)
    request = deliver(app.post, ask, {"email": user.email}).json()["request"]
    body = {"email": user.email, "request": request, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    wrong = app.post(confirm, {**body, "code": wrong_code(first)})
    assert wrong.json()["errors"][0]["tries_left"] == 4
    assert app.post(confirm, {**body, "code": first}).status_code in (200, 204)
    assert app.post(confirm, {**body, "code": mailed_code(mailoutbox[1])}).status_code == 400


def test_through_the_api_the_first_address_change_code_still_works(user, deliver, mailoutbox, time_machine):
    app = ApiClient(app=True)
    assert app.post("/session", {"username": user.username, "password": PASSWORD}).status_code == 200
    deliver(app.post, "/account/email", {"new_email": NEW_ADDRESS, "current_password": PASSWORD})
    first = mailed_code(mailoutbox[-1])
    time_machine.advance(seconds=61)
    assert deliver(app.post, "/account/email/resend").status_code == 202
    second = mailed_code(mailoutbox[-1])
    assert first != second

    wrong = app.post("/account/email/confirm", {"code": wrong_code(first)})
    assert error_codes(wrong) == [("code", "wrong_code")] and wrong.json()["errors"][0]["tries_left"] == 4
    moved = deliver(app.post, "/account/email/confirm", {"code": first})
    assert moved.status_code == 200 and moved.json()["user"]["email"] == NEW_ADDRESS


def test_an_address_change_code_proves_only_the_address_it_was_mailed_to(
    user, deliver, mailoutbox, time_machine
):
    client = browser()
    client.force_login(user)
    deliver(
        client.post,
        reverse("accounts:email_change"),
        {"new_email": NEW_ADDRESS, "current_password": PASSWORD},
    )
    to_the_first = mailed_code(mailoutbox[-1])
    time_machine.advance(seconds=61)
    other = "other-address@example.org"
    deliver(client.post, reverse("accounts:email_change"), {"new_email": other, "current_password": PASSWORD})

    refused = client.post(reverse("accounts:email_change_code"), {"code": to_the_first})

    assert error_code(refused) == "wrong_code"
    user.refresh_from_db()
    assert user.email not in (NEW_ADDRESS, other)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "the newest code is surest"),
        ("zh-hans", "以最新一封中的验证码为准"),
        ("zh-hant", "以最新一封中的驗證碼為準"),
    ],
)
def test_every_code_page_says_the_newest_code_is_surest_and_the_one_before_still_works(
    user, deliver, language, words
):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    form = {"new_email": NEW_ADDRESS, "current_password": PASSWORD}
    deliver(client.post, reverse("accounts:email_change"), form)
    pages = ["accounts:password_reset_confirm", "accounts:login_code", "accounts:email_change_code"]

    for page in pages:
        assert words in client.get(reverse(page)).content.decode(), page


def test_a_code_revoked_while_its_guess_is_weighed_spends_nothing(user, monkeypatch):
    # A third code asked between the read of the live codes and their use kills the first:
    # the right guess at it then proves nothing, and the last code stays as it was.
    from tests import helpers
    from verification import tokens

    first = helpers.issue_code(user=user, purpose=Purpose.PASSWORD_RESET)
    helpers.issue_code(user=user, purpose=Purpose.PASSWORD_RESET)
    live_codes = tokens._live_codes

    def then_a_third_is_asked(challenge):
        live = live_codes(challenge)
        OneTimeSecret.objects.exclude(pk=challenge.pk).update(revoked_at=challenge.created_at)
        return live

    monkeypatch.setattr(tokens, "_live_codes", then_a_third_is_asked)

    with pytest.raises(tokens.InvalidCode, match="dead"):
        helpers.guess(user=user, purpose=Purpose.PASSWORD_RESET, code=first)
    assert [row.state for row in OneTimeSecret.objects.order_by("created_at")] == ["revoked", "active"]


@pytest.mark.parametrize("flow", FLOWS[:2], ids=lambda flow: flow.name)
def test_a_code_someone_else_asks_after_the_owner_cannot_spend_the_owners_tries(
    flow, user, deliver, mailoutbox, time_machine
):
    # An attacker helper asked for a code a minute after the owner, then spent that last
    # code's tries from browsers that asked for nothing: the owner's right code was refused.
    owner = browser()
    own = flow.ask(owner, deliver, mailoutbox, user)
    time_machine.advance(seconds=61)
    flow.ask(browser(), deliver, mailoutbox, user)
    for _ in range(5):
        flow.enter(browser(), user, wrong_code(own))

    assert deliver(flow.enter, owner, user, own).status_code == 302 and flow.done(user)
