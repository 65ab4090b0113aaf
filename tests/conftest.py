from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf

from harness.smtp_sink import SmtpSink
from tests.factories import UserFactory
from verification import clock, smtp


@pytest.fixture(autouse=True)
def _fast_hashing_and_inline_jobs(settings, monkeypatch):
    """Cheap hashing, and Django-Q2 jobs run in the test's own process and transaction."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _fresh_smtp_sessions():
    """No SMTP session, thread or provider's refusal outlives the test that made it (sessions
    keep the mail settings they were made with)."""
    yield
    smtp.pool.reset()


@pytest.fixture
def jobs_wait_in_the_queue(monkeypatch):
    """Django-Q2 jobs go to the ORM broker's queue instead of running inline, as in production
    (for tests of what a request queues, or of workers that are the test's own threads)."""
    monkeypatch.setattr(Conf, "SYNC", False)


class MovableClock:
    def __init__(self):
        self.now = timezone.now()

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def time_machine(monkeypatch):
    """The verification clock, frozen now and moved forward by `advance(minutes=...)`."""
    moved = MovableClock()
    monkeypatch.setattr(clock, "current_time", lambda: moved.now)
    return moved


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run a request (or any call) and then the mail jobs it queued on commit."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def new_user(db):
    return UserFactory(awaiting_activation=True)


def use_smtp_server(settings, port, **overrides):
    """Point Django's SMTP backend at a server on 127.0.0.1."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_SSL = settings.EMAIL_USE_TLS = False
    for name, value in overrides.items():
        setattr(settings, name, value)
    smtp.pool.reset()  # sessions made for another server are not reused


def deliver_until_none_is_due(jobs=10):
    """Run mail jobs until no mail is due (at most `jobs` of them), so that a test does not
    depend on one job sending everything within its time on a busy machine."""
    from verification.delivery import deliver_due_mail
    from verification.models import OutboundEmail

    for _ in range(jobs):
        deliver_due_mail()
        if not OutboundEmail.claimable().exists():
            return
    raise AssertionError(f"mail still due after {jobs} jobs")


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server that the site's mail goes to, inside this test process."""
    with SmtpSink() as sink:
        use_smtp_server(settings, sink.port)
        yield sink
        smtp.pool.reset()  # before the sink stops, which would drop its connections
