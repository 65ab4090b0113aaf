"""SMTP sessions of one worker process: several at once, each kept open from one job to the next.

Opening a connection (TCP, TLS, AUTH) costs more than sending a small message, so a session
is reused and reopened only when the server has dropped it. A provider that takes hundreds of
milliseconds to accept a message would leave a worker idle on one session, so a job sends
over up to VERIFICATION_SMTP_CONNECTIONS sessions at once, one thread each. Django's SMTP
backend is synchronous and a sending thread spends its time waiting on the socket, which
releases the GIL; each backend object is used by one thread at a time.

Providers limit how many connections one client may hold, and answer the next one "421 try
later" (163 says "421 HL:ICC"). That is not an outage: the server answered at once, and the
sessions already open go on sending. After such a refusal this process keeps to the sessions
it has open, none if it had none (the other workers hold the provider's allowance), for
VERIFICATION_MAIL_RETRY_DELAY seconds; then it asks for more again.
"""

import contextlib
import smtplib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from verification import clock

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


class _Session:
    def __init__(self):
        self.backend = get_connection()

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


class SessionPool:
    """This process's SMTP sessions, the threads that send over them, and how long a
    provider's refusal of a session holds it to those it has. The job's thread and the
    sending threads share it, so its state changes only under its lock. Sessions and threads
    read the mail settings when they are made: after changing those, call `reset()`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[_Session] = []  # not in use, the most recently used last
        self._busy: set[_Session] = set()
        self._threads: ThreadPoolExecutor | None = None
        self._refused_until = None

    def start_sending(self, message: EmailMessage) -> Future:
        """Send `message` on a thread of its own; return its Future, which holds what the
        server answered. Callers keep no more sends in flight than `allowed()`, so a send
        starts at once."""
        with self._lock:
            if self._threads is None:
                size = settings.VERIFICATION_SMTP_CONNECTIONS
                self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="smtp")
            return self._threads.submit(self._send, message)

    def allowed(self) -> int:
        """How many sessions this process may use at once now: VERIFICATION_SMTP_CONNECTIONS,
        or only those it has open while a refused session holds it back (see the module's text)."""
        wanted = settings.VERIFICATION_SMTP_CONNECTIONS
        with self._lock:
            if self._refused_until is not None and clock.now() < self._refused_until:
                return min(wanted, sum(session.is_open() for session in [*self._idle, *self._busy]))
        return wanted

    def may_ask_again_at(self):
        """When a process held back by a refused session may open sessions again."""
        with self._lock:
            return self._refused_until

    def has_open_session(self) -> bool:
        with self._lock:
            return any(session.is_open() for session in self._idle)

    def reset(self):
        """Close every session and thread and forget the provider's refusal (the tests call
        this when they change the mail settings or their server goes away)."""
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown()  # waits for sends in flight (a job never leaves one)
        with self._lock:
            sessions = [*self._idle, *self._busy]
            self._idle, self._busy, self._refused_until = [], set(), None
        for session in sessions:
            session.close()

    def _send(self, message):
        session = self._take()
        try:
            session.send(message)
        except Exception as error:
            # After a failure the connection's state is unknown (a refused message may leave
            # it mid-transaction, and a provider may refuse every later message on it): the
            # next send over this session opens a new one.
            session.close()
            if refused_session(error):
                until = clock.now() + timedelta(seconds=settings.VERIFICATION_MAIL_RETRY_DELAY)
                with self._lock:
                    self._refused_until = until
            raise
        finally:
            with self._lock:
                self._busy.discard(session)
                self._idle.append(session)

    def _take(self):
        """An idle session, one with its connection open if there is one, or a new one."""
        with self._lock:
            open_ones = [session for session in self._idle if session.is_open()]
            session = (open_ones or self._idle or [None])[-1]
            if session is None:
                session = _Session()
            else:
                self._idle.remove(session)
            self._busy.add(session)
        return session


pool = SessionPool()


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
    """True for an SMTP 5xx answer about this message, or an ESP's API refusing it (its
    recipients refused, or a 4xx other than "too many requests"): sending it again would get
    the same. All else is worth a retry (connection refused or dropped, timeouts, 4xx "try
    later", and a refusal of the sender, which staff can mend)."""
    if isinstance(error, AnymailRecipientsRefused):
        return True
    if isinstance(error, AnymailAPIError):
        status = error.status_code
        return isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)
    if is_about_the_sender(error):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    else:
        codes = [getattr(error, "smtp_code", None)]
    return bool(codes) and all(isinstance(code, int) and 500 <= code < 600 for code in codes)
