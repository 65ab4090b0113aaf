import contextlib
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from tests.smtp_sink import SmtpSink

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@contextmanager
def qcluster(*, smtp_port, log_path):
    """`manage.py qcluster` on the test database, mailing to `smtp_port`; stopped (its process
    group, by its pid) on exit."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "EXAMPLE_DB": str(connection.settings_dict["NAME"]),
        "EMAIL_PORT": str(smtp_port),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process, timeout=15):
    """SIGTERM to the cluster's own process, which stops its workers; what is left of its
    group after `timeout` is killed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
