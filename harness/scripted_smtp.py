"""A misbehaving SMTP server for the delivery tests, scripted command by command: raw sockets on
127.0.0.1, one thread per connection. Where harness/smtp_sink.py is a well-behaved provider
(aiosmtpd), this one answers what real providers answer when they are slow, limit a
connection, or close it for idleness.

`behave(n, command)` decides, for the n-th connection (from 0) and a command ("greeting",
"EHLO", "AUTH", "STARTTLS", "MAIL", "RCPT", "DATA", "DOT" for the end of the data, "RSET",
"NOOP"), what to do: None (normal), or a dict with keys:
  delay: seconds before answering; trickle: seconds between the bytes of the answer;
  reply: the answer line instead of the normal one; close: close after answering (or instead
  of answering when reply is None); stall: never answer.
`messages` holds (connection number, Message-ID) for every message received, `accepted` the
Message-IDs answered 250 after their data.
"""

import contextlib
import functools
import re
import socket
import threading
import time


class ScriptedServer:
    def __init__(self, behave=None, auth=False, starttls=False, idle_timeout=None):
        self.behave = behave or (lambda n, command: None)
        # Like Postfix (smtpd_timeout) or Exim: a client idle this long is told "421 ... timeout
        # exceeded" and the connection is closed.
        self.idle_timeout = idle_timeout
        self.idle_closes = 0
        self.auth, self.starttls = auth, starttls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.messages = []  # (connection number, message-id, accepted?)
        self.accepted = []  # message-ids answered 250 after DOT
        self.log = []  # (connection, command, reply)
        self.lock = threading.Lock()
        self.socks = []
        self.running = True

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.running = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for s in list(self.socks):
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                n = self.connections
                self.connections += 1
                self.open += 1
                self.most_open = max(self.most_open, self.open)
                self.socks.append(conn)
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _answer(self, conn, n, command, normal, before_replying=None):
        rule = self.behave(n, command) or {}
        self.log.append((n, command, rule.get("reply", normal)))
        if rule.get("stall"):
            while self.running:
                time.sleep(0.1)
            raise OSError("stopped")
        if rule.get("delay"):
            time.sleep(rule["delay"])
        reply = rule.get("reply", normal)
        if before_replying is not None:  # so that a client which read the answer finds it counted
            before_replying(reply)
        if reply is not None:
            data = (reply + "\r\n").encode()
            if rule.get("trickle"):
                for i in range(len(data)):
                    conn.sendall(data[i : i + 1])
                    time.sleep(rule["trickle"])
            else:
                conn.sendall(data)
        if rule.get("close"):
            raise OSError("closing")
        return reply

    def _count_accepted(self, message_id, reply):
        if reply and reply.startswith("250"):
            with self.lock:
                self.accepted.append(message_id)

    def _serve(self, conn, n):
        file = conn.makefile("rb")
        try:
            self._answer(conn, n, "greeting", "220 scripted ESMTP")
            while True:
                conn.settimeout(self.idle_timeout)
                try:
                    line = file.readline()
                except TimeoutError:
                    self.idle_closes += 1
                    conn.sendall(b"421 4.4.2 scripted Error: timeout exceeded\r\n")
                    return
                conn.settimeout(None)
                if not line:
                    return
                text = line.decode(errors="replace").strip()
                verb = text.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    extensions = ["250-scripted", "250-8BITMIME"]
                    if self.auth:
                        extensions.append("250-AUTH PLAIN LOGIN")
                    if self.starttls:
                        extensions.append("250-STARTTLS")
                    extensions.append("250 SMTPUTF8")
                    self._answer(conn, n, "EHLO", "\r\n".join(extensions))
                elif verb == "AUTH":
                    self._answer(conn, n, "AUTH", "235 2.7.0 Authentication successful")
                elif verb == "STARTTLS":
                    self._answer(conn, n, "STARTTLS", "454 4.7.0 TLS not available")
                elif verb == "MAIL":
                    self._answer(conn, n, "MAIL", "250 OK")
                elif verb == "RCPT":
                    self._answer(conn, n, "RCPT", "250 OK")
                elif verb == "DATA":
                    self._answer(conn, n, "DATA", "354 go ahead")
                    body = []
                    while True:
                        data_line = file.readline()
                        if not data_line:
                            return
                        if data_line in (b".\r\n", b".\n"):
                            break
                        body.append(data_line)
                    raw = b"".join(body).decode(errors="replace")
                    found = re.search(r"^Message-ID:\s*(\S+)", raw, re.M | re.I)
                    message_id = found.group(1) if found else None
                    with self.lock:
                        self.messages.append((n, message_id))
                    count_it = functools.partial(self._count_accepted, message_id)
                    self._answer(conn, n, "DOT", "250 OK queued", before_replying=count_it)
                elif verb == "RSET":
                    self._answer(conn, n, "RSET", "250 OK")
                elif verb == "NOOP":
                    self._answer(conn, n, "NOOP", "250 OK")
                elif verb == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"502 unknown\r\n")
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1
            with contextlib.suppress(OSError):
                conn.close()
