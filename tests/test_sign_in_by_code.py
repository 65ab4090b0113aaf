"""Sign in with a code mailed to the address, on any device."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.vocabulary import Purpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activation_path, link_in, mailed_code, path_of, wrong_code
from verification.models import OneTimeSecret

ASK = reverse("accounts:login_code_request")
ENTER = reverse("accounts:login_code")


def ask_for_sign_in_code(client, deliver, email, mailoutbox):
    deliver(client.post, ASK, {"email": email})
    return mailed_code(mailoutbox[-1])


def enter(client, email, code, **query):
    url = ENTER + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, {"email": email, "code": code})


def signed_in_user(client):
    return client.get(reverse("home")).context["user"]


def test_the_sign_in_page_offers_a_code(client, db):
    assert ASK in client.get(reverse("accounts:login")).content.decode()


def test_a_mailed_code_signs_in_on_another_device(client, user, deliver, mailoutbox, time_machine):
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    other_device = Client()  # nothing from the browser that asked

    response = enter(other_device, user.email, code)

    assert response.status_code == 302 and response.url == reverse("home")
    assert signed_in_user(other_device) == user
    assert not signed_in_user(client).is_authenticated


def test_signing_in_by_code_proves_the_address_again_and_changes_nothing_else(
    client, user, deliver, mailoutbox, time_machine
):
    proven_before, password_before = user.email_verified_at, user.password
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    time_machine.advance(seconds=30)

    enter(client, user.email, code)

    user.refresh_from_db()
    assert user.email_verified_at > proven_before and user.password == password_before
    assert not OneTimeSecret.objects.active().filter(user=user, purpose=Purpose.LOGIN).exists()


def test_the_mail_carries_the_code_and_a_link_with_it_in_the_fragment_only(user, deliver, mailoutbox):
    code = ask_for_sign_in_code(Client(), deliver, user.email, mailoutbox)

    link = path_of(link_in(mailoutbox[0].body, ENTER))
    path, _, fragment = link.partition("#")
    assert path == ENTER and code not in path
    # Not the address: a link carrying its recipient's address is a phishing kit's (and
    # SpamAssassin's GB_CUSTOM_HTM_URI), and a planted one would fill in someone else's.
    assert fragment == f"code={code}"
    for text in [mailoutbox[0].body, mailoutbox[0].alternatives[0][0]]:
        assert "email=" not in text and user.email.replace("@", "%40") not in text
    assert "code-from-link.js" in Client().get(path).content.decode()


def test_the_mail_says_never_to_share_the_code(user, deliver, mailoutbox):
    # Anyone who has the code (and the address) can sign in: the mail must not say otherwise.
    ask_for_sign_in_code(Client(), deliver, user.email, mailoutbox)

    [mail] = mailoutbox
    for text in [mail.body, mail.alternatives[0][0]]:
        assert "but you" not in text
        assert "Never share this code" in text and "anyone who has it can sign in" in text


def test_opening_the_code_page_changes_nothing(client, user, deliver, mailoutbox):
    ask_for_sign_in_code(client, deliver, user.email, mailoutbox)

    page = Client().get(ENTER)

    assert page.status_code == 200 and "sessionid" not in page.cookies
    assert OneTimeSecret.objects.active().filter(purpose=Purpose.LOGIN).count() == 1


def test_the_code_page_knows_the_address_it_was_asked_for(client, user, deliver, mailoutbox):
    ask_for_sign_in_code(client, deliver, user.email, mailoutbox)

    assert client.get(ENTER).context["form"].initial["email"] == user.email


def test_signing_in_by_code_starts_a_new_session(client, user, deliver, mailoutbox):
    session = client.session
    session["planted"] = "by a stranger"
    session.save()
    planted_key = session.session_key
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)

    enter(client, user.email, code)

    assert client.cookies["sessionid"].value != planted_key


def test_a_wrong_code_says_how_many_tries_remain_and_the_fifth_kills_it(client, user, deliver, mailoutbox):
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    answers = [enter(client, user.email, wrong_code(code)) for _ in range(5)]

    after = enter(client, user.email, code)

    assert "4 tries left" in answers[0].content.decode()
    assert answers[-1].context["form"].has_error("code", "dead_code")
    assert after.context["form"].has_error("code", "dead_code")
    assert not signed_in_user(client).is_authenticated


def test_a_code_works_once_and_not_after_its_lifetime(
    client, user, deliver, mailoutbox, time_machine, settings
):
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    assert enter(Client(), user.email, code).status_code == 302
    assert enter(Client(), user.email, code).status_code == 200  # used

    time_machine.advance(seconds=61)
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    time_machine.advance(seconds=settings.VERIFICATION_LOGIN_CODE_TTL + 1)
    assert enter(client, user.email, code).context["form"].has_error("code", "dead_code")


def test_a_reset_code_does_not_sign_in(client, user, deliver, mailoutbox):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})

    response = enter(client, user.email, mailed_code(mailoutbox[0]))

    assert response.status_code == 200 and not signed_in_user(client).is_authenticated


def test_only_an_active_account_gets_a_code(client, db, deliver, mailoutbox):
    waiting = UserFactory(awaiting_activation=True)
    switched_off = UserFactory(deactivated=True)

    for email in (waiting.email, switched_off.email, "nobody@example.com"):
        deliver(Client().post, ASK, {"email": email})

    # The account never activated gets its activation link; the others get nothing.
    [mail] = mailoutbox
    assert mail.to == [waiting.email] and activation_path(mail)


def test_wrong_codes_count_against_the_client_like_wrong_passwords(user, deliver, mailoutbox, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 3
    guesser = Client(REMOTE_ADDR="203.0.113.66")
    code = ask_for_sign_in_code(Client(), deliver, user.email, mailoutbox)
    for _ in range(3):
        enter(guesser, user.email, wrong_code(code))

    by_code = enter(guesser, user.email, code)
    by_password = guesser.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    assert by_code.context["form"].has_error("code", "rate_limited")
    assert by_password.context["form"].has_error("__all__", "rate_limited")
    assert enter(Client(REMOTE_ADDR="198.51.100.20"), user.email, code).status_code == 302


def test_only_a_safe_next_is_followed(user, deliver, mailoutbox, time_machine):
    code = ask_for_sign_in_code(Client(), deliver, user.email, mailoutbox)
    assert enter(Client(), user.email, code, next="/accounts/login/").url == "/accounts/login/"

    time_machine.advance(seconds=61)
    code = ask_for_sign_in_code(Client(), deliver, user.email, mailoutbox)
    assert enter(Client(), user.email, code, next="https://evil.example/").url == reverse("home")


@pytest.mark.parametrize("url", [ASK, ENTER])
def test_the_offer_can_be_switched_off(client, db, settings, url):
    settings.VERIFICATION_LOGIN_BY_CODE = False

    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "a@example.com", "code": "123456"}).status_code == 404
    assert ASK not in client.get(reverse("accounts:login")).content.decode()


def signing_in_as(page):
    """The address the code page says it signs in as, as text above the button."""
    match = re.search(
        r'<p id="signing-in-as"[^>]*>.*?<strong id="signing-in-as-address">([^<]*)</strong>', page
    )
    return match and match.group(1)


def test_the_code_page_says_plainly_which_address_it_signs_in_as(client, user, deliver, mailoutbox):
    # A planted link (#email=theirs&code=theirs) would sign the victim in to someone else's
    # account with one press; the page says whose address it is, the script keeping it in
    # step with the field (static/js/code-from-link.js).
    ask_for_sign_in_code(client, deliver, user.email, mailoutbox)
    fresh = Client().get(ENTER).content.decode()

    assert signing_in_as(client.get(ENTER).content.decode()) == user.email
    assert (
        signing_in_as(enter(Client(), "someone@example.net", "000000").content.decode())
        == "someone@example.net"
    )
    assert signing_in_as(fresh) == "" and '<p id="signing-in-as" class="alert alert-warning" hidden>' in fresh
    assert "js/code-from-link.js" in fresh


def test_after_signing_in_by_code_the_pages_say_whose_account_it_is(client, user, deliver, mailoutbox):
    code = ask_for_sign_in_code(client, deliver, user.email, mailoutbox)

    home = enter(client, user.email, code, next=reverse("accounts:account"))
    account = client.get(home.url).content.decode()

    assert home.url == reverse("accounts:account")
    assert user.username in account and user.email in account
