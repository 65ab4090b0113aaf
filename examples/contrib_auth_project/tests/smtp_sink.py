"""A real SMTP server (aiosmtpd) on 127.0.0.1 that hands on what it receives."""

import email
import email.policy
import queue
import socket

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    def __init__(self):
        self.port = free_port()
        self.received = queue.Queue()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.received.put(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count, timeout=60):
        """The next `count` messages; queue.Empty if one takes longer than `timeout` seconds."""
        return [self.received.get(timeout=timeout) for _ in range(count)]

    def __enter__(self):
        self._controller.start()
        return self

    def __exit__(self, *exc):
        self._controller.stop()
