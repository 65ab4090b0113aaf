"""Delivery with real peers: real `qcluster` processes and a real SMTP server on 127.0.0.1,
sharing a database (a SQLite file, or PostgreSQL in bin/test's second pass)."""

import bisect
import collections
import os
import signal
import time

import pytest
import trustme
from django.db import connection

from harness.processes import Stack, scratch_database, wait_for
from harness.smtp_sink import SmtpSink
from tests.conftest import use_smtp_server
from tests.factories import UserFactory
from verification import delivery
from verification.models import OutboundEmail

pytestmark = pytest.mark.slow

Status = OutboundEmail.Status
FAST = {"VERIFICATION_MAIL_RETRY_DELAY": "0.5", "VERIFICATION_MAIL_COOLDOWN": "0"}
# A short job timeout, so that mail held by a killed worker is taken over within seconds (its
# lease is 1.5 x Q_TIMEOUT). Only where nothing else loads the machine: a send that times out
# after its DATA may have arrived all the same, and is sent again.
SHORT_LEASE = {"Q_TIMEOUT": "9", "EMAIL_TIMEOUT": "2"}


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def stack(tmp_path, sink):
    with scratch_database(tmp_path) as database_url:
        yield Stack(database_url=database_url, smtp_port=sink.port, tmp_path=tmp_path, **FAST)


def arrivals(sink):
    """How many times each mail arrived. Each queued mail has a recipient of its own
    (Stack.queue_mails); a Message-ID would not do: every attempt has a new one."""
    return collections.Counter(message["To"] for message in sink.messages)


# --- TLS and AUTH, as QQ Mail, 163 and most providers want them ---------------------------


@pytest.fixture
def trusted_certificate(tmp_path, monkeypatch):
    """A server certificate for 127.0.0.1 from a throwaway CA that this process trusts."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    yield authority.issue_cert("127.0.0.1")


@pytest.mark.parametrize("tls, setting", [("implicit", "EMAIL_USE_SSL"), ("starttls", "EMAIL_USE_TLS")])
def test_mail_goes_out_over_tls_with_smtp_auth(db, settings, trusted_certificate, tls, setting):
    credentials = ("sender@example.com", "app-authorization-code")
    with SmtpSink(tls=tls, certificate=trusted_certificate, credentials=credentials) as server:
        use_smtp_server(
            settings,
            server.port,
            EMAIL_HOST_USER=credentials[0],
            EMAIL_HOST_PASSWORD=credentials[1],
            **{setting: True},
        )
        OutboundEmail.objects.create(user=UserFactory(), kind="password_changed")

        delivery.deliver_due_mail()

        assert len(server.wait_for(1)) == 1
    assert OutboundEmail.objects.get().status == Status.SENT


def test_a_wrong_password_holds_the_mail_with_the_servers_answer_for_staff_to_mend(
    db, settings, trusted_certificate
):
    with SmtpSink(tls="implicit", certificate=trusted_certificate, credentials=("a", "right")) as server:
        use_smtp_server(
            settings, server.port, EMAIL_USE_SSL=True, EMAIL_HOST_USER="a", EMAIL_HOST_PASSWORD="wrong"
        )
        email = OutboundEmail.objects.create(user=UserFactory(), kind="password_changed")

        delivery.deliver_due_mail()

    email.refresh_from_db()  # every other mail would get the same answer: none is failed for it
    assert (email.status, email.attempts) == (Status.QUEUED, 0) and "535" in email.last_error


# --- A real cluster ----------------------------------------------------------------------


def test_a_server_refusing_for_a_while_gets_every_mail_once(stack, sink):
    sink.refuse_next(15, "421 4.7.0 Too busy, try again later")
    sink.refuse_next(15, "451 4.3.0 Local problem")
    stack.queue_mails(20)

    with stack.qcluster():
        wait_for(lambda: len(sink.raw) >= 20, timeout=90)
        wait_for(lambda: stack.statuses() == {"sent": 20})

    assert sink.refusals == [] and set(arrivals(sink).values()) == {1}
    assert "database is locked" not in stack.log()


def test_a_provider_allowing_fewer_connections_than_the_cluster_wants_gets_every_mail_first_time(stack, sink):
    sink.max_connections, sink.delay = 5, 0.05  # 2 workers x 8 sessions ask for 16
    stack.queue_mails(200)

    with stack.qcluster():
        wait_for(lambda: len(sink.raw) >= 200, timeout=90)
        wait_for(lambda: stack.statuses() == {"sent": 200})

    assert sink.connections_refused >= 1 and sink.most_in_flight <= 5
    assert set(arrivals(sink).values()) == {1} and len(arrivals(sink)) == 200
    assert "failed (retry" not in stack.log()  # no mail was charged for a refused connection


def test_a_server_down_when_the_job_runs_gets_the_mail_after_the_backoff(stack, sink):
    sink.stop()
    stack.queue_mails(3)

    with stack.qcluster():
        wait_for(lambda: "retrying" in stack.statuses())  # the others wait for its retry
        sink.start()
        wait_for(lambda: stack.statuses() == {"sent": 3}, timeout=90)

    assert set(arrivals(sink).values()) == {1} and len(sink.raw) == 3


def test_a_cluster_killed_mid_batch_delivers_everything_after_a_restart(stack, sink, settings):
    sink.delay = 0.02  # a batch that takes a few seconds, so the kill lands in the middle
    stack.env.update(SHORT_LEASE)
    stack.queue_mails(200)

    with stack.qcluster("first") as first:
        wait_for(lambda: len(sink.raw) >= 50, timeout=90)
        os.killpg(first.pid, signal.SIGKILL)  # the whole process group: no goodbye
        first.wait()
    killed_at = len(sink.raw)
    with stack.qcluster("second"):
        wait_for(lambda: stack.statuses() == {"sent": 200}, timeout=120)
        time.sleep(1)

    counts = arrivals(sink)
    assert len(counts) == 200 and killed_at < 200
    duplicates = sum(n - 1 for n in counts.values())
    in_flight = int(stack.env.get("Q_WORKERS", "2")) * settings.VERIFICATION_SMTP_CONNECTIONS
    assert duplicates <= in_flight  # at most the mails in flight: a session each, per worker


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="three clusters on one queue need PostgreSQL: bin/test's second pass",
)
def test_three_clusters_sharing_one_queue_send_each_of_3000_mails_once(stack, sink):
    stack.queue_mails(3000)

    with stack.qcluster("a"), stack.qcluster("b"), stack.qcluster("c"):
        wait_for(lambda: len(sink.raw) >= 3000, timeout=300, every=1)
        wait_for(lambda: stack.statuses() == {"sent": 3000}, timeout=60)

    counts = arrivals(sink)
    assert len(counts) == 3000 and set(counts.values()) == {1}
    for name in "abc":
        assert "Processed" in stack.log(name) or "processing" in stack.log(name)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="three clusters on one queue need PostgreSQL: bin/test's second pass",
)
def test_three_clusters_keep_to_one_shared_send_rate_cap(stack, sink):
    stack.env["VERIFICATION_MAIL_RATE"] = "5"
    stack.queue_mails(100)

    with stack.qcluster("a"), stack.qcluster("b"), stack.qcluster("c"):
        wait_for(lambda: len(sink.raw) >= 100, timeout=120, every=0.5)
        wait_for(lambda: stack.statuses() == {"sent": 100}, timeout=60)

    arrived = sorted(sink.arrived_at)
    busiest_second = max(bisect.bisect_left(arrived, t + 1) - i for i, t in enumerate(arrived))
    assert busiest_second <= 6  # the cap, plus the one send the bucket may hold
    assert set(arrivals(sink).values()) == {1} and len(arrivals(sink)) == 100
