"""SECURITY.md 10: limits per address and per client IP, kept in the database."""

from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.vocabulary import Purpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activation_path, ask_for_code, mailed_code, sign_up
from verification import ratelimit
from verification.models import RateLimitBucket

RESET = reverse("accounts:password_reset")
CONFIRM = reverse("accounts:password_reset_confirm")


def wrong_guess(client, email, code="000000"):
    data = {"email": email, "code": code, "password1": "new-passphrase-x9", "password2": "new-passphrase-x9"}
    return client.post(CONFIRM, data)


def test_mail_to_one_address_waits_a_minute_and_stops_after_five_an_hour(
    client, user, deliver, mailoutbox, time_machine
):
    for _ in range(8):
        deliver(client.post, RESET, {"email": user.email})
        time_machine.advance(seconds=30)
    assert len(mailoutbox) == 4  # at 0, 60, 120 and 180 seconds

    for _ in range(4):
        time_machine.advance(seconds=61)
        deliver(client.post, RESET, {"email": user.email})
    assert len(mailoutbox) == 5  # the hourly cap

    time_machine.advance(hours=1)
    deliver(client.post, RESET, {"email": user.email})
    assert len(mailoutbox) == 6


def test_one_client_ip_is_limited_across_addresses(db, deliver, mailoutbox, settings):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 3
    users = UserFactory.create_batch(5)
    client = Client(REMOTE_ADDR="203.0.113.7")

    for member in users:
        deliver(client.post, RESET, {"email": member.email})
    deliver(Client(REMOTE_ADDR="198.51.100.1").post, RESET, {"email": users[4].email})

    assert [m.to[0] for m in mailoutbox] == [u.email for u in users[:3]] + [users[4].email]


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(db, deliver, mailoutbox, settings):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 1
    users = UserFactory.create_batch(4)

    def from_proxy(member, forwarded_for):
        client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
        deliver(client.post, RESET, {"email": member.email})

    from_proxy(users[0], "198.51.100.1")
    from_proxy(users[1], "198.51.100.2")  # a forged header changes nothing: same socket address
    assert len(mailoutbox) == 1

    settings.TRUSTED_PROXY_COUNT = 1
    from_proxy(users[2], "spoofed, 198.51.100.3")
    from_proxy(users[3], "198.51.100.3")  # the client the proxy saw, already counted
    assert [m.to[0] for m in mailoutbox] == [users[0].email, users[2].email]


def test_a_stranger_who_spent_every_guess_cannot_stop_the_owner_resetting(
    client, user, deliver, mailoutbox, time_machine
):
    ask_for_code(client, deliver, user.email, mailoutbox)
    stranger = Client(REMOTE_ADDR="203.0.113.50")
    for _ in range(25):  # past the code's own limit, and past the old per-address limit (20)
        wrong_guess(stranger, user.email)
    time_machine.advance(seconds=61)
    owner = Client(REMOTE_ADDR="198.51.100.20")
    code = ask_for_code(owner, deliver, user.email, mailoutbox)

    response = deliver(wrong_guess, owner, user.email, code)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-passphrase-x9")


def test_code_guesses_per_ip_are_limited_across_addresses(db, settings):
    settings.VERIFICATION_CHECKS_PER_IP_PER_HOUR = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    answers = [wrong_guess(client, f"person{n}@example.com") for n in range(4)]

    assert [a.context["form"].has_error("code", "rate_limited") for a in answers] == [False] * 3 + [True]


def test_strangers_cannot_lock_anyone_out_of_signing_in(user):
    for n in range(25):
        wrong_guess(Client(REMOTE_ADDR=f"203.0.113.{n}"), user.email)

    client = Client()
    client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    assert client.get(reverse("home")).context["user"] == user


def test_limits_live_in_the_database_keyed_by_digest(user, deliver, client):
    deliver(client.post, RESET, {"email": user.email})

    buckets = RateLimitBucket.objects.all()
    assert {b.scope for b in buckets} == {"request_from_client", "mail_cooldown", "mail_to_address"}
    for bucket in buckets:
        assert user.email not in bucket.key and "127.0.0.1" not in bucket.key
    cooldown = (ratelimit.Scope.MAIL_COOLDOWN, f"{Purpose.PASSWORD_RESET}:{user.email}")
    assert ratelimit.seconds_until_allowed(*cooldown) == 60


def test_the_one_minute_cooldown_is_per_kind_of_mail(client, db, deliver, mailoutbox):
    sign_up(client, deliver, mailoutbox)
    deliver(client.post, RESET, {"email": "ada@example.com"})  # seconds later: another kind
    deliver(client.post, RESET, {"email": "ada@example.com"})  # the same kind: held back

    assert len(mailoutbox) == 2 and activation_path(mailoutbox[0]) and mailed_code(mailoutbox[1])
    assert 'data-wait-seconds="60"' in client.get(CONFIRM).content.decode()


def test_the_send_again_button_counts_down_the_cooldown(client, user, deliver, time_machine):
    deliver(client.post, RESET, {"email": user.email})
    time_machine.advance(seconds=20)

    html = client.get(CONFIRM).content.decode()

    assert 'data-wait-seconds="40"' in html and "disabled" in html
    time_machine.advance(seconds=41)
    assert "data-wait-seconds" not in client.get(CONFIRM).content.decode()


def test_wrong_passwords_from_one_ip_are_slowed_down_without_locking_the_owner_out(user, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 3
    guesser = Client(REMOTE_ADDR="203.0.113.66")
    login = reverse("accounts:login")
    for _ in range(3):
        guesser.post(login, {"username": user.username, "password": "wrong"})

    refused = guesser.post(login, {"username": user.username, "password": PASSWORD})
    owner = Client(REMOTE_ADDR="198.51.100.20")
    owner.post(login, {"username": user.username, "password": PASSWORD})

    assert refused.context["form"].has_error("__all__", "rate_limited")
    assert "Try again in" in refused.content.decode()
    assert owner.get(reverse("home")).context["user"] == user


def test_right_passwords_do_not_count_against_the_limit(user, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 1
    client = Client()
    for _ in range(3):
        client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
        client.post(reverse("accounts:logout"))

    response = client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_the_admin_sign_in_is_throttled_too(db, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 2
    staff = UserFactory(is_staff=True)
    client = Client()
    for _ in range(2):
        client.post(reverse("admin:login"), {"username": staff.username, "password": "wrong"})

    response = client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD})

    assert response.status_code == 200 and "Try again in" in response.content.decode()


def test_an_ipv6_client_is_its_64_network(db, deliver, mailoutbox, settings):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 2
    users = UserFactory.create_batch(4)
    addresses = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:abcd::5", "2001:db8:1:3::1"]

    for member, address in zip(users, addresses, strict=True):
        deliver(Client(REMOTE_ADDR=address).post, RESET, {"email": member.email})

    # Three addresses of one /64 are one client; another /64 is another client.
    assert [m.to[0] for m in mailoutbox] == [users[0].email, users[1].email, users[3].email]


def test_the_ipv6_prefix_is_configurable_and_ipv4_mapped_addresses_are_ipv4(settings):
    settings.VERIFICATION_IPV6_PREFIX = 48

    assert ratelimit.client_network("2001:db8:1:2::1") == "2001:db8:1::/48"
    assert ratelimit.client_network("::ffff:198.51.100.7") == "198.51.100.7"
    assert ratelimit.client_network("198.51.100.7") == "198.51.100.7"


def test_a_refused_sign_up_is_refused_before_the_password_is_hashed(db, settings, monkeypatch):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 1
    hashed = []
    monkeypatch.setattr(services, "make_password", lambda raw: hashed.append(raw) or "!")
    client = Client(REMOTE_ADDR="203.0.113.80")
    for n in range(3):
        client.post(
            reverse("accounts:signup"),
            {
                "username": f"person{n}",
                "email": f"person{n}@example.com",
                "password1": "a-long-and-unusual-passphrase",
                "password2": "a-long-and-unusual-passphrase",
            },
        )

    assert len(hashed) == 1


def sign_in(client, username, password=PASSWORD, page="accounts:login"):
    """Post the sign-in form; return the form's error codes (none: signed in), signed out again."""
    response = client.post(reverse(page), {"username": username, "password": password})
    client.logout()
    if response.status_code == 302:
        return []
    return [error.code for error in response.context["form"].non_field_errors().as_data()]


def hits_left(scope, key):
    """How many more hits (scope, key) lets through now (spending them)."""
    passed = 0
    while passed < 1000 and not ratelimit.hit(scope, key):
        passed += 1
    return passed


def test_a_refund_takes_back_one_hit_and_only_one(db, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 30
    scope, key = ratelimit.Scope.FAILED_SIGNIN_FROM_CLIENT, "203.0.113.70"
    for _ in range(2):
        ratelimit.hit(scope, key)

    ratelimit.refund(scope, key)
    ratelimit.refund(scope, "198.51.100.70")  # nothing to take back

    assert hits_left(scope, key) == 29
    assert hits_left(scope, "198.51.100.70") == 30  # a refund gives nothing beyond the allowance


def test_a_right_password_takes_back_the_try_counted_before_it_was_checked(user, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 3
    client = Client(REMOTE_ADDR="203.0.113.71")

    passwords = ["wrong", PASSWORD, "wrong", PASSWORD]

    answers = [sign_in(client, user.username, password) for password in passwords]

    assert answers == [["invalid_login"], [], ["invalid_login"], []]
    assert hits_left(ratelimit.Scope.FAILED_SIGNIN_FROM_CLIENT, "203.0.113.71") == 1


def test_a_right_current_password_takes_back_its_try(user, settings):
    settings.VERIFICATION_FAILED_SIGNINS_PER_IP_PER_HOUR = 30
    services.verify_password_counting_failures(user=user, password=PASSWORD, client_ip="203.0.113.72")

    assert hits_left(ratelimit.Scope.FAILED_SIGNIN_FROM_CLIENT, "203.0.113.72") == 30


def test_every_sign_in_from_one_client_counts_right_passwords_too(user, settings):
    settings.VERIFICATION_SIGNINS_PER_IP_PER_HOUR = 3
    busy = Client(REMOTE_ADDR="203.0.113.73")

    answers = [sign_in(busy, user.username) for _ in range(4)]

    assert answers == [[], [], [], ["rate_limited"]]
    assert sign_in(Client(REMOTE_ADDR="198.51.100.73"), user.username) == []


def test_the_admin_sign_in_counts_every_sign_in_too(db, settings):
    settings.VERIFICATION_SIGNINS_PER_IP_PER_HOUR = 2
    staff = UserFactory(is_staff=True)
    client = Client()

    answers = [sign_in(client, staff.username, page="admin:login") for _ in range(3)]

    assert answers == [[], [], ["rate_limited"]]


def test_an_account_takes_a_few_new_sessions_an_hour_and_strangers_spend_none(user, settings):
    settings.VERIFICATION_SESSIONS_PER_ACCOUNT_PER_HOUR = 2
    for n in range(5):  # wrong passwords from anywhere spend nothing of the account's
        assert sign_in(Client(REMOTE_ADDR=f"203.0.113.{n}"), user.username, "wrong") == ["invalid_login"]

    answers = [sign_in(Client(REMOTE_ADDR=f"198.51.100.{n}"), user.username) for n in range(3)]

    assert answers == [[], [], ["rate_limited"]]


def test_a_new_password_starts_a_new_count_of_sessions(user, settings):
    # Whoever spent the sessions with a stolen password does not keep the owner out once the
    # owner has set a new one (by a code, which proves the mailbox).
    settings.VERIFICATION_SESSIONS_PER_ACCOUNT_PER_HOUR = 1
    assert sign_in(Client(REMOTE_ADDR="203.0.113.74"), user.username) == []

    services.set_new_password(user=user, password="a-brand-new-passphrase")

    assert sign_in(Client(), user.username, "a-brand-new-passphrase") == []
    assert sign_in(Client(), user.username, "a-brand-new-passphrase") == ["rate_limited"]
