"""An app, played by a plain HTTP client, against gunicorn, a real `qcluster` worker and a
real SMTP server: every flow through the API, and after the undo no earlier token works."""

import json
import re
import urllib.error
import urllib.request

import pytest

from harness.processes import Stack, scratch_database
from harness.smtp_sink import SmtpSink, text_body
from tests.api_client import undo_token_in
from tests.helpers import code_in

pytestmark = pytest.mark.slow

PASSWORD = "a-long-and-unusual-passphrase"
NEW_PASSWORD = "another-long-passphrase-99"


class App:
    """One installation of an app: it keeps the session token it is given, nothing else."""

    def __init__(self, base_url):
        self.base_url, self.token = base_url, ""

    def call(self, method, path, body=None):
        request = urllib.request.Request(
            f"{self.base_url}/api/v1{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", "X-Session-Token": self.token},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            status, raw = refused.code, refused.read()
        data = json.loads(raw) if raw else None
        if isinstance(data, dict) and data.get("session_token"):
            self.token = data["session_token"]
        return status, data

    def signed_in(self):
        return self.call("GET", "/session")[0] == 200


def test_an_app_goes_through_every_flow_over_real_mail(tmp_path):
    with SmtpSink() as sink, scratch_database(tmp_path) as database_url:
        stack = Stack(
            database_url=database_url, smtp_port=sink.port, tmp_path=tmp_path, VERIFICATION_MAIL_COOLDOWN="0"
        )
        with stack.qcluster(), stack.web():
            run_every_flow(stack.base_url, sink)
        assert "database is locked" not in stack.log()


def run_every_flow(base_url, sink):
    phone = App(base_url)
    body = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    assert phone.call("POST", "/signup", body)[0] == 202
    [activation] = sink.wait_for(1)
    token = re.search(r"/accounts/activate/([^/\s]+)/", text_body(activation)).group(1)
    status, session = phone.call("POST", "/activation", {"token": token, "password": PASSWORD})
    assert status == 200 and session["user"]["username"] == "ada"
    tokens = [phone.token]

    tablet = App(base_url)
    assert tablet.call("POST", "/session", {"username": "ada@example.com", "password": PASSWORD})[0] == 200
    tokens.append(tablet.token)

    forgot = App(base_url)
    status, asked = forgot.call("POST", "/password-reset", {"email": "ada@example.com"})
    assert status == 202
    code = code_in(text_body(sink.wait_for(2)[1]))
    reset = {"email": "ada@example.com", "code": code, "request": asked["request"]}
    reset |= {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert forgot.call("POST", "/password-reset/confirm", reset)[0] == 204
    assert not phone.signed_in() and not tablet.signed_in()  # a reset ends every session

    assert App(base_url).call("POST", "/sign-in-code", {"email": "ada@example.com"})[0] == 202
    code_mail = next(m for m in sink.wait_for(4)[2:] if "sign" in m["Subject"].lower())
    laptop = App(base_url)  # never saw the request
    status, _ = laptop.call(
        "POST", "/sign-in-code/confirm", {"email": "ada@example.com", "code": code_in(text_body(code_mail))}
    )
    assert status == 200 and laptop.signed_in()
    tokens.append(laptop.token)

    change = {"new_email": "ada@new.example.org", "current_password": NEW_PASSWORD}
    assert laptop.call("POST", "/account/email", change)[0] == 202
    to_new = wait_for_mail(sink, "ada@new.example.org")
    status, moved = laptop.call("POST", "/account/email/confirm", {"code": code_in(text_body(to_new))})
    assert status == 200 and moved["user"]["email"] == "ada@new.example.org"
    tokens.append(laptop.token)

    notice = wait_for_mail(sink, "ada@example.com", after=to_new)
    undo_token = undo_token_in(text_body(notice))
    owner = App(base_url)
    undo = {
        "token": undo_token,
        "password1": "the-owners-own-passphrase",
        "password2": "the-owners-own-passphrase",
    }
    status, back = owner.call("POST", "/account/email/undo", undo)
    assert status == 200 and back["user"]["email"] == "ada@example.com"

    for token in tokens:
        dead = App(base_url)
        dead.token = token
        assert not dead.signed_in(), token
    assert owner.signed_in()


def wait_for_mail(sink, address, *, after=None):
    """The first mail to `address` that arrived after `after` (a message), waiting for it."""
    for count in range(1, 30):
        messages = sink.wait_for(count)
        start = messages.index(after) + 1 if after is not None else 0
        found = [m for m in messages[start:] if m["To"] == address]
        if found:
            return found[0]
    raise AssertionError(f"no mail to {address}")
