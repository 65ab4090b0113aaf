"""SECURITY.md 1, 5, 7, 11, 12, 14, 16, 17: how secrets are made and kept, and the settings."""

import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.urls import reverse

import site_config.settings as configured
from accounts import services
from accounts.vocabulary import Purpose
from harness.processes import manage, site_environment
from tests.factories import UserFactory
from tests.helpers import issue_code
from verification import tokens
from verification.models import OneTimeSecret

PRODUCTION = {
    "DJANGO_ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-" + "k3Y" * 20,
    "ALLOWED_HOSTS": "verify.example.org",
    "SITE_URL": "https://verify.example.org",
    "DATABASE_URL": "sqlite:////tmp/verify-check-deploy.sqlite3",
    "EMAIL_HOST": "smtp.example.org",
    "TRUSTED_PROXY_COUNT": "1",
}


def test_argon2_is_the_first_password_hasher():
    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    hasher = Argon2PasswordHasher()  # argon2-cffi is installed, not just named
    assert hasher.verify("a-long-passphrase", hasher.encode("a-long-passphrase", hasher.salt()))


def test_production_settings_pass_check_deploy_without_a_warning():
    env = {
        k: v
        for k, v in site_environment(database_url="", smtp_port=25, web_port=443).items()
        if not k.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE"))
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**env, **PRODUCTION}, check=False)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "EMAIL_HOST", "TRUSTED_PROXY_COUNT"]
)
def test_production_refuses_to_start_without_a_required_setting(missing):
    env = site_environment(database_url=PRODUCTION["DATABASE_URL"], smtp_port=25, web_port=443)
    env = {**env, **PRODUCTION}
    del env[missing]

    result = manage("check", env=env, check=False)

    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_production_sends_the_language_cookie_like_the_session_cookie():
    env = site_environment(database_url=PRODUCTION["DATABASE_URL"], smtp_port=25, web_port=443)
    env = {k: v for k, v in {**env, **PRODUCTION}.items() if not k.endswith("COOKIE_SECURE")}
    show = (
        "from django.conf import settings as s; print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY)"
    )

    assert manage("shell", "--no-imports", "-c", show, env=env).stdout.split() == ["True", "True"]


def test_a_mail_job_timeout_too_short_for_the_smtp_timeout_is_refused():
    env = site_environment(database_url=PRODUCTION["DATABASE_URL"], smtp_port=25, web_port=443)

    result = manage("check", env={**env, **PRODUCTION, "EMAIL_TIMEOUT": "30", "Q_TIMEOUT": "60"}, check=False)

    assert result.returncode != 0
    assert "Q_TIMEOUT must be more than four times EMAIL_TIMEOUT" in result.stderr


def test_codes_come_from_secrets_as_zero_padded_digits(user, monkeypatch):
    monkeypatch.setattr(tokens.secrets, "randbelow", lambda bound: 42 if bound == 10**6 else 0)

    assert issue_code(user=user, purpose=Purpose.PASSWORD_RESET) == "000042"


def test_only_a_keyed_digest_bound_to_user_and_purpose_is_stored(db):
    alice, bob = UserFactory(), UserFactory()
    code = issue_code(user=alice, purpose=Purpose.PASSWORD_RESET)
    stored = OneTimeSecret.objects.get()

    assert re.fullmatch(r"[0-9a-f]{64}", stored.digest) and code not in stored.digest
    other_user = next(tokens._digests(user_id=bob.pk, purpose=stored.purpose, secret=code))
    other_purpose = next(tokens._digests(user_id=alice.pk, purpose="activation", secret=code))
    assert stored.digest not in (other_user, other_purpose)


def test_activation_links_survive_a_key_rotation_and_die_when_the_old_key_goes(client, new_user, settings):
    token = tokens.issue_link_token(purpose=Purpose.ACTIVATION, user=new_user)
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "n3w" * 20, [old_key]
    assert services.read_activation_link(token).user == new_user

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(tokens.InvalidLink) as refused:
        services.read_activation_link(token)
    assert refused.value.reason == "invalid"


def test_activation_tokens_carry_an_opaque_id_and_never_the_email(new_user):
    from itsdangerous import URLSafeTimedSerializer

    token = tokens.issue_link_token(purpose=Purpose.ACTIVATION, user=new_user)
    _, payload = URLSafeTimedSerializer("unused").loads_unsafe(token)

    assert payload[0] == str(OneTimeSecret.objects.get().pk)
    assert new_user.email not in str(payload) and new_user.username not in str(payload)


@pytest.mark.parametrize(
    "url_name, secrets",
    [
        ("accounts:signup", {"password1", "password2"}),
        ("accounts:login", {"password"}),
        ("accounts:password_reset_confirm", {"code", "password1", "password2"}),
        ("accounts:email_change_undo", {"token", "password1", "password2"}),
    ],
)
def test_views_that_see_passwords_or_codes_are_never_cached_and_hide_them(client, db, url_name, secrets):
    response = client.post(reverse(url_name), {name: "x" for name in secrets})

    assert "no-store" in response["Cache-Control"]
    hidden = response.wsgi_request.sensitive_post_parameters
    assert hidden == "__ALL__" or secrets <= set(hidden)


def test_mail_links_come_from_site_url_not_the_host_header(client, new_user, deliver, mailoutbox, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = "https://verify.example.org"

    deliver(
        client.post,
        reverse("accounts:resend_activation"),
        {"email": new_user.email},
        HTTP_HOST="attacker.example",
    )

    assert "https://verify.example.org/accounts/activate/" in mailoutbox[0].body
    assert "attacker.example" not in mailoutbox[0].body + str(mailoutbox[0].alternatives)


def test_nothing_typed_reaches_a_mail_header_and_mail_goes_to_the_stored_address(
    client, db, deliver, mailoutbox, time_machine
):
    member = UserFactory(username="ada", email="ada.lovelace@example.com")
    typed = "ADA.LOVELACE@EXAMPLE.COM"
    deliver(client.post, reverse("accounts:password_reset"), {"email": typed})
    time_machine.advance(seconds=61)
    deliver(
        client.post,
        reverse("accounts:signup"),
        {
            "username": "mallory",
            "email": typed,
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )

    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert message.to == [member.email]
        headers = str(message.message()).split("\n\n", 1)[0]
        assert typed not in headers and "mallory" not in headers
