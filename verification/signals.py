"""Signals for integrators (docs/engine.md lists each with its arguments). Each is sent once
the transaction that did the thing has committed, and robustly: a receiver that raises is
logged (by Django's `send_robust`, on the `django.dispatch` logger) and never breaks the flow
that sent it, nor the worker."""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# sender=OutboundEmail; email: the OutboundEmail its server accepted.
mail_sent = Signal()
# sender=OutboundEmail; email: the OutboundEmail given up on; error: what staff read of why.
mail_failed = Signal()
# sender=OutboundEmail; email, address: the one that bounced, permanent: bool, reason: str.
mail_bounced = Signal()


def send_after_commit(signal: Signal, *, sender: Any, **arguments: Any) -> None:
    """Send `signal` once the current transaction commits (at once outside one): a receiver
    never hears of a change that was rolled back, and its failure cannot roll one back."""
    transaction.on_commit(lambda: signal.send_robust(sender=sender, **arguments))
