"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests: it keeps what it receives, counts
connections and messages in flight, and can speak implicit TLS or STARTTLS, ask for AUTH,
answer slowly, refuse messages, or refuse connections past a limit. Also a server that accepts
connections and never says a word."""

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _LimitedSMTP(SMTP):
    """Answers a connection past the sink's `max_connections` open at once with 421 and closes
    it, as providers do (163 says "421 HL:ICC": too many connections from this address)."""

    def __init__(self, sink, *args, **kwargs):
        super().__init__(sink, *args, **kwargs)
        self.sink = sink

    async def _handle_client(self):
        self.sink.open_connections.add(self)
        limit = self.sink.max_connections
        if limit is not None and len(self.sink.open_connections) > limit:
            self.sink.connections_refused += 1
            await self.push("421 HL:ICC Too many connections from your address, try again later")
            self.transport.close()
            return
        await super()._handle_client()

    def connection_lost(self, error):
        self.sink.open_connections.discard(self)
        super().connection_lost(error)


class _CountingController(Controller):
    def __init__(self, sink, **kwargs):
        super().__init__(sink, **kwargs)
        self.sink = sink

    def factory(self):
        self.sink.connections += 1
        return _LimitedSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self):
        # The controller's own start-up probe is not a client: do not count it.
        super()._trigger_server()
        self.sink.connections -= 1


class SmtpSink:
    """`wait_for(n)` blocks until n messages have arrived.

    tls: None, "implicit" (port-465 style) or "starttls" (587 style), with `certificate`, a
    trustme server certificate for 127.0.0.1. credentials: (user, password) to require AUTH.
    delay: seconds to accept each message. max_connections: how many it holds open at once.
    """

    def __init__(self, *, tls=None, certificate=None, credentials=None, delay=0.0, max_connections=None):
        self.raw = []  # the bytes of each message, parsed into `messages` only when asked
        self.recipients = []  # the envelope recipient of each message
        self.arrived_at = []  # time.monotonic() of each message, for latency measurements
        self._parsed = []
        self.connections = 0
        self.open_connections = set()  # those the server holds now (they run on its one loop)
        self.max_connections, self.connections_refused = max_connections, 0
        self.in_flight = self.most_in_flight = 0  # messages being received at once
        self.delay = delay
        self.refusals = []  # SMTP answers given to the next DATA commands instead of 250
        self.port = free_port()
        self._arrived = threading.Condition()
        self._options = self._server_options(tls, certificate, credentials)
        self._controller = None

    def _server_options(self, tls, certificate, credentials):
        options = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(context)
            if tls == "implicit":
                options["ssl_context"] = context
            else:
                options.update(tls_context=context, require_starttls=True)
        if credentials:

            def check(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == credentials
                return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

            # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS socket is encrypted anyway.
            options.update(authenticator=check, auth_required=True, auth_require_tls=tls == "starttls")
        return options

    def refuse_next(self, count, answer):
        """Answer the next `count` messages with `answer`, e.g. "451 4.3.0 Try again later"."""
        self.refusals.extend([answer] * count)

    async def handle_DATA(self, server, session, envelope):
        self.in_flight += 1  # the handlers all run on the server's one event loop
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._receive(envelope)
        finally:
            self.in_flight -= 1

    async def _receive(self, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refusals:
            return self.refusals.pop(0)
        # Parsing waits until a test reads `messages`: a server that answers fast keeps the
        # throughput benchmarks about the site, not about this sink.
        with self._arrived:
            self.raw.append(envelope.content)
            self.recipients.append(envelope.rcpt_tos[0])
            self.arrived_at.append(time.monotonic())
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        """Every message received so far, parsed."""
        with self._arrived:
            for raw in self.raw[len(self._parsed) :]:
                self._parsed.append(email.message_from_bytes(raw, policy=email.policy.default))
            return list(self._parsed)

    def clear(self):
        with self._arrived:
            for kept in (self.raw, self.recipients, self.arrived_at, self._parsed):
                kept.clear()

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.raw) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.raw)} of {count} messages arrived")
                self._arrived.wait(left)
        return self.messages

    def start(self):
        """Listen on `self.port` (again, after `stop`: a new server on the same port)."""
        self._controller = _CountingController(self, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()
        return self

    def stop(self):
        """Close the port and every open connection, as a crashed or restarted server would."""
        self._controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def text_body(message):
    return message.get_body(preferencelist=("plain",)).get_content()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers, as a provider that hangs does:
    every client waits out its timeout. Counts the connections."""

    def __init__(self):
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held = []

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by __exit__
                return
            self.connections += 1
            self._held.append(connection)

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        for connection in self._held:
            connection.close()
