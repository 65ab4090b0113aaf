"""Development only: a mailbox in the browser, so a newcomer can finish every flow there.

The worker prints each mail (like Django's console backend) and keeps a copy as an .eml file
in DEV_MAILBOX_DIR, a folder git ignores; the page /dev/mailbox/ lists them, to a browser on
this machine without signing in (so a developer can sign test users in and out meanwhile),
to staff from elsewhere. Neither exists with DEBUG off, and nothing goes into the database.
"""

import email
import email.policy
import ipaddress
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.shortcuts import render

SHOWN = 30


class DevMailboxBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        folder = Path(settings.DEV_MAILBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            (folder / name).write_bytes(message.message().as_bytes())
        return sent


def _read(path):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = message.get_body(preferencelist=("html",))
    return {
        "subject": message["Subject"],
        "to": message["To"],
        "date": message["Date"],
        "text": message.get_body(preferencelist=("plain",)).get_content(),
        "html": html.get_content() if html else "",
    }


def _from_this_machine(request):
    # The peer's own address: a forwarded one (a tunnel or proxy on this machine adds
    # X-Forwarded-For) is a browser elsewhere.
    peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "0.0.0.0")
    return settings.DEBUG and peer.is_loopback and "HTTP_X_FORWARDED_FOR" not in request.META


def mailbox(request):
    if not _from_this_machine(request):
        return staff_member_required(_mailbox)(request)
    return _mailbox(request)


def _mailbox(request):
    folder = Path(settings.DEV_MAILBOX_DIR)
    paths = sorted(folder.glob("*.eml"), reverse=True)[:SHOWN] if folder.exists() else []
    response = render(request, "dev_mailbox.html", {"mails": [_read(path) for path in paths]})
    # The mails' HTML (shown in sandboxed frames, which inherit this policy) styles inline.
    response["Content-Security-Policy"] = (
        f"{settings.CONTENT_SECURITY_POLICY}; style-src 'self' 'unsafe-inline'"
    )
    return response
