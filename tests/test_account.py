"""The account page, a change of address proven by a code to the new address (told to the old
one, which may undo it), and a change of password."""

import itertools
import re
from datetime import UTC
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts import email_change, services
from accounts.models import User
from accounts.vocabulary import Purpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import link_in, mailed_code, path_of, signs_in, wrong_code
from tests.test_enumeration import comparable
from verification.models import OneTimeSecret
from verification.tokens import InvalidCode

ACCOUNT = reverse("accounts:account")
CHANGE = reverse("accounts:email_change")
CODE = reverse("accounts:email_change_code")
UNDO = reverse("accounts:email_change_undo")
NEW = "new-address@example.org"
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def member(client, user):
    client.force_login(user)
    return user


def ask_to_move(client, deliver, new_email=NEW, password=PASSWORD):
    return deliver(client.post, CHANGE, {"new_email": new_email, "current_password": password})


def enter(client, deliver, code):
    return deliver(client.post, CODE, {"code": code})


def undo_path(message):
    return path_of(link_in(message.body, "/accounts/email/undo/"))


def undo_token(link):
    """The token a mailed undo link carries in its fragment (the page's script posts it)."""
    return parse_qs(urlsplit(link).fragment)["token"][0]


def undo(deliver, link, client=None, password=NEW_PASSWORD, password2=None):
    form = {"token": undo_token(link), "password1": password, "password2": password2 or password}
    return deliver((client or Client()).post, UNDO, form)


def test_the_account_page_shows_the_address_its_proof_and_the_way_to_change_them(client, member):
    page = client.get(ACCOUNT).content.decode()

    assert member.username in page and member.email in page
    assert CHANGE in page and reverse("accounts:password_change") in page
    assert ACCOUNT in client.get(reverse("home")).content.decode()  # home and navbar link here


def test_the_account_pages_are_for_signed_in_people_only(client, db):
    for url in (ACCOUNT, CHANGE, CODE, reverse("accounts:password_change")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_nothing_changes_until_the_code_mailed_to_the_new_address_is_entered(
    client, member, deliver, mailoutbox
):
    response = ask_to_move(client, deliver)

    assert response.status_code == 302 and response.url == CODE
    member.refresh_from_db()
    assert member.email != NEW
    [mail] = mailoutbox
    assert mail.to == [NEW] and mailed_code(mail)
    assert member.username not in mail.body  # an unproven address: no chosen text
    assert NEW in client.get(ACCOUNT).content.decode()  # shown as pending


def test_the_right_code_moves_the_account_and_tells_both_addresses(client, member, deliver, mailoutbox):
    old = member.email
    other_device = Client()
    other_device.force_login(member)
    ask_to_move(client, deliver)

    response = enter(client, deliver, mailed_code(mailoutbox[0]))

    assert response.status_code == 302 and response.url == ACCOUNT
    member.refresh_from_db()
    assert member.email == NEW and member.email_verified_at is not None
    notice, confirmation = mailoutbox[1:]
    assert notice.to == [old] and "n***@example.org" in notice.body and NEW not in notice.body
    assert undo_path(notice)
    assert confirmation.to == [NEW]
    assert client.get(ACCOUNT).status_code == 200  # this session stays
    assert not other_device.get(reverse("home")).context["user"].is_authenticated


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_wrong_password(
    client, member, deliver, mailoutbox, settings
):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 2
    answers = [ask_to_move(client, deliver, password="not-it") for _ in range(3)]

    assert answers[0].context["form"].has_error("current_password", "wrong_password")
    assert answers[2].context["form"].has_error("current_password", "rate_limited")
    assert not mailoutbox


def test_the_same_address_is_a_form_error(client, member, deliver):
    response = ask_to_move(client, deliver, new_email=member.email.upper())

    assert response.context["form"].has_error("new_email", "same_address")


def test_a_wrong_code_says_how_many_tries_remain_and_five_kill_it(client, member, deliver, mailoutbox):
    ask_to_move(client, deliver)
    code = mailed_code(mailoutbox[0])
    answers = [enter(client, deliver, wrong_code(code)) for _ in range(5)]

    after = enter(client, deliver, code)

    assert "4 tries left" in answers[0].content.decode()
    assert after.context["form"].has_error("code", "dead_code")
    member.refresh_from_db()
    assert member.email != NEW


def test_a_code_proves_only_the_address_it_was_mailed_to(client, member, deliver, mailoutbox, time_machine):
    ask_to_move(client, deliver, new_email="first@example.org")
    first_code = mailed_code(mailoutbox[0])
    ask_to_move(client, deliver, new_email="second@example.org")

    enter(client, deliver, first_code)

    member.refresh_from_db()
    assert member.email not in ("first@example.org", "second@example.org")


def test_an_address_with_an_account_looks_the_same_and_its_owner_is_told(
    db, deliver, mailoutbox, time_machine
):
    holder = UserFactory(email="taken@example.org")

    def move(new_email):
        person = UserFactory()
        client = Client()
        client.force_login(person)
        asked = ask_to_move(client, deliver, new_email=new_email)
        page = client.get(asked.url)
        wrong = enter(client, deliver, "000000")
        seen = [comparable(r, new_email) for r in (asked, page, wrong)]
        # Each mover's own username is in the navigation bar.
        return person, [(*rest, body.replace(person.username.encode(), b"USER")) for *rest, body in seen]

    mover, taken = move("taken@example.org")
    _, free = move("free@example.org")

    assert taken == free
    assert [m.to for m in mailoutbox] == [[holder.email], ["free@example.org"]]
    assert "another" in mailoutbox[0].subject and not re.search(r"^\s+\d{6}", mailoutbox[0].body, re.M)
    mover.refresh_from_db()
    assert mover.email != "taken@example.org"


def test_an_unproven_sign_up_holding_the_new_address_gives_way(client, member, deliver, mailoutbox):
    UserFactory(email=NEW, awaiting_activation=True)
    ask_to_move(client, deliver)

    enter(client, deliver, mailed_code(mailoutbox[0]))

    assert list(User.objects.filter(email=NEW)) == [member]


def test_the_change_kills_every_code_mailed_to_the_old_address(
    client, member, deliver, mailoutbox, time_machine
):
    deliver(Client().post, reverse("accounts:password_reset"), {"email": member.email})
    reset_code = mailed_code(mailoutbox[0])
    ask_to_move(client, deliver)
    enter(client, deliver, mailed_code(mailoutbox[1]))

    # Codes no account can use any more; links dead.
    assert not OneTimeSecret.objects.active().exclude(purpose=Purpose.EMAIL_CHANGE_UNDO).exclude(user=None)
    refused = Client().post(
        reverse("accounts:password_reset_confirm"),
        {
            "email": member.email,
            "code": reset_code,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert refused.status_code == 200


def test_undo_puts_the_old_address_back_with_a_new_password_and_signs_everyone_else_out(
    client, member, deliver, mailoutbox
):
    old = member.email
    ask_to_move(client, deliver)
    enter(client, deliver, mailed_code(mailoutbox[0]))
    path = undo_path(mailoutbox[1])
    owner = Client()

    assert owner.get(path).status_code == 200  # a GET changes nothing
    mismatched = undo(deliver, path, owner, password2="another-one")
    assert mismatched.status_code == 200 and mismatched.context["form"].errors["password2"]
    member.refresh_from_db()
    assert member.email == NEW

    response = undo(deliver, path, owner)

    assert response.status_code == 302 and response.url == ACCOUNT
    member.refresh_from_db()
    assert member.email == old and member.check_password(NEW_PASSWORD)
    assert not client.get(reverse("home")).context["user"].is_authenticated  # the changer is out
    assert owner.get(ACCOUNT).context["user"] == member  # the owner is in
    assert undo(deliver, path).status_code == 400  # once only


def test_undo_cannot_take_an_old_address_someone_else_has_proven(client, member, deliver, mailoutbox):
    old = member.email
    ask_to_move(client, deliver)
    enter(client, deliver, mailed_code(mailoutbox[0]))
    UserFactory(email=old)

    response = undo(deliver, undo_path(mailoutbox[1]))

    assert response.status_code == 409
    member.refresh_from_db()
    assert member.email == NEW


def test_a_pending_change_can_be_sent_again_or_cancelled(client, member, deliver, mailoutbox, time_machine):
    ask_to_move(client, deliver)
    time_machine.advance(seconds=61)
    deliver(client.post, reverse("accounts:email_change_resend"))
    assert [m.to for m in mailoutbox] == [[NEW], [NEW]]

    client.post(reverse("accounts:email_change_cancel"))

    assert NEW not in client.get(ACCOUNT).content.decode()
    assert enter(client, deliver, mailed_code(mailoutbox[1])).context["form"].has_error("code", "dead_code")


def test_a_change_to_an_address_whose_mail_allowance_is_spent_says_how_long_to_wait(
    client, member, deliver, mailoutbox, time_machine
):
    for _ in range(5):  # other accounts spend the new address's hourly allowance for changes
        other = Client()
        other.force_login(UserFactory())
        ask_to_move(other, deliver)
        time_machine.advance(seconds=61)
    mailoutbox.clear()

    refused = ask_to_move(client, deliver)

    assert refused.status_code == 200 and mailoutbox == []
    [error] = refused.context["form"].errors.as_data()["new_email"]
    assert error.code == "rate_limited" and 0 < error.params["seconds"] <= 3600 - 5 * 61
    assert not member.email_changes.exists()  # nothing recorded, nothing pending
    time_machine.advance(seconds=error.params["seconds"])
    ask_to_move(client, deliver)
    enter(client, deliver, mailed_code(mailoutbox[0]))
    member.refresh_from_db()
    assert member.email == NEW


def test_a_password_change_keeps_this_session_ends_the_others_and_tells_the_owner(
    client, member, deliver, mailoutbox
):
    other_device = Client()
    other_device.force_login(member)

    response = deliver(
        client.post,
        reverse("accounts:password_change"),
        {
            "current_password": PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD) and member.password_changed_at is not None
    assert client.get(ACCOUNT).status_code == 200
    assert not other_device.get(reverse("home")).context["user"].is_authenticated
    assert "password was changed" in mailoutbox[0].subject


def test_password_changes_are_few_an_hour_so_their_notices_flood_no_inbox(
    client, member, deliver, mailoutbox
):
    # An attacker helper changed one account's password 89 times a minute: 45 notices in the
    # owner's inbox, and everyone's codes queued behind them.
    passwords = [PASSWORD] + [f"{NEW_PASSWORD}-{n}" for n in range(6)]
    answers = []
    for current, new in itertools.pairwise(passwords):
        answers.append(
            deliver(
                client.post,
                reverse("accounts:password_change"),
                {"current_password": current, "password1": new, "password2": new},
            )
        )

    assert [answer.status_code for answer in answers] == [302] * 5 + [200]
    assert answers[-1].context["form"].has_error("__all__", "rate_limited")
    member.refresh_from_db()
    assert member.check_password(passwords[5])  # the refused change changed nothing
    assert len(mailoutbox) == 5


def test_a_change_to_the_same_password_is_refused_and_spends_nothing(client, member):
    # A thief spent the account's five changes an hour so, and the owner could change nothing.
    same = {"current_password": PASSWORD, "password1": PASSWORD, "password2": PASSWORD}
    for _ in range(6):
        refused = client.post(reverse("accounts:password_change"), same)
        assert refused.context["form"].has_error("password1", "same_password")

    new = {"current_password": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(reverse("accounts:password_change"), new).status_code == 302


def test_a_password_change_needs_the_current_password_and_a_good_new_one(client, member):
    wrong = client.post(
        reverse("accounts:password_change"),
        {
            "current_password": "not-it",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    weak = client.post(
        reverse("accounts:password_change"),
        {
            "current_password": PASSWORD,
            "password1": "123",
            "password2": "123",
        },
    )

    assert wrong.context["form"].has_error("current_password", "wrong_password")
    assert weak.context["form"].errors["password1"]
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def move_to(client, deliver, mailoutbox, new_email):
    ask_to_move(client, deliver, new_email=new_email)
    enter(client, deliver, mailed_code(mailoutbox[-1]))
    return undo_path(mailoutbox[-2])  # the notice to the address before


def test_undoing_a_later_change_leaves_the_owner_able_to_undo_the_first(
    client, member, deliver, mailoutbox, time_machine
):
    owners_address = member.email
    owners_link = move_to(client, deliver, mailoutbox, "thief@example.net")
    time_machine.advance(seconds=61)
    thiefs_link = move_to(client, deliver, mailoutbox, "thief+2@example.net")  # mailed to thief@

    undo(deliver, thiefs_link, password="the-thiefs-passphrase")  # back to thief@, to take it over
    response = undo(deliver, owners_link)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == owners_address and member.check_password(NEW_PASSWORD)


def test_undoing_the_first_change_kills_the_undo_links_of_later_ones(
    client, member, deliver, mailoutbox, time_machine
):
    owners_address = member.email
    owners_link = move_to(client, deliver, mailoutbox, "thief@example.net")
    time_machine.advance(seconds=61)
    thiefs_link = move_to(client, deliver, mailoutbox, "thief+2@example.net")

    undo(deliver, owners_link)
    refused = undo(deliver, thiefs_link)

    assert refused.status_code == 400
    member.refresh_from_db()
    assert member.email == owners_address


def test_nothing_a_stranger_spends_can_keep_the_owner_from_undoing(
    client, member, deliver, mailoutbox, time_machine
):
    # Whoever was thrown out knows the address: they can spend its mail allowance and burn
    # every code mailed to it. The undo needs neither: the link proves the mailbox.
    owners_address = member.email
    owners_link = move_to(client, deliver, mailoutbox, "thief@example.net")
    for _ in range(5):
        deliver(Client().post, reverse("accounts:password_reset"), {"email": owners_address})
        time_machine.advance(seconds=61)

    owner = Client()
    assert undo(deliver, owners_link, owner).status_code == 302

    assert owner.get(ACCOUNT).context["user"].email == owners_address
    assert signs_in(member.username, NEW_PASSWORD)


def test_a_password_change_that_loaded_the_account_before_an_undo_cannot_write_over_it(
    client, member, deliver, mailoutbox
):
    owners_address = member.email
    owners_link = move_to(client, deliver, mailoutbox, "thief@example.net")
    thiefs_request_loaded = User.objects.get(pk=member.pk)  # then Argon2 runs, and the undo commits

    undo(deliver, owners_link)

    with pytest.raises(services.AccountChanged):
        services.set_new_password(user=thiefs_request_loaded, password="the-thiefs-passphrase")
    member.refresh_from_db()
    assert member.email == owners_address and member.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("thiefs_request", ["confirm a second change", "reset by code at their address"])
def test_a_code_spent_just_before_an_undo_commits_changes_nothing_after_it(
    client, member, deliver, mailoutbox, time_machine, monkeypatch, thiefs_request
):
    owners_address = member.email
    owners_link = move_to(client, deliver, mailoutbox, "thief@example.net")
    time_machine.advance(seconds=61)
    if thiefs_request == "confirm a second change":
        ask_to_move(client, deliver, new_email="thief+2@example.net")
        thief, module, guess = (
            (lambda code: email_change.confirm_email_change(user=member, code=code, client_ip="x")),
            email_change,
            "guess_code_bounded",
        )
    else:
        deliver(Client().post, reverse("accounts:password_reset"), {"email": "thief@example.net"})
        thief, module, guess = (
            (
                lambda code: services.reset_password_with_code(
                    email="thief@example.net", code=code, password="the-thiefs-passphrase", client_ip="x"
                )
            ),
            services,
            "guess_code_at_address",
        )
    code = mailed_code(mailoutbox[-1])
    spend = getattr(module, guess)

    def the_owner_undoes_right_after_the_code_is_spent(**kwargs):
        spend(**kwargs)
        email_change.undo_email_change(token=undo_token(owners_link), password=NEW_PASSWORD)

    monkeypatch.setattr(module, guess, the_owner_undoes_right_after_the_code_is_spent)
    with pytest.raises(InvalidCode):
        thief(code)

    member.refresh_from_db()
    assert member.email == owners_address and member.check_password(NEW_PASSWORD)


def test_the_account_page_is_never_cached(client, member):
    assert "no-store" in client.get(ACCOUNT)["Cache-Control"]


def test_the_code_mail_links_to_the_page_where_the_code_goes(member, client, deliver, mailoutbox):
    ask_to_move(client, deliver)

    [mail] = mailoutbox
    assert path_of(link_in(mail.body, CODE)) == CODE
    assert re.search(rf'<a href="https?://[^/"]+{CODE}"', mail.alternatives[0][0])


def test_times_on_the_account_page_are_in_the_persons_zone_and_name_it(client, db):
    from datetime import datetime

    member = UserFactory(language="zh-hans", email_verified_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    client.force_login(member)

    page = client.get(ACCOUNT, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Asia/Shanghai" in page and "March 2, 2026, 7:30 a.m." in page  # 8 hours ahead


def test_a_person_chooses_their_time_zone(member, client):
    TIME_ZONE = reverse("accounts:time_zone")
    assert client.post(TIME_ZONE, {"time_zone": "Mars/Olympus_Mons"}).context["form"].errors["time_zone"]

    response = client.post(TIME_ZONE, {"time_zone": "America/New_York"})

    assert response.url == ACCOUNT
    member.refresh_from_db()
    assert member.time_zone == "America/New_York"
    assert "America/New_York" in client.get(ACCOUNT).content.decode()
