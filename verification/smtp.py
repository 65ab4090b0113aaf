"""One mail connection per worker process, kept open from one job to the next.

Opening an SMTP connection (TCP, TLS, AUTH) costs more than sending a small message, so a
worker reuses its connection and opens a new one only when the server has dropped it.
"""

import smtplib

from django.conf import settings
from django.core.mail import get_connection

_backend = None
_backend_settings = None

# The server closed the connection between two jobs: open a new one and send again.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


def _current_settings():
    return (
        settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER, settings.EMAIL_USE_SSL, settings.EMAIL_USE_TLS,
    )


def _open():
    global _backend, _backend_settings
    if _backend is None or _backend_settings != _current_settings():
        close()
        _backend, _backend_settings = get_connection(), _current_settings()
    _backend.open()  # no-op when already open; sets EMAIL_TIMEOUT on the socket
    return _backend


def close():
    global _backend
    if _backend is not None:
        try:
            _backend.close()
        except (smtplib.SMTPException, OSError):
            pass
    _backend = None


def send(message):
    """Send `message` over this process's connection; raise what the server answered."""
    try:
        _open().send_messages([message])
    except DROPPED:
        close()
        _open().send_messages([message])


def is_permanent(error):
    """True for an SMTP 5xx answer: sending again would get the same. All else is worth a retry
    (connection refused or dropped, timeouts, 4xx "try later")."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    else:
        codes = [getattr(error, "smtp_code", None)]
    return bool(codes) and all(isinstance(code, int) and 500 <= code < 600 for code in codes)
