"""Reading what the site mailed, the way a person would."""

import re

from django.test import Client
from django.urls import reverse

from verification import tokens


def code_in(text):
    """The code a mail's text carries, on a line of its own."""
    match = re.search(r"^\s+(\d{6})\r?$", text, flags=re.MULTILINE)
    assert match, text
    return match.group(1)


def link_in(text, path):
    """The first link in a mail's text whose path starts with `path` (e.g. "/accounts/activate/")."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}\S*)", text)
    assert match, text
    return match.group(0)


def path_of(link):
    return re.sub(r"^https?://[^/]+", "", link)


def activation_path(message):
    """The path of the activation link in a mail (the link itself starts with SITE_URL)."""
    return path_of(link_in(message.body, "/accounts/activate/"))


def activate(client, path, password="a-long-and-unusual-passphrase"):
    """Confirm an activation link with the password chosen at sign-up (sign_up's default)."""
    return client.post(path, {"password": password})


def mailed_code(message):
    return code_in(message.body)


def wrong_code(code):
    """A well-formed guess that is not `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


def ask_for_code(client, deliver, email, mailoutbox):
    """Request a reset code for `email` and return it as mailed."""
    deliver(client.post, reverse("accounts:password_reset"), {"email": email})
    return mailed_code(mailoutbox[-1])


def sign_up(client, deliver, mailoutbox):
    """Sign up as "ada" and return the path of the activation link mailed back."""
    deliver(
        client.post,
        reverse("accounts:signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )
    return activation_path(mailoutbox[-1])


def signs_in(username, password):
    """Whether a fresh browser signs in with `username` and `password`."""
    someone = Client()
    someone.post(reverse("accounts:login"), {"username": username, "password": password})
    return someone.get(reverse("home")).context["user"].is_authenticated


def issue_code(*, user, purpose):
    """Ask for a `purpose` code at `user`'s address and write it, as a request and the worker
    do; return the code."""
    challenge = tokens.open_code_challenge(address=user.email, purpose=purpose, user=user)
    return tokens.write_code(secret=challenge)


def guess(*, user, purpose, code):
    """Guess at the last `purpose` code asked for `user`'s address, as the code pages do."""
    challenge = tokens.last_code_challenge(address=user.email, purpose=purpose)
    tokens.guess_code(challenge=challenge, user=user, code=code)
