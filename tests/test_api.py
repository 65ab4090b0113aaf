"""The JSON API (accounts/api/): every flow of the pages, through the pages' forms and
services, answered in JSON with the forms' error codes."""

import pytest
from django.core import mail

from accounts.models import User
from tests.api_client import ApiClient, error_codes, undo_token_in
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activation_path, mailed_code, wrong_code

NEW_PASSWORD = "another-long-passphrase-99"


@pytest.fixture
def app(db):
    return ApiClient(app=True)


def sign_in(client, user, password=PASSWORD):
    answer = client.post("/session", {"username": user.username, "password": password})
    assert answer.status_code == 200, answer.content
    return answer


def test_config_says_which_flows_are_on(client, settings, db):
    settings.VERIFICATION_LOGIN_BY_CODE = False
    answer = ApiClient().get("/config").json()

    assert answer["sign_in_by_code"] is False
    assert answer["code_length"] == 6
    assert answer["session_token_header"] == "X-Session-Token"


def test_sign_up_then_activate_with_the_token_and_the_sign_ups_password(app, deliver, mailoutbox):
    body = {"username": "ada", "email": "Ada@Example.com", "password1": PASSWORD, "password2": PASSWORD}
    answer = deliver(app.post, "/signup", body)
    assert answer.status_code == 202
    assert answer.json() == {"resend_after": 60}
    token = activation_path(mailoutbox[0]).split("/")[-2]

    wrong = app.post("/activation", {"token": token, "password": "not-it"})
    assert wrong.status_code == 400 and error_codes(wrong) == [("password", "wrong_password")]
    activated = app.post("/activation", {"token": token, "password": PASSWORD})
    assert activated.status_code == 200
    assert activated.json()["user"] == {"username": "ada", "email": "ada@example.com"}
    assert app.get("/session").json()["user"]["username"] == "ada"
    used = app.post("/activation", {"token": token, "password": PASSWORD})
    assert error_codes(used) == [("token", "link_used")]
    assert error_codes(app.post("/activation", {"token": "x" * 40, "password": PASSWORD})) == [
        ("token", "link_invalid")
    ]


def test_sign_up_refusals_are_the_forms_codes(db):
    taken = UserFactory(username="ada")
    body = {"username": taken.username, "email": "a@example.com", "password1": "short", "password2": "other"}
    answer = ApiClient().post("/signup", body)

    assert answer.status_code == 400
    assert ("username", "username_taken") in error_codes(answer)
    assert ("password2", "password_mismatch") in error_codes(answer)


def test_a_body_of_the_wrong_shape_is_a_400_in_the_forms_words(db):
    answer = ApiClient(language="zh-hans").post("/password-reset", {"email": 5})
    missing = ApiClient(language="zh-hans").post("/password-reset", {})

    assert answer.status_code == 400 and error_codes(answer) == [("email", "invalid")]
    assert error_codes(missing) == [("email", "required")]
    assert missing.json()["errors"][0]["message"] == "这个字段是必填项。"


def test_resend_activation_mails_an_account_awaiting_activation(new_user, deliver, mailoutbox):
    answer = deliver(ApiClient().post, "/activation/resend", {"email": new_user.email})

    assert answer.status_code == 202
    assert [m.to for m in mailoutbox] == [[new_user.email]]


@pytest.mark.parametrize("login", ["username", "email"])
def test_sign_in_with_a_password_by_username_or_address_and_out(login, user):
    browser = ApiClient()
    answer = browser.post(
        "/session",
        {"username": user.email.upper() if login == "email" else user.username, "password": PASSWORD},
    )

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"user": {"username": user.username, "email": user.email}, "session_token": None}
    assert browser.get("/session").status_code == 200
    assert browser.delete("/session").status_code == 204
    assert browser.get("/session").status_code == 401
    assert error_codes(browser.get("/session")) == [(None, "not_signed_in")]


def test_a_wrong_password_is_the_forms_invalid_login_and_the_throttle_is_a_429(user, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 2
    browser = ApiClient()
    for _ in range(2):
        wrong = browser.post("/session", {"username": user.username, "password": "wrong"})
        assert wrong.status_code == 400 and error_codes(wrong) == [(None, "invalid_login")]
    throttled = browser.post("/session", {"username": user.username, "password": PASSWORD})

    assert throttled.status_code == 429
    assert error_codes(throttled) == [(None, "rate_limited")]
    seconds = throttled.json()["errors"][0]["seconds"]
    assert 0 < seconds <= 3600 and throttled["Retry-After"] == str(seconds)


def test_an_app_signs_in_with_a_token_and_no_cookie(app, user):
    answer = sign_in(app, user)

    token = answer.json()["session_token"]
    assert token and not answer.cookies
    assert (
        ApiClient(app=True).get("/session", HTTP_X_SESSION_TOKEN=token).json()["user"]["username"]
        == user.username
    )
    assert ApiClient(app=True).get("/session", HTTP_X_SESSION_TOKEN="made-up-token").status_code == 401
    assert app.delete("/session").status_code == 204
    assert ApiClient(app=True).get("/session", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_reset_by_code_from_the_client_that_asked(app, user, deliver, mailoutbox):
    asked = deliver(app.post, "/password-reset", {"email": user.email})
    assert asked.status_code == 202
    request, code = asked.json()["request"], mailed_code(mailoutbox[0])
    body = {"email": user.email, "request": request, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    wrong = app.post("/password-reset/confirm", {**body, "code": wrong_code(code)})
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == [
        {
            "code": "wrong_code",
            "field": "code",
            "message": "That code is wrong. 4 tries left.",
            "seconds": None,
            "tries_left": 4,
        }
    ]
    assert app.post("/password-reset/confirm", {**body, "code": code}).status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_wrong_code_from_a_client_that_did_not_ask_gets_the_fixed_answer(user, deliver, mailoutbox):
    deliver(ApiClient().post, "/password-reset", {"email": user.email})
    code = mailed_code(mailoutbox[0])
    body = {"email": user.email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    other = ApiClient(language="zh-hans")
    wrong = other.post("/password-reset/confirm", {**body, "code": wrong_code(code)})
    forged = other.post("/password-reset/confirm", {**body, "code": wrong_code(code), "request": "forged"})
    assert error_codes(wrong) == error_codes(forged) == [("code", "code_refused")]
    assert wrong.json()["errors"][0]["tries_left"] is None
    assert "验证码" in wrong.json()["errors"][0]["message"]
    assert other.post("/password-reset/confirm", {**body, "code": code}).status_code == 204


def test_sign_in_by_code_from_a_second_device(user, deliver, mailoutbox):
    asked = deliver(ApiClient().post, "/sign-in-code", {"email": user.email})
    assert asked.status_code == 202

    app = ApiClient(app=True)
    answer = app.post("/sign-in-code/confirm", {"email": user.email, "code": mailed_code(mailoutbox[0])})
    assert answer.status_code == 200
    assert answer.json()["session_token"]
    assert app.get("/session").status_code == 200


def test_sign_in_by_code_is_a_404_when_the_flow_is_off(settings, user):
    settings.VERIFICATION_LOGIN_BY_CODE = False
    answer = ApiClient().post("/sign-in-code", {"email": user.email})

    assert answer.status_code == 404 and error_codes(answer) == [(None, "flow_off")]
    assert (
        ApiClient().post("/sign-in-code/confirm", {"email": user.email, "code": "123456"}).status_code == 404
    )


def test_the_account_reads_what_it_holds(app, user):
    assert app.get("/account").status_code == 401
    sign_in(app, user)
    answer = app.get("/account").json()

    assert answer["username"] == user.username and answer["email"] == user.email
    assert answer["pending_change"] is None


def test_change_the_address_with_the_code_from_the_new_mailbox_then_undo_it(app, user, deliver, mailoutbox):
    sign_in(app, user)
    old = user.email
    wrong = app.post("/account/email", {"new_email": "new@example.org", "current_password": "wrong"})
    assert error_codes(wrong) == [("current_password", "wrong_password")]
    same = app.post("/account/email", {"new_email": old, "current_password": PASSWORD})
    assert error_codes(same) == [("new_email", "same_address")]

    asked = deliver(
        app.post, "/account/email", {"new_email": "new@example.org", "current_password": PASSWORD}
    )
    assert asked.status_code == 202
    assert app.get("/account").json()["pending_change"]["new_email"] == "new@example.org"
    code = mailed_code(mailoutbox[-1])
    wrong = app.post("/account/email/confirm", {"code": wrong_code(code)})
    assert error_codes(wrong) == [("code", "wrong_code")] and wrong.json()["errors"][0]["tries_left"] == 4
    before = app.token
    changed = deliver(app.post, "/account/email/confirm", {"code": code})
    assert changed.status_code == 200 and changed.json()["user"]["email"] == "new@example.org"
    assert app.token != before and app.get("/session").status_code == 200

    notice = next(m for m in mailoutbox if m.to == [old])
    token = undo_token_in(notice.body)
    owner = ApiClient(app=True)
    mismatch = owner.post(
        "/account/email/undo", {"token": token, "password1": NEW_PASSWORD, "password2": "x"}
    )
    assert error_codes(mismatch) == [("password2", "password_mismatch")]
    undone = owner.post(
        "/account/email/undo", {"token": token, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert undone.status_code == 200 and undone.json()["user"]["email"] == old
    assert app.get("/session").status_code == 401  # the changer's token is dead
    again = owner.post(
        "/account/email/undo", {"token": token, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert error_codes(again) == [("token", "link_used")]


def test_resend_and_cancel_a_change_of_address(app, user, deliver, mailoutbox, settings):
    settings.VERIFICATION_MAIL_COOLDOWN = 0
    sign_in(app, user)
    deliver(app.post, "/account/email", {"new_email": "new@example.org", "current_password": PASSWORD})

    assert deliver(app.post, "/account/email/resend").status_code == 202
    assert len(mailoutbox) == 2
    assert app.post("/account/email/cancel").status_code == 204
    assert app.get("/account").json()["pending_change"] is None
    dead = app.post("/account/email/confirm", {"code": mailed_code(mailoutbox[-1])})
    assert error_codes(dead) == [("code", "dead_code")]


def test_change_the_password_keeps_this_session_and_ends_the_others(app, user):
    sign_in(app, user)
    other = ApiClient(app=True)
    sign_in(other, user)
    weak = app.post(
        "/account/password", {"current_password": PASSWORD, "password1": "123", "password2": "123"}
    )
    assert weak.status_code == 400 and ("password1", "password_too_short") in error_codes(weak)

    body = {"current_password": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert app.post("/account/password", body).status_code == 200
    assert app.get("/session").status_code == 200
    assert other.get("/session").status_code == 401


def test_messages_come_in_the_requests_language(user):
    english = ApiClient().post("/session", {"username": user.username, "password": "wrong"})
    chinese = ApiClient(language="zh-hans").post("/session", {"username": user.username, "password": "wrong"})

    assert error_codes(english) == error_codes(chinese)
    assert "password" in english.json()["errors"][0]["message"]
    assert "密码" in chinese.json()["errors"][0]["message"]


def test_a_deactivated_account_that_knows_its_password_is_told_so(db):
    switched_off = UserFactory(deactivated=True)
    answer = ApiClient().post("/session", {"username": switched_off.username, "password": PASSWORD})

    assert error_codes(answer) == [(None, "inactive")]
    assert not User.objects.get(pk=switched_off.pk).is_active
    assert not mail.outbox


def test_too_many_code_guesses_from_one_client_are_a_429_with_retry_after(
    user, settings, deliver, mailoutbox
):
    settings.VERIFICATION_CHECKS_PER_IP_PER_HOUR = 1
    app = ApiClient(app=True)
    asked = deliver(app.post, "/password-reset", {"email": user.email})
    body = {"email": user.email, "request": asked.json()["request"], "password1": NEW_PASSWORD}
    body |= {"password2": NEW_PASSWORD, "code": wrong_code(mailed_code(mailoutbox[0]))}

    assert error_codes(app.post("/password-reset/confirm", body)) == [("code", "wrong_code")]
    throttled = app.post("/password-reset/confirm", body)
    assert throttled.status_code == 429 and error_codes(throttled) == [("code", "rate_limited")]
    assert int(throttled["Retry-After"]) == throttled.json()["errors"][0]["seconds"] > 0


def test_a_code_that_took_its_tries_is_dead_to_the_client_that_asked(user, deliver, mailoutbox):
    app = ApiClient(app=True)
    asked = deliver(app.post, "/sign-in-code", {"email": user.email})
    code = mailed_code(mailoutbox[0])
    body = {"email": user.email, "request": asked.json()["request"], "code": wrong_code(code)}

    left = [app.post("/sign-in-code/confirm", body).json()["errors"][0]["tries_left"] for _ in range(4)]
    assert left == [4, 3, 2, 1]
    assert error_codes(app.post("/sign-in-code/confirm", body)) == [("code", "dead_code")]
    assert error_codes(app.post("/sign-in-code/confirm", {**body, "code": code})) == [("code", "dead_code")]


def test_a_note_for_another_address_does_not_make_a_client_the_one_that_asked(user, deliver, mailoutbox):
    other = UserFactory()
    app = ApiClient(app=True)
    note = deliver(app.post, "/password-reset", {"email": other.email}).json()["request"]
    deliver(ApiClient().post, "/password-reset", {"email": user.email})
    body = {"email": user.email, "request": note, "code": wrong_code(mailed_code(mailoutbox[-1]))}

    refused = app.post(
        "/password-reset/confirm", {**body, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert error_codes(refused) == [("code", "code_refused")]


def test_past_the_cap_of_wrong_codes_at_an_address_guesses_are_a_403(user, settings, deliver, mailoutbox):
    settings.VERIFICATION_GUESSES_BEFORE_WAITS, settings.VERIFICATION_GUESSES_MAX = 50, 2
    deliver(ApiClient().post, "/sign-in-code", {"email": user.email})
    body = {"email": user.email, "code": wrong_code(mailed_code(mailoutbox[0]))}
    stranger = ApiClient(app=True)
    for _ in range(2):
        stranger.post("/sign-in-code/confirm", body)

    closed = stranger.post("/sign-in-code/confirm", {**body, "code": mailed_code(mailoutbox[0])})
    assert closed.status_code == 403 and error_codes(closed) == [("code", "codes_closed")]
