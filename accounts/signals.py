"""Signals for integrators, sent by the account services (docs/engine.md lists their
arguments). All have sender=User and a `user` argument, and are sent after commit with
`verification.signals.send_after_commit`: a receiver that raises is logged and never breaks
the flow."""

from typing import Any

from django.dispatch import Signal

from verification.signals import send_after_commit

# An account was created, inactive, or an unproven one taken over by a new sign-up.
user_signed_up = Signal()
# The user proved their address; how: "activation", "reset", "sign_in_code" or "change".
address_proven = Signal()
# A new password was set with a reset code (password_changed is sent as well).
password_reset = Signal()
# Any new password: by a reset code or by the signed-in owner.
password_changed = Signal()
# The account moved to a proven new address; old_email, new_email.
email_changed = Signal()
# An undo link put the old address back; restored_email, replaced_email.
email_change_undone = Signal()
# A sign-in code was accepted (the view then signs the user in).
signed_in_by_code = Signal()


def tell_integrators(signal: Signal, *, user: Any, **arguments: Any) -> None:
    """Send one of these about `user`, after commit."""
    send_after_commit(signal, sender=type(user), user=user, **arguments)
