"""Django-Q2 entry points. Jobs take no arguments: what to send is in the outbox table."""

from verification import outbox


def deliver_due_mail():
    outbox.deliver_due_mail()


def sweep_outbox():
    return outbox.sweep_outbox()
