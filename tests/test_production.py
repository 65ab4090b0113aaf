"""The production way to run the site (docs/operations.md, "Production"): migrations, collectstatic,
gunicorn with WhiteNoise, HTTPS settings, and the health check."""

import io
import json
import os
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.urls import reverse

from harness.processes import (
    NoRedirects,
    free_port,
    gunicorn,
    manage,
    scratch_database,
    site_environment,
    wait_until_serving,
)
from verification.models import OutboundEmail


def test_migrations_match_the_models(tmp_path):
    # A scratch database: makemigrations reads the migration history from one.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/scratch.sqlite3"}
    result = manage("makemigrations", "--check", "--dry-run", env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def fetch(url, headers=None):
    """One request, redirects not followed: (status, headers, body)."""
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def production_env(tmp_path):
    """The documented production variables: HTTPS settings left at their defaults."""
    port = free_port()
    with scratch_database(tmp_path) as database_url:
        env = site_environment(database_url=database_url, smtp_port=25, web_port=port)
        for name in (
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "STATICFILES_BACKEND",
        ):
            env.pop(name, None)
        env.update(
            STATIC_ROOT=str(tmp_path / "static"), SECURE_PROXY_SSL_HEADER="true", ALLOWED_HOSTS="127.0.0.1"
        )
        yield env, port


@pytest.mark.slow
def test_gunicorn_serves_pages_static_files_and_health_over_https_only(production_env, tmp_path):
    env, port = production_env
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", env=env)
    base = f"http://127.0.0.1:{port}"
    behind_tls_proxy = {"X-Forwarded-Proto": "https"}

    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log", port=port, workers=2):
        wait_until_serving(base + "/health/")

        status, headers, _ = fetch(base + "/")
        assert status == 301 and headers["Location"].startswith("https://")

        status, headers, page = fetch(base + "/", behind_tls_proxy)
        assert status == 200 and "max-age=31536000" in headers["Strict-Transport-Security"]
        css = next(
            part.split('"')[0]
            for part in page.decode().split('href="')
            if part.startswith("/static/bootstrap/css/bootstrap.min.")
        )
        assert css != "/static/bootstrap/css/bootstrap.min.css"  # a hashed name, cacheable forever

        status, headers, body = fetch(base + css, {**behind_tls_proxy, "Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert headers.get("Content-Encoding") == "gzip" and "immutable" in headers["Cache-Control"]

        status, _, body = fetch(base + "/health/")  # plain HTTP: load balancers probe that way
        assert status == 200
        assert json.loads(body) == {"status": "ok"}


@pytest.mark.slow
def test_health_reports_503_when_the_database_is_gone(production_env, tmp_path):
    env, port = production_env
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"

    with gunicorn(env=env, log_path=tmp_path / "gunicorn.log", port=port):
        wait_until_serving(f"http://127.0.0.1:{port}/health/")
        status, _, body = fetch(f"http://127.0.0.1:{port}/health/")

    assert status == 503 and json.loads(body) == {"status": "error", "database": "unreachable"}


def test_public_health_says_nothing_that_one_request_moves(client, user, deliver):
    before = client.get("/health/").content
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    OutboundEmail.objects.create(user=user, kind="activation")  # and one the worker has not taken

    assert client.get("/health/").content == before == b'{"status": "ok"}'


def test_staff_and_scripts_see_waiting_mail_and_its_oldest_age(admin_client, user, time_machine):
    OutboundEmail.objects.create(user=user, kind="activation")
    time_machine.advance(seconds=42)
    OutboundEmail.objects.create(user=user, kind="password_reset", status="retrying")
    OutboundEmail.objects.create(user=user, kind="password_changed", status="sent", sent_at=time_machine.now)

    body = admin_client.get("/health/mail/").json()

    expected = {"sent_per_second_last_minute": 0.02, "waiting": 2, "oldest_waiting_age_seconds": 42.0}
    assert {name: body[name] for name in expected} == expected
    assert user.email not in str(body)
    printed = io.StringIO()
    call_command("mail_queue_status", stdout=printed)
    assert json.loads(printed.getvalue()) == body


def test_only_staff_see_the_mail_queue(client, user):
    client.force_login(user)

    response = client.get("/health/mail/")

    assert response.status_code == 302 and "/admin/login/" in response.url
