"""The site as it runs for real: migrate, gunicorn and `manage.py qcluster` as separate
processes on one database, all bound to 127.0.0.1, all stopped when the test ends."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from harness.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def site_environment(*, database_url, smtp_port, web_port, **overrides):
    """Production-like settings (DEBUG off), plain-HTTP cookies, mail to the test's sink."""
    return {
        **os.environ,
        "DJANGO_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "site_config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "integration-tests-only-7c1d0e5a9b8f4e2d8a6c3b1f0e9d7c5a",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_SSL": "false",
        "EMAIL_USE_TLS": "false",
        "SECURE_SSL_REDIRECT": "false",
        "TRUSTED_PROXY_COUNT": "0",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        # Pages link static files by name, without collectstatic's manifest.
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        **overrides,
    }


@contextmanager
def scratch_database(tmp_path):
    """A database for the processes a test starts: a fresh PostgreSQL database in the
    PostgreSQL pass (DATABASE_URL=postgres://...), a SQLite file otherwise."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path}/site.sqlite3"
        return
    import psycopg

    name = f"verify_stack_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def manage(*args, env=None, check=True):
    """Run `manage.py` with `args` in `env` (this process's by default); return the finished
    process with its text output. With `check`, a non-zero exit raises."""
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


@contextmanager
def running(command, *, env, log_path):
    """Start `command` with its output in `log_path`; stop it (and its children) on exit."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process, timeout=15):
    """SIGTERM to the process we started, then SIGKILL to whatever of its group is left.
    The leader first: Django-Q2's cluster stops its own workers in under a second, where a
    signal to the whole group left it waiting for them the full timeout."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def qcluster(*, env, log_path):
    return running([PYTHON, "manage.py", "qcluster"], env=env, log_path=log_path)


def gunicorn(*, env, log_path, port, workers=1):
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "site_config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "30",
    ]
    return running(command, env=env, log_path=log_path)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def wait_until_serving(url, timeout=30):
    """Wait until the server at `url` answers anything at all (a redirect or error counts)."""
    opener = urllib.request.build_opener(NoRedirects)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


__all__ = [
    "free_port",
    "gunicorn",
    "manage",
    "qcluster",
    "scratch_database",
    "site_environment",
    "wait_until_serving",
]


class Stack:
    """A migrated database for the site plus the environment its processes run with."""

    def __init__(self, *, database_url, smtp_port, tmp_path, **overrides):
        self.tmp_path = tmp_path
        self.web_port = free_port()
        self.env = site_environment(
            database_url=database_url, smtp_port=smtp_port, web_port=self.web_port, **overrides
        )
        manage("migrate", "--noinput", env=self.env)

    def python(self, code):
        """Run `code` in `manage.py shell` against this stack's database; return its output."""
        return manage("shell", "--no-imports", "-c", code, env=self.env).stdout

    def queue_mails(self, count, kind="password_changed"):
        """Make `count` users and queue one mail to each, as requests would."""
        self.python(USERS_AND_MAILS.format(count=count, kind=kind, queue=True))

    def make_users(self, count):
        """Make `count` active users and return their addresses."""
        out = self.python(USERS_AND_MAILS.format(count=count, kind="", queue=False))
        return json.loads(out.strip().splitlines()[-1])

    def statuses(self):
        """How many mail records are in each status, e.g. {"sent": 3}."""
        out = self.python(
            "import json, collections; from verification.models import OutboundEmail as E;"
            "print(json.dumps(collections.Counter(E.objects.values_list('status', flat=True))))"
        )
        return json.loads(out.strip().splitlines()[-1])

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.web_port}"

    def qcluster(self, name="qcluster"):
        return qcluster(env=self.env, log_path=self.tmp_path / f"{name}.log")

    @contextmanager
    def web(self, workers=1):
        """gunicorn on `web_port`, yielded once it answers."""
        with gunicorn(
            env=self.env, log_path=self.tmp_path / "web.log", port=self.web_port, workers=workers
        ) as process:
            wait_until_serving(self.base_url + "/health/")
            yield process

    def log(self, name="qcluster"):
        return (self.tmp_path / f"{name}.log").read_text()


USERS_AND_MAILS = """
import uuid
from accounts.models import User
from verification.models import OutboundEmail
from verification.outbox import wake_a_worker
run = uuid.uuid4().hex[:8]
users = User.objects.bulk_create(
    User(username=f"u{{run}}{{n}}", email=f"u{{run}}{{n}}@example.com", is_active=True)
    for n in range({count})
)
if {queue}:
    OutboundEmail.objects.bulk_create(OutboundEmail(user=u, kind="{kind}") for u in users)
    wake_a_worker()  # after the commit above: the workers see the whole batch at once
print(__import__("json").dumps([u.email for u in users]))
"""


def wait_for(predicate, timeout=60, every=0.2):
    """Poll `predicate()` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s")
        time.sleep(every)
