"""Schemathesis against a live gunicorn and the real worker: every operation of the API's
OpenAPI schema, bounded, with no 5xx and every answer as the schema says."""

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from harness.processes import Stack, scratch_database
from harness.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

ST = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "st"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
PASSWORD = "a-long-and-unusual-passphrase"


def app_token(base_url):
    """Sign in as an app; the token lets the fuzzer reach the account's operations too."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/session",
        data=json.dumps({"username": "ada", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json", "X-Session-Token": ""},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["session_token"]


def fuzz(base_url, token, tmp_path, *selection, seconds):
    """One schemathesis run over the selected operations; return its standard output."""
    run = subprocess.run(
        [
            str(ST),
            "run",
            f"{base_url}/api/v1/openapi.json",
            *selection,
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            "20",
            "--max-time",
            str(seconds),
            "--header",
            f"X-Session-Token: {token}",
            "--seed",
            "20",
            "--no-color",
            "--generation-database",
            "none",  # nothing written into the checkout
        ],
        cwd=tmp_path,  # its cache goes there, not into the checkout
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    print(run.stdout[-2500:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases and cases.group(1) == cases.group(2), run.stdout[-3000:]
    return int(re.search(r"Tested: (\d+)", run.stdout).group(1)), int(cases.group(1))


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_schema(tmp_path):
    with SmtpSink() as sink, scratch_database(tmp_path) as database_url:
        stack = Stack(database_url=database_url, smtp_port=sink.port, tmp_path=tmp_path)
        stack.python(
            "from django.utils import timezone; from accounts.models import User;"
            f"User.objects.create_user('ada', 'ada@example.com', {PASSWORD!r},"
            " email_verified_at=timezone.now())"
        )
        with stack.qcluster(), stack.web(workers=2):
            token = app_token(stack.base_url)
            # Signing out (the one DELETE) last, so the rest is fuzzed signed in.
            signed_in = fuzz(stack.base_url, token, tmp_path, "--exclude-method", "DELETE", seconds=60)
            only_delete = ("--include-method", "DELETE", "--phases", "examples,coverage,fuzzing")
            sign_out = fuzz(stack.base_url, token, tmp_path, *only_delete, seconds=5)
            web_log = (tmp_path / "web.log").read_text()
    assert "Traceback" not in web_log
    assert signed_in[0] + sign_out[0] == len(operations_in_the_schema())
    print(f"schemathesis: {signed_in[1] + sign_out[1]} cases over {signed_in[0] + sign_out[0]} operations")


def operations_in_the_schema():
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "openapi.json").read_text())
    return [(method, path) for path, methods in schema["paths"].items() for method in methods]
