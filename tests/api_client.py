"""Calling the JSON API from the tests as its two kinds of client do."""

import json
import re
from urllib.parse import unquote

from django.test import Client

TOKEN = "HTTP_X_SESSION_TOKEN"


class ApiClient:
    """An app (`token` not None: it sends X-Session-Token, and keeps the one it is given) or
    a browser (the test client's cookies; CSRF as the test client does, off unless asked)."""

    def __init__(self, *, app=False, language="en", enforce_csrf_checks=False):
        self.client = Client(enforce_csrf_checks=enforce_csrf_checks, HTTP_ACCEPT_LANGUAGE=language)
        self.token = "" if app else None
        self.language = language

    def call(self, method, path, body=None, **headers):
        if self.token is not None:
            headers.setdefault(TOKEN, self.token)
        data = json.dumps(body) if body is not None else None
        response = getattr(self.client, method)(
            f"/api/v1{path}", data=data, content_type="application/json", **headers
        )
        if (
            self.token is not None
            and response.content
            and response["Content-Type"].startswith("application/json")
        ):
            self.token = response.json().get("session_token") or self.token
        return response

    def post(self, path, body=None, **headers):
        return self.call("post", path, body if body is not None else {}, **headers)

    def get(self, path, **headers):
        return self.call("get", path, **headers)

    def delete(self, path, **headers):
        return self.call("delete", path, **headers)


def error_codes(response):
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


def undo_token_in(text):
    """The token of the undo link in a notice's text (it rides in the link's fragment)."""
    match = re.search(r"/accounts/email/undo/#token=([^\s&]+)", text)
    assert match, text
    return unquote(match.group(1))
