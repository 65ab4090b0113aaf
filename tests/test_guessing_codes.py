"""How many guesses a code takes, counted once: on the code's own row (five), and across all the
codes of an address (NIST SP 800-63B 5.2.2: waits past ten wrong ones, none past a hundred,
but from a browser the account signed in with). docs/security.md, "Guessing codes"."""

import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.helpers import mailed_code, signs_in, wrong_code
from tests.test_enumeration import comparable
from verification.models import FailedGuesses

RESET = reverse("accounts:password_reset")
RESET_CONFIRM = reverse("accounts:password_reset_confirm")
SIGN_IN_CODE = reverse("accounts:login_code_request")
SIGN_IN_CONFIRM = reverse("accounts:login_code")
NEW_PASSWORD = "a-brand-new-passphrase-42"
# Every guessing browser comes from an address of its own: the per-client limits are not
# what these tests are about.
addresses = (f"203.0.113.{n % 250}" for n in itertools.count(1))


def browser():
    return Client(REMOTE_ADDR=next(addresses))


def ask(client, deliver, url, email, mailoutbox):
    deliver(client.post, url, {"email": email})
    return mailed_code(mailoutbox[-1]) if mailoutbox else None


def reset(client, email, code):
    data = {"email": email, "code": code, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(RESET_CONFIRM, data)


def error_code(response):
    return response.context["form"].errors.as_data()["code"][0].code


def test_the_guess_that_takes_the_last_try_can_be_right(user, deliver, mailoutbox):
    owner = browser()
    code = ask(owner, deliver, RESET, user.email, mailoutbox)
    for _ in range(4):
        assert error_code(reset(owner, user.email, wrong_code(code))) == "wrong_code"

    assert "1 try left" not in reset(owner, user.email, code).content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_wrong_reset_codes_leave_the_sign_in_code_mailed_before_alive(user, deliver, mailoutbox):
    owner, thief = browser(), browser()
    sign_in_code = ask(owner, deliver, SIGN_IN_CODE, user.email, mailoutbox)
    reset_code = ask(thief, deliver, RESET, user.email, mailoutbox)
    for _ in range(5):
        reset(thief, user.email, wrong_code(reset_code))

    response = owner.post(SIGN_IN_CONFIRM, {"email": user.email, "code": sign_in_code})

    assert response.status_code == 302


def test_a_dead_reset_code_stays_dead_when_a_sign_in_code_is_mailed(user, deliver, mailoutbox, time_machine):
    owner = browser()
    code = ask(owner, deliver, RESET, user.email, mailoutbox)
    for _ in range(5):
        reset(owner, user.email, wrong_code(code))
    time_machine.advance(seconds=61)
    ask(browser(), deliver, SIGN_IN_CODE, user.email, mailoutbox)

    assert error_code(reset(owner, user.email, wrong_code(code))) == "dead_code"


def test_a_browser_that_did_not_ask_learns_nothing_from_a_wrong_code(db, deliver, mailoutbox):
    someone = UserFactory(email="mailed-lately@example.com")
    quiet = UserFactory(email="quiet@example.com")
    ask(browser(), deliver, SIGN_IN_CODE, someone.email, mailoutbox)

    def stranger_guesses(email):
        answer = browser().post(SIGN_IN_CONFIRM, {"email": email, "code": "123456"})
        return comparable(answer, email)

    assert stranger_guesses(someone.email) == stranger_guesses(quiet.email)
    assert stranger_guesses(someone.email) == stranger_guesses("nobody@example.com")


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_code_alone_never_opens_a_staff_session(db, deliver, mailoutbox, flag):
    staff = UserFactory(**{flag: True})
    client = browser()

    answer = deliver(client.post, SIGN_IN_CODE, {"email": staff.email})
    guessed = client.post(SIGN_IN_CONFIRM, {"email": staff.email, "code": "123456"})

    assert answer.status_code == 302 and mailoutbox == []
    assert error_code(guessed) == "wrong_code"  # like any address the browser asked for
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_past_ten_wrong_codes_each_guess_waits_longer(user, time_machine):
    for _ in range(10):
        assert error_code(reset(browser(), user.email, "123456")) == "code_refused"

    waits = []
    for _ in range(3):
        refused = reset(browser(), user.email, "123456")
        assert error_code(refused) == "rate_limited"
        waits.append(refused.context["form"].errors.as_data()["code"][0].params["seconds"])
        time_machine.advance(seconds=waits[-1])
        assert error_code(reset(browser(), user.email, "123456")) == "code_refused"

    assert waits == [1, 2, 4]


def test_the_browser_that_asked_keeps_its_code_while_strangers_guesses_pile_up(user, deliver, mailoutbox):
    owner = browser()
    code = ask(owner, deliver, RESET, user.email, mailoutbox)
    for _ in range(12):
        reset(browser(), user.email, "123456")

    assert error_code(reset(browser(), user.email, "123456")) == "rate_limited"
    assert reset(owner, user.email, code).status_code == 302


def make_wrong_guesses(email, count, time_machine):
    for _ in range(count):
        while error_code(reset(browser(), email, "123456")) == "rate_limited":
            time_machine.advance(hours=1)


def test_past_a_hundred_wrong_codes_only_a_browser_the_account_signed_in_with_may_guess(
    user, deliver, mailoutbox, time_machine
):
    known = browser()
    known.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    known.post(reverse("accounts:logout"))
    make_wrong_guesses(user.email, 100, time_machine)
    time_machine.advance(hours=1)

    stranger = browser()
    strangers_code = ask(stranger, deliver, RESET, user.email, mailoutbox)
    assert error_code(reset(stranger, user.email, strangers_code)) == "codes_closed"
    owners_code = ask(known, deliver, RESET, user.email, mailoutbox)  # past the cooldown: an hour on
    assert reset(known, user.email, owners_code).status_code == 302
    assert signs_in(user.username, NEW_PASSWORD)


def test_signing_in_forgets_no_wrong_codes(user, time_machine):
    # Forgetting them would tell the stranger who pushed the count up when the owner signed in.
    make_wrong_guesses(user.email, 12, time_machine)
    owner = browser()
    owner.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    assert error_code(reset(browser(), user.email, "123456")) == "rate_limited"


def test_a_right_code_forgets_no_wrong_codes(user, deliver, mailoutbox, time_machine):
    # Only an address with an account takes a right code: a count that dropped told an
    # attacker helper that the address had one, and when its owner used a code.
    make_wrong_guesses(user.email, 12, time_machine)
    owner = browser()
    assert reset(owner, user.email, ask(owner, deliver, RESET, user.email, mailoutbox)).status_code == 302

    assert error_code(reset(browser(), user.email, "123456")) == "rate_limited"


# Found by an attacker helper after the bound above was built.


def test_the_browser_that_asked_waits_like_anyone_once_its_code_is_dead(
    user, deliver, mailoutbox, time_machine
):
    stranger = browser()
    ask(stranger, deliver, RESET, user.email, mailoutbox)  # one mail, then guesses 3 s apart
    answers = []
    for n in range(110):
        answers.append(error_code(reset(stranger, user.email, f"{n:06d}")))
        time_machine.advance(seconds=3)

    assert "codes_closed" not in answers
    assert answers.count("rate_limited") > 80
    assert FailedGuesses.objects.get().count < 30


def change_password(client, current, new):
    return client.post(
        reverse("accounts:password_change"),
        {"current_password": current, "password1": new, "password2": new},
    )


def test_the_owners_new_password_ends_what_a_thiefs_sign_in_earned(user, time_machine):
    # Found by an attacker helper: the thief's browser kept its standing, and with it guesses
    # that closed codes for everyone else in seconds.
    thief, owner = browser(), browser()
    for client in (thief, owner):
        client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    change_password(owner, PASSWORD, NEW_PASSWORD)
    make_wrong_guesses(user.email, 100, time_machine)
    time_machine.advance(hours=1)  # the longest wait

    assert error_code(reset(thief, user.email, "123456")) == "codes_closed"
    assert error_code(reset(owner, user.email, "123456")) == "code_refused"  # remembered again


def test_a_known_browsers_wrong_codes_wait_like_anyones(user):
    # It may be a thief's, with the password: without waits it closed codes for every other
    # browser in 4 s, and killed each code the owner was mailed at no cost (attacker helpers).
    thief = browser()
    thief.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    answers = [error_code(reset(thief, user.email, f"{n:06d}")) for n in range(12)]

    assert answers[:10] == ["code_refused"] * 10 and answers[-1] == "rate_limited"


def test_a_browser_that_signed_in_by_code_is_known(user, deliver, mailoutbox, time_machine):
    # Its proof was made from the account as loaded before the code proved the mailbox again.
    phone = browser()
    code = ask(phone, deliver, SIGN_IN_CODE, user.email, mailoutbox)
    phone.post(SIGN_IN_CONFIRM, {"email": user.email, "code": code})
    assert phone.get(reverse("accounts:account")).status_code == 200
    make_wrong_guesses(user.email, 100, time_machine)
    time_machine.advance(hours=1)  # the longest wait

    assert error_code(reset(phone, user.email, "123456")) == "code_refused"


def test_a_reset_by_code_ends_what_earlier_sign_ins_earned(user, deliver, mailoutbox, time_machine):
    thief = browser()
    thief.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    owner = browser()
    reset(owner, user.email, ask(owner, deliver, RESET, user.email, mailoutbox))  # the owner takes it back
    make_wrong_guesses(user.email, 100, time_machine)
    time_machine.advance(hours=1)

    code = ask(thief, deliver, RESET, user.email, mailoutbox)

    assert error_code(reset(thief, user.email, code)) == "codes_closed"


def test_wrong_address_change_codes_count_at_the_address_like_any(db, deliver, mailoutbox, time_machine):
    mallory = UserFactory()
    signed_in = browser()
    signed_in.post(reverse("accounts:login"), {"username": mallory.username, "password": PASSWORD})
    answers = []
    for _ in range(40):  # a code mailed to someone else's address, five guesses at each
        deliver(
            signed_in.post,
            reverse("accounts:email_change"),
            {"new_email": "victim@example.org", "current_password": PASSWORD},
        )
        for _ in range(5):
            response = signed_in.post(reverse("accounts:email_change_code"), {"code": "123456"})
            answers.append(error_code(response))
        time_machine.advance(minutes=13)

    assert answers.count("codes_closed") > 50
    assert FailedGuesses.objects.get().count == 100


@pytest.mark.parametrize("url", [RESET, SIGN_IN_CODE])
def test_a_request_refused_by_someone_elses_cooldown_looks_like_any(
    db, deliver, mailoutbox, time_machine, url
):
    busy, idle = UserFactory(), UserFactory()
    ask(browser(), deliver, url, busy.email, mailoutbox)  # its owner asks
    time_machine.advance(seconds=25)

    def strangers_view(email):
        client = browser()
        asked = deliver(client.post, url, {"email": email})
        page = client.get(asked.url).content.decode()
        [cookie] = asked.cookies.values()
        # Less what the stranger typed themselves (the cookie carries the address).
        return len(cookie.value) - len(email), re.search(r'data-wait-seconds="(\d+)"', page).group(1)

    assert strangers_view(busy.email) == strangers_view(idle.email) == strangers_view("nobody@example.com")


def test_a_stranger_who_keeps_the_addresss_mail_allowance_spent_cannot_hold_back_the_owners_code(
    user, deliver, mailoutbox, time_machine
):
    # A second attacker helper asked once a minute for 17 minutes: each mail the hourly cap
    # gave back went to the stranger's request, and none of the owner's five got through.
    owner = browser()
    owner.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    owner.post(reverse("accounts:logout"))
    stranger = [browser(), browser()]
    for n in range(6):
        ask(stranger[n % 2], deliver, RESET, user.email, mailoutbox)
        time_machine.advance(seconds=61)
    ask(stranger[0], deliver, RESET, user.email, mailoutbox)  # holds the address's cooldown too
    sent = len(mailoutbox)

    code = ask(owner, deliver, RESET, user.email, mailoutbox)

    assert len(mailoutbox) == sent + 1
    assert reset(owner, user.email, code).status_code == 302


def test_requests_that_mail_nothing_do_not_spend_what_codes_need(user, deliver, mailoutbox, time_machine):
    # A third attacker helper asked once a minute for a new activation link for an active
    # account: it mails nothing, yet it spent the address's hourly allowance, silently, and
    # no reset code reached the owner for hours.
    for _ in range(6):
        deliver(browser().post, reverse("accounts:resend_activation"), {"email": user.email})
        time_machine.advance(seconds=61)
    assert mailoutbox == []

    code = ask(browser(), deliver, RESET, user.email, mailoutbox)

    assert code is not None
