"""SMTP sessions of one worker process: several at once, each kept open from one job to the next.

Opening a connection (TCP, TLS, AUTH) costs more than sending a small message, so a session
is reused and reopened only when the server has dropped it. A provider that takes hundreds of
milliseconds to accept a message would leave a worker idle on one session, so a job sends
over up to VERIFICATION_SMTP_CONNECTIONS sessions at once, one thread each. Django's SMTP
backend is synchronous and a sending thread spends its time waiting on the socket, which
releases the GIL; each backend object is used by one thread at a time. A server that accepts
a message at once gains nothing from threads, which only cost CPU: the job then sends itself.

Providers limit how many connections one client may hold, and answer the next one "421 try
later" (163 says "421 HL:ICC"). That is not an outage: the server answered at once, and the
sessions already open go on sending. After such a refusal this process keeps to the sessions
it has open, none if it had none (the other workers hold the provider's allowance), for
VERIFICATION_MAIL_RETRY_DELAY seconds; then it asks for more again.
"""

import contextlib
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection

from verification import clock

# Sessions not in use, the most recently used last: a quiet worker keeps reusing one.
_idle = []
_busy = set()  # sessions sending now
_lock = threading.Lock()
# Until when the provider's refusal of a session holds this process to the sessions it has.
_refused_until = None
_threads, _threads_size = None, 0
# How long the server takes to accept a message, averaged over the last few sends (so that
# one send slowed by a busy machine changes little), if one was sent since `close()`.
_send_seconds = None
# Below this, the server never keeps a session waiting long enough for threads to pay.
AT_ONCE = 0.02
# Above this, a session left idle costs more than claiming mail for it alone.
SLOW = 0.1

# The server closed a kept connection between two jobs: open a new one and send again.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


def _worth_a_new_connection(error):
    """True when a send over a kept connection failed because of that connection: the server
    closed it (for idleness Postfix and Exim first say "421 ... timeout exceeded"), or answered
    "try later" (4xx), which some providers do past a number of mails per connection (163:
    "451 MI:DMC"). Either way the message was not taken, so sending it again at once over a
    new connection cannot deliver it twice. A timeout is not such a failure: the server may be
    slow, and may take the message after all."""
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return False
    if isinstance(error, smtplib.SMTPResponseException) and 400 <= error.smtp_code < 500:
        return True
    return isinstance(error, DROPPED)


def _current_settings():
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_SSL,
        settings.EMAIL_USE_TLS,
    )


class _Session:
    def __init__(self):
        self.backend, self.settings = get_connection(), _current_settings()

    def is_open(self):
        return getattr(self.backend, "connection", None) is not None

    def send(self, message):
        reused = self.is_open()
        self.backend.open()  # no-op when already open; sets EMAIL_TIMEOUT on the socket
        try:
            self.backend.send_messages([message])
        except Exception as error:
            if not (reused and _worth_a_new_connection(error)):
                raise
            self.close()
            self.backend.open()
            self.backend.send_messages([message])

    def close(self):
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.backend.close()


def _take_session():
    """An idle session, one with its connection open if there is one, or a new one."""
    with _lock:
        open_ones = [session for session in _idle if session.is_open()]
        session = (open_ones or _idle or [None])[-1]
        if session is not None:
            _idle.remove(session)
    if session is not None and session.settings != _current_settings():
        session.close()
        session = None
    session = session or _Session()
    with _lock:
        _busy.add(session)
    return session


def _open_sessions():
    with _lock:
        return sum(session.is_open() for session in [*_idle, *_busy])


def send(message):
    """Send `message` over an idle session of this process; raise what the server answered.
    A session whose send failed is closed, so that its next use reconnects."""
    session, started = _take_session(), time.monotonic()
    try:
        session.send(message)
        _took(time.monotonic() - started)
    except Exception as error:
        # After a failure the connection's state is unknown (a refused message may leave it
        # mid-transaction, and a provider may refuse every later message on it): the next
        # send over this session opens a new one.
        session.close()
        if refused_session(error):
            global _refused_until
            _refused_until = clock.now() + timedelta(seconds=settings.VERIFICATION_MAIL_RETRY_DELAY)
        raise
    finally:
        with _lock:
            _busy.discard(session)
            _idle.append(session)


def sessions_allowed():
    """How many sessions this process may use at once now: VERIFICATION_SMTP_CONNECTIONS, or
    only those it has open while a refused session holds it back (see the module's text)."""
    wanted = settings.VERIFICATION_SMTP_CONNECTIONS
    if _refused_until is not None and clock.now() < _refused_until:
        return min(wanted, _open_sessions())
    return wanted


def may_ask_again_at():
    """When a process held back by a refused session may open sessions again."""
    return _refused_until


def start_sending(message):
    """Send `message` on a thread of its own; return its Future. Callers keep no more sends
    in flight than VERIFICATION_SMTP_CONNECTIONS, so a send starts at once."""
    global _threads, _threads_size
    size = settings.VERIFICATION_SMTP_CONNECTIONS
    if _threads_size != size:
        if _threads is not None:
            _threads.shutdown(wait=False)
        _threads, _threads_size = ThreadPoolExecutor(max_workers=size, thread_name_prefix="smtp"), size
    return _threads.submit(send, message)


def _took(seconds):
    global _send_seconds
    _send_seconds = seconds if _send_seconds is None else 0.8 * _send_seconds + 0.2 * seconds


def answers_at_once():
    """True when the server accepts messages so fast that sending over several sessions
    would cost more CPU than it saves."""
    return _send_seconds is not None and _send_seconds < AT_ONCE


def is_slow():
    """True when a message keeps a session waiting much longer than a claim takes (a few ms),
    or the server has not been timed yet: a free session should not wait for others."""
    return _send_seconds is None or _send_seconds > SLOW


def has_open_session():
    with _lock:
        return any(session.is_open() for session in _idle)


def close():
    """Close every idle session and forget how fast the server was (the tests call this when
    their server goes away)."""
    global _send_seconds, _refused_until
    _send_seconds = _refused_until = None
    with _lock:
        sessions = list(_idle)
        _idle.clear()
    for session in sessions:
        session.close()


def is_unreachable(error):
    """True when the server could not be reached or stopped talking (refused, timed out,
    dropped, TLS failed), as opposed to an answer about this one message."""
    if refused_session(error):  # an answer, and an instant one
        return False
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def refused_session(error):
    """True when the server answered a new connection "try later" (4xx), as a provider does to
    a client past the number of connections it allows."""
    return isinstance(error, smtplib.SMTPConnectError) and 400 <= error.smtp_code < 500


def is_about_the_sender(error):
    """True when the server refused us rather than this message: our credentials (AUTH), or
    any connection from us (a 5xx greeting). Every other mail would get the same answer."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return True
    return isinstance(error, smtplib.SMTPConnectError) and not refused_session(error)


def is_permanent(error):
    """True for an SMTP 5xx answer about this message: sending it again would get the same.
    All else is worth a retry (connection refused or dropped, timeouts, 4xx "try later", and
    a refusal of the sender, which staff can mend)."""
    if is_about_the_sender(error):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    else:
        codes = [getattr(error, "smtp_code", None)]
    return bool(codes) and all(isinstance(code, int) and 500 <= code < 600 for code in codes)
