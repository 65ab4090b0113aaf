"""A bounce read back is shown where that reveals nothing about accounts: the "check your
inbox" page after sign-up and the address-change code page; never on the reset or sign-in-code
pages (SECURITY.md 26). An address whose mail bounced for good is asked about once."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.test_bounces import bounce_of
from verification import bounces, ratelimit, suppression
from verification.models import OutboundEmail, Suppression

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status
SIGN_UP = reverse("accounts:signup")
DONE = reverse("accounts:signup_done")
BOUNCING = "lin@bounce.example"
NOTICE = (
    f"The mail to {BOUNCING} could not be delivered: there is no mailbox at that address. Check the address."
)


def sign_up(client, deliver, email=BOUNCING, **extra):
    data = {"username": "lin", "email": email, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return deliver(client.post, SIGN_UP, data)


def bounce_the_last_mail(fixture="postfix-remote-550.eml"):
    email = OutboundEmail.objects.latest("pk")
    assert bounces.record_bounce(raw=bounce_of(fixture, email.message_id))


def test_the_page_after_sign_up_says_when_its_mail_bounced(client, deliver, mailoutbox):
    response = sign_up(client, deliver)
    assert response.url == DONE
    assert "could not be delivered" not in client.get(DONE).content.decode()

    bounce_the_last_mail()

    page = client.get(DONE).content.decode()
    assert NOTICE in page and f'href="{SIGN_UP}"' in page


def test_the_page_says_the_same_for_an_address_that_has_an_account(client, deliver, mailoutbox):
    UserFactory(email=BOUNCING)  # "you already have an account" goes to the same address
    sign_up(client, deliver)

    bounce_the_last_mail()

    assert NOTICE in client.get(DONE).content.decode()


def test_the_page_after_sign_up_tells_nothing_of_the_accounts_own_mail(client, deliver, mailoutbox):
    # The second attacker of session 7 signed up with someone's address, then read on that
    # page the later bounce of the owner's reset code: only an account gets one.
    UserFactory(email=BOUNCING)
    sign_up(client, deliver)
    deliver(Client().post, reverse("accounts:password_reset"), {"email": BOUNCING})

    bounce_the_last_mail("postfix-delayed.eml")  # the reset code's, temporary

    assert "could not be delivered" not in client.get(DONE).content.decode()


def test_send_again_to_a_bounced_address_sends_nothing_until_staff_lift_it(
    client, deliver, mailoutbox, time_machine
):
    sign_up(client, deliver)
    bounce_the_last_mail()
    sent = len(mailoutbox)
    time_machine.advance(minutes=2)  # past the cooldown

    deliver(client.post, reverse("accounts:resend_activation"), {"email": BOUNCING})

    assert len(mailoutbox) == sent
    assert OutboundEmail.objects.latest("pk").status == Status.SUPPRESSED
    suppression.lift_suppressions(Suppression.objects.all())
    time_machine.advance(minutes=2)
    deliver(client.post, reverse("accounts:resend_activation"), {"email": BOUNCING})
    assert len(mailoutbox) == sent + 1


def test_an_address_that_bounced_for_good_is_asked_about_once_and_may_be_tried_again(
    client, deliver, mailoutbox
):
    suppression.suppress_address(address=BOUNCING, source="bounce", reason="550 5.1.1 User unknown")

    refused = sign_up(client, deliver)

    form = refused.context["form"]
    assert form.errors.as_data()["email"][0].code == "bounced_before"
    assert "could not be delivered before" in refused.content.decode()
    assert 'type="checkbox" name="try_again"' in refused.content.decode()
    assert not User.objects.exists() and mailoutbox == []

    sign_up(client, deliver, try_again="on")

    assert User.objects.get().email == BOUNCING and len(mailoutbox) == 1
    bounce_the_last_mail()  # it bounces again: no second retry is offered; the mail is held
    client.cookies.clear()
    assert sign_up(client, deliver, username="lin2").url == DONE
    assert len(mailoutbox) == 1
    assert NOTICE in client.get(DONE).content.decode()


def test_a_refused_request_spends_no_retry_of_a_bounced_address(
    client, user, deliver, mailoutbox, monkeypatch
):
    # The fresh attacker of session 7 lifted a bounced address's suppression with requests
    # that every limit refused: the retry was spent before the limits were asked.
    suppression.suppress_address(address=BOUNCING, source="bounce", reason="550 5.1.1 User unknown")
    monkeypatch.setattr(ratelimit, "hit", lambda scope, key: 60)  # every limit refuses

    sign_up(client, deliver, try_again="on")
    client.force_login(user)
    data = {"new_email": BOUNCING, "current_password": PASSWORD, "try_again": "on"}
    deliver(client.post, reverse("accounts:email_change"), data)

    assert mailoutbox == []
    assert suppression.retry_offered(BOUNCING) is not None  # the owner's one retry is still there


def test_a_complaint_is_not_told_to_whoever_types_the_address(client, deliver, mailoutbox):
    suppression.suppress_address(address=BOUNCING, source="complaint", reason="abuse report")

    assert sign_up(client, deliver).url == DONE
    assert "could not be delivered" not in client.get(DONE).content.decode()


def test_the_address_change_code_page_says_when_its_mail_bounced(client, user, deliver, mailoutbox):
    client.force_login(user)
    data = {"new_email": BOUNCING, "current_password": PASSWORD}
    deliver(client.post, reverse("accounts:email_change"), data)
    code_page = reverse("accounts:email_change_code")
    assert "could not be delivered" not in client.get(code_page).content.decode()

    bounce_the_last_mail()

    page = client.get(code_page).content.decode()
    assert NOTICE in page and f'href="{reverse("accounts:email_change")}"' in page


def test_the_address_change_form_asks_about_a_bounced_address(client, user, deliver, mailoutbox):
    client.force_login(user)
    suppression.suppress_address(address=BOUNCING, source="bounce", reason="550 5.1.1")
    data = {"new_email": BOUNCING, "current_password": PASSWORD}

    refused = deliver(client.post, reverse("accounts:email_change"), data)

    assert refused.context["form"].errors.as_data()["new_email"][0].code == "bounced_before"
    deliver(client.post, reverse("accounts:email_change"), {**data, "try_again": "on"})
    assert mailoutbox[-1].to == [BOUNCING]


@pytest.mark.parametrize(
    "ask, page",
    [
        ("accounts:password_reset", "accounts:password_reset_confirm"),
        ("accounts:login_code_request", "accounts:login_code"),
    ],
)
def test_reset_and_sign_in_code_pages_never_show_delivery_state(client, deliver, mailoutbox, ask, page):
    # They would tell whether the address has an account (only an account's address is mailed).
    user = UserFactory(email=BOUNCING)
    deliver(client.post, reverse(ask), {"email": user.email})
    bounce_the_last_mail()

    following = deliver(client.post, reverse(ask), {"email": user.email}, follow=True)

    assert following.redirect_chain and following.redirect_chain[-1][0].startswith(reverse(page))
    body = following.content.decode()
    assert "could not be delivered" not in body and "Check the address" not in body


def test_the_notice_is_in_chinese_on_a_chinese_page(client, deliver, mailoutbox):
    client.cookies["django_language"] = "zh-hans"
    sign_up(client, deliver)
    bounce_the_last_mail()

    page = client.get(DONE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert f"发往 {BOUNCING} 的邮件无法送达：这个地址没有邮箱。请检查地址。" in page
