"""The API keeps the pages' guarantees (SECURITY.md 24): request endpoints answer byte for
byte alike for every kind of address, sign-in answers an unknown address like a wrong
password, cookie clients need CSRF and token clients cannot be forged, CORS is an allow-list,
and an app's token is a Django session that dies with everything that ends sessions."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from accounts.tasks import sweep_accounts
from tests.api_client import ApiClient, error_codes, undo_token_in
from tests.factories import PASSWORD
from tests.helpers import mailed_code
from tests.test_enumeration import ADDRESS_STATES, addresses, statement_shapes  # noqa: F401  (a fixture)

NEW_PASSWORD = "another-long-passphrase-99"
REQUESTS = ["/password-reset", "/activation/resend", "/sign-in-code"]


def comparable(response, email):
    """What a watcher sees (tests/test_enumeration.py `comparable`), minus the signed note of
    the code asked for, which names the typed address and the code's row."""
    body = response.content.replace(email.encode(), b"EMAIL")
    body = re.sub(rb'"request": "[^"]*"', b'"request": "SIGNED"', body)
    varying = {"set-cookie", "expires", "content-length"}
    headers = {k: v for k, v in response.headers.items() if k.lower() not in varying}
    return response.status_code, headers, sorted(response.cookies), body


@pytest.mark.parametrize("app", [False, True], ids=["cookie", "token"])
@pytest.mark.parametrize("path", REQUESTS)
def test_request_endpoints_answer_byte_for_byte_alike_for_every_kind_of_address(
    path,
    app,
    addresses,  # noqa: F811
    deliver,
):
    answers = {
        state: comparable(
            deliver(ApiClient(app=app).post, path, {"email": addresses[state]}), addresses[state]
        )
        for state in ADDRESS_STATES
    }

    assert answers["active"][0] == 202
    assert answers["active"] == answers["awaiting_activation"] == answers["deactivated"] == answers["unknown"]


@pytest.mark.parametrize("path", REQUESTS)
def test_request_endpoints_do_the_same_database_work_for_every_kind_of_address(
    jobs_wait_in_the_queue,
    path,
    addresses,  # noqa: F811
    deliver,
):
    def work(n, email):
        OrmQ.objects.all().delete()  # each request finds the same queue: no job waiting
        app = ApiClient(app=True)
        with CaptureQueriesContext(connection) as done:
            deliver(app.post, path, {"email": email}, REMOTE_ADDR=f"198.51.100.{n}")
        return statement_shapes(done)

    shapes = {state: work(n, addresses[state]) for n, state in enumerate(ADDRESS_STATES)}

    assert any(query.startswith('INSERT INTO "verification_outboundemail"') for query in shapes["unknown"])
    for state in ADDRESS_STATES:
        assert shapes[state] == shapes["unknown"], state


def test_the_signed_note_names_only_the_address_typed_and_the_code_asked(user, deliver):
    note = deliver(ApiClient().post, "/password-reset", {"email": user.email}).json()["request"]
    email, code_id = signing.loads(note, salt="accounts.api.password_reset.request")

    assert email == user.email and code_id


def test_an_address_without_an_account_reads_like_a_wrong_password_byte_for_byte(user):
    def sign_in(login):
        answer = ApiClient().post("/session", {"username": login, "password": "not-the-password"})
        return comparable(answer, login)

    assert sign_in("nobody@example.com") == sign_in(user.email) == sign_in(user.username)
    assert sign_in("nobody@example.com")[0] == 400


def test_the_sign_in_page_takes_the_address_too_and_reads_alike(user):
    def sign_in(login, password):
        return Client().post("/accounts/login/", {"username": login, "password": password})

    assert sign_in(user.email.upper(), PASSWORD).status_code == 302
    page = sign_in("nobody@example.com", "x").content.decode()
    assert "Username or email" in page
    wrong = re.sub(r'value="[^"]*"', "", sign_in(user.email, "x").content.decode())
    assert re.sub(r'value="[^"]*"', "", page) == wrong


def test_cookie_clients_need_the_csrf_token(user):
    browser = ApiClient(enforce_csrf_checks=True)
    refused = browser.post("/session", {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 403 and error_codes(refused) == [(None, "csrf_failed")]

    token = browser.get("/csrf").json()["csrf_token"]
    answer = browser.post(
        "/session", {"username": user.username, "password": PASSWORD}, HTTP_X_CSRFTOKEN=token
    )
    assert answer.status_code == 200
    assert browser.delete("/session").status_code == 403  # a new CSRF token came with the sign-in
    assert browser.get("/session").status_code == 200


def test_token_clients_need_no_csrf_and_ignore_cookies(user):
    browser = ApiClient(enforce_csrf_checks=True)
    browser.post(
        "/session",
        {"username": user.username, "password": PASSWORD},
        HTTP_X_CSRFTOKEN=browser.get("/csrf").json()["csrf_token"],
    )

    # A request with the header never reads the cookie: a signed-in browser's session cookie,
    # sent along with it, signs nothing in (so the header cannot be used to skip CSRF).
    riding = browser.get("/session", HTTP_X_SESSION_TOKEN="")
    assert riding.status_code == 401
    app = ApiClient(app=True, enforce_csrf_checks=True)
    assert app.post("/session", {"username": user.username, "password": PASSWORD}).status_code == 200
    assert app.get("/session").status_code == 200


def test_cors_is_an_allow_list_with_credentials_never_star(settings, db):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = ApiClient().call(
        "options",
        "/config",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-session-token, content-type",
    )
    other = ApiClient().get("/config", HTTP_ORIGIN="https://evil.example.net")

    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    assert "x-session-token" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Origin" not in Client().get(
        "/accounts/login/", HTTP_ORIGIN="https://app.example.com"
    )


def test_cors_is_off_by_default(db):
    answer = ApiClient().get("/config", HTTP_ORIGIN="https://app.example.com")

    assert "Access-Control-Allow-Origin" not in answer


def signed_in_app(user, password=PASSWORD):
    app = ApiClient(app=True)
    assert app.post("/session", {"username": user.username, "password": password}).status_code == 200
    return app


def reset_by_code(user, deliver, mailoutbox):
    deliver(ApiClient().post, "/password-reset", {"email": user.email})
    body = {
        "email": user.email,
        "code": mailed_code(mailoutbox[-1]),
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    assert ApiClient().post("/password-reset/confirm", body).status_code == 204


def change_address(user, deliver, mailoutbox):
    changer = signed_in_app(user)
    deliver(changer.post, "/account/email", {"new_email": "moved@example.org", "current_password": PASSWORD})
    assert (
        deliver(changer.post, "/account/email/confirm", {"code": mailed_code(mailoutbox[-1])}).status_code
        == 200
    )


def undo_change(user, deliver, mailoutbox):
    change_address(user, deliver, mailoutbox)
    notice = next(m for m in mailoutbox if m.to == [user.email])
    token = undo_token_in(notice.body)
    body = {"token": token, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert ApiClient(app=True).post("/account/email/undo", body).status_code == 200


def change_password(user, deliver, mailoutbox):
    body = {"current_password": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert signed_in_app(user).post("/account/password", body).status_code == 200


def raise_the_epoch(user, deliver, mailoutbox):
    get_user_model().objects.filter(pk=user.pk).update(session_epoch=user.session_epoch + 5)


@pytest.mark.parametrize(
    "event", [reset_by_code, change_address, undo_change, change_password, raise_the_epoch]
)
def test_every_event_that_ends_sessions_ends_an_apps_token(event, user, deliver, mailoutbox):
    app = signed_in_app(user)

    event(user, deliver, mailoutbox)

    assert app.get("/session").status_code == 401


def test_the_hourly_sweep_clears_expired_tokens(user, settings):
    from django.contrib.sessions.models import Session

    settings.SESSION_COOKIE_AGE = -1  # expired as soon as it is saved
    signed_in_app(user)
    assert Session.objects.exists()

    sweep_accounts()

    assert not Session.objects.exists()


def test_a_token_client_gets_no_cookie_even_on_sign_in(user):
    answer = ApiClient(app=True).post("/session", {"username": user.username, "password": PASSWORD})

    assert not answer.cookies
    assert "X-Session-Token" in answer["Vary"]


def test_an_api_answer_is_never_cached(db):
    assert "no-store" in ApiClient().get("/config")["Cache-Control"]
    assert json.loads(ApiClient().get("/config").content)["code_length"] == 6


def test_the_token_header_means_nothing_outside_the_api(user):
    browser = Client(enforce_csrf_checks=True)
    posted = browser.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, HTTP_X_SESSION_TOKEN=""
    )

    assert posted.status_code == 403  # the pages' CSRF check still holds


def test_an_address_changes_countdown_is_the_clients_own_not_the_new_addresss(
    user, deliver, mailoutbox, time_machine
):
    # Found by an attacker helper: the countdown was the new address's allowance, which any
    # signed-in client could poll to see when someone asked for mail to it.
    busy, quiet = "watched@example.org", "quiet@example.org"
    for tag in range(4):  # anyone's requests for the inbox, mailing nobody (no account there)
        deliver(ApiClient(app=True).post, "/password-reset", {"email": f"watched+{tag}@example.org"})
        time_machine.advance(seconds=61)  # past the inbox's cooldown

    def countdowns(new_email):
        client = ApiClient(app=True)
        client.post("/session", {"username": user.username, "password": PASSWORD})
        asked = deliver(client.post, "/account/email", {"new_email": new_email, "current_password": PASSWORD})
        return asked.json()["resend_after"], client.get("/account").json()["pending_change"]["resend_after"]

    assert countdowns(busy) == countdowns(quiet)


def test_a_session_token_that_is_no_key_at_all_is_no_session(db):
    answer = ApiClient(app=True).get("/session", HTTP_X_SESSION_TOKEN="abcdefgh\x00ijklmnop")

    assert answer.status_code == 401  # not signed in, like any client without a session
