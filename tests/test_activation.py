from django.urls import reverse

from accounts.models import User
from accounts.vocabulary import Purpose
from tests.factories import UserFactory
from tests.helpers import activate, activation_path, sign_up
from verification.models import OneTimeSecret


def test_opening_the_link_changes_nothing_until_confirmed(client, db, deliver, mailoutbox):
    path = sign_up(client, deliver, mailoutbox)

    response = client.get(path)

    assert response.status_code == 200
    assert response["Referrer-Policy"] == "strict-origin"  # the origin, never the path
    assert b"Activate my account" in response.content
    assert not User.objects.get(username="ada").is_active
    assert OneTimeSecret.objects.get().used_at is None


def test_confirming_the_link_with_the_password_activates_and_signs_in(client, db, deliver, mailoutbox):
    path = sign_up(client, deliver, mailoutbox)

    response = activate(client, path)

    assert response.status_code == 302 and response.url == reverse("home")
    user = User.objects.get(username="ada")
    assert user.is_active and user.email_verified_at is not None
    assert client.get(reverse("home")).context["user"] == user


def test_a_wrong_password_activates_nothing_and_leaves_the_link_usable(client, db, deliver, mailoutbox):
    path = sign_up(client, deliver, mailoutbox)

    refused = activate(client, path, password="not-the-sign-up-password")

    assert refused.status_code == 200
    assert refused.context["form"].has_error("password", "wrong_password")
    assert not User.objects.get(username="ada").is_active
    assert activate(client, path).status_code == 302


def test_wrong_activation_passwords_count_against_the_client(client, db, deliver, mailoutbox, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 2
    path = sign_up(client, deliver, mailoutbox)
    for _ in range(2):
        activate(client, path, password="guess")

    refused = activate(client, path)

    assert refused.context["form"].has_error("password", "rate_limited")
    assert not User.objects.get(username="ada").is_active


def test_a_used_link_is_refused_and_points_to_sign_in(client, db, deliver, mailoutbox):
    path = sign_up(client, deliver, mailoutbox)
    activate(client, path)

    for response in (client.get(path), activate(client, path)):
        assert response.status_code == 400
        assert response.context["refused"] == "used"


def test_an_expired_link_is_refused_and_offers_a_new_one(client, db, deliver, mailoutbox, time_machine):
    path = sign_up(client, deliver, mailoutbox)
    time_machine.advance(hours=24, seconds=1)

    response = client.post(path)

    assert response.status_code == 400
    assert response.context["refused"] == "expired"
    assert reverse("accounts:resend_activation").encode() in response.content
    assert not User.objects.get(username="ada").is_active


def test_a_tampered_link_is_refused_as_invalid(client, db, deliver, mailoutbox):
    path = sign_up(client, deliver, mailoutbox)
    token = path.split("/")[-2]
    # A character inside the signature (the last one's low bits are padding, which decoding
    # may ignore), a cut token, a huge one, a non-ASCII one.
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    tampered = [flipped, token[:20], "x" * 5000, "🙂"]

    for bad in tampered:
        response = client.post(reverse("accounts:activate", args=[bad]))
        assert response.status_code == 400
        assert response.context["refused"] == "invalid"
    assert not User.objects.get(username="ada").is_active


def test_a_new_link_replaces_the_old_one(client, db, deliver, mailoutbox, time_machine):
    old_path = sign_up(client, deliver, mailoutbox)
    time_machine.advance(seconds=61)  # past the one-mail-a-minute limit

    response = deliver(client.post, reverse("accounts:resend_activation"), {"email": "ADA@example.com"})

    assert response.url == reverse("accounts:activation_sent")
    new_path = activation_path(mailoutbox[-1])
    assert new_path != old_path
    assert activate(client, old_path).context["refused"] == "expired"
    assert activate(client, new_path).status_code == 302
    assert User.objects.get(username="ada").is_active


def test_resend_answers_the_same_for_any_address_and_mails_only_the_waiting_account(
    client, db, deliver, mailoutbox
):
    waiting = UserFactory(awaiting_activation=True)
    active = UserFactory()
    switched_off = UserFactory(deactivated=True)

    answers = [
        deliver(client.post, reverse("accounts:resend_activation"), {"email": email})
        for email in (waiting.email, active.email, switched_off.email, "nobody@example.com")
    ]

    assert {(a.status_code, a.url) for a in answers} == {(302, reverse("accounts:activation_sent"))}
    assert [m.to for m in mailoutbox] == [[waiting.email]]
    assert OneTimeSecret.objects.filter(purpose=Purpose.ACTIVATION).count() == 1


def test_the_activation_mail_says_the_page_asks_for_the_sign_up_password(client, db, deliver, mailoutbox):
    sign_up(client, deliver, mailoutbox)

    [mail] = mailoutbox
    said = "The page asks for the password you chose when you signed up."
    assert said in mail.body and said in mail.alternatives[0][0]
