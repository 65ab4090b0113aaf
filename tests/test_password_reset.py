import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.helpers import ask_for_code, mailed_code, wrong_code
from verification.models import OneTimeSecret

NEW_PASSWORD = "a-brand-new-passphrase-42"
CONFIRM = reverse("accounts:password_reset_confirm")


def confirm(client, email, code, password=NEW_PASSWORD):
    data = {"email": email, "code": code, "password1": password, "password2": password}
    return client.post(CONFIRM, data)


def test_the_right_code_sets_the_password_and_asks_to_sign_in(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)

    response = deliver(confirm, client, user.email, code)

    assert response.status_code == 302 and response.url == reverse("accounts:login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert "_auth_user_id" not in client.session
    notice = mailoutbox[-1]
    assert "password was changed" in notice.subject
    assert code not in notice.body


def test_the_code_page_knows_the_address_from_the_request(client, user, deliver, mailoutbox):
    ask_for_code(client, deliver, user.email, mailoutbox)

    response = client.get(CONFIRM)

    assert response.context["form"].initial["email"] == user.email
    assert 'autocomplete="one-time-code"' in response.content.decode()


def test_a_wrong_code_says_how_many_tries_remain(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    wrong = wrong_code(code)

    response = confirm(client, user.email, wrong)

    assert response.status_code == 200
    assert response.context["form"].has_error("code", "wrong_code")
    assert "4 tries left" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_code_dies_after_max_attempts_even_for_the_right_value(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    wrong = wrong_code(code)
    for _ in range(5):
        confirm(client, user.email, wrong)

    response = confirm(client, user.email, code)

    assert response.context["form"].has_error("code", "dead_code")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert OneTimeSecret.objects.get().state == "locked"


def test_an_expired_code_is_refused(client, user, deliver, mailoutbox, time_machine):
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    time_machine.advance(minutes=10, seconds=1)

    response = confirm(client, user.email, code)

    assert response.context["form"].has_error("code", "dead_code")


def test_a_code_works_once(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    deliver(confirm, client, user.email, code)

    response = confirm(client, user.email, code, password="yet-another-passphrase-7")

    # Refused like any wrong guess (the page cannot say "used": that would need an account).
    assert response.context["form"].has_error("code", "code_refused")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_code_is_bound_to_its_user(client, db, deliver, mailoutbox):
    alice, bob = UserFactory(), UserFactory()
    alices_code = ask_for_code(client, deliver, alice.email, mailoutbox)

    response = confirm(client, bob.email, alices_code)

    assert response.context["form"].has_error("code", "code_refused")
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert OneTimeSecret.objects.get(user=alice).attempts == 0


def test_reset_ends_every_other_session(client, user, deliver, mailoutbox):
    elsewhere = Client()
    elsewhere.force_login(user)
    code = ask_for_code(client, deliver, user.email, mailoutbox)

    deliver(confirm, client, user.email, code)

    assert not elsewhere.get(reverse("home")).context["user"].is_authenticated


@pytest.mark.parametrize("typed", [" {a} {b} ", "{a}-{b}", "{a}{b}", "{wide}"])
def test_codes_are_accepted_as_people_type_them(client, user, deliver, mailoutbox, typed):
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    wide = "".join(chr(ord(digit) + 0xFEE0) for digit in code)  # full-width digits

    response = confirm(client, user.email, typed.format(a=code[:3], b=code[3:], wide=wide))

    assert response.status_code == 302


@pytest.mark.parametrize("typed", ["١٢٣٤٥٦", "12345", "1234567", "abcdef", "12\x0034", "x" * 10_000, ""])
def test_malformed_codes_are_a_form_error_and_spend_no_try(client, user, deliver, mailoutbox, typed):
    ask_for_code(client, deliver, user.email, mailoutbox)

    response = confirm(client, user.email, typed)

    assert response.status_code == 200
    assert response.context["form"].has_error("code")
    assert OneTimeSecret.objects.get().attempts == 0


def test_a_password_typo_spends_no_try(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)

    response = client.post(
        CONFIRM, {"email": user.email, "code": code, "password1": NEW_PASSWORD, "password2": "typo"}
    )

    assert response.context["form"].has_error("password2", "password_mismatch")
    assert OneTimeSecret.objects.get().attempts == 0
    assert confirm(client, user.email, code).status_code == 302


def test_asking_for_a_code_looks_the_same_for_any_address(client, db, deliver, mailoutbox):
    active = UserFactory()
    waiting = UserFactory(awaiting_activation=True)
    switched_off = UserFactory(deactivated=True)

    answers = [
        deliver(Client().post, reverse("accounts:password_reset"), {"email": email})
        for email in (active.email, waiting.email, switched_off.email, "nobody@example.com")
    ]

    assert {(a.status_code, a.url) for a in answers} == {(302, CONFIRM)}
    assert {tuple(a.cookies) for a in answers} == {("reset_email",)}
    # The active account and the one never activated get a code (proving the address is what
    # recovers either); the one staff switched off and the unknown address get nothing.
    assert [m.to for m in mailoutbox] == [[active.email], [waiting.email]]
    assert mailed_code(mailoutbox[0]) and mailed_code(mailoutbox[1])


def test_a_browser_that_did_not_ask_gets_one_answer_for_every_wrong_code(client, user, deliver, mailoutbox):
    code = ask_for_code(Client(), deliver, user.email, mailoutbox)
    answers = {
        "unknown address": confirm(client, "nobody@example.com", "123456"),
        "someone's live code, wrong": confirm(client, user.email, wrong_code(code)),
    }

    for answer in answers.values():
        assert answer.context["form"].errors.as_data()["code"][0].code == "code_refused"


def test_a_weak_new_password_is_refused_before_the_code_is_tried(client, user, deliver, mailoutbox):
    code = ask_for_code(client, deliver, user.email, mailoutbox)

    response = confirm(client, user.email, code, password="12345678")

    assert response.context["form"].has_error("password1", "password_entirely_numeric")
    assert OneTimeSecret.objects.get().attempts == 0
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
