"""Django-Q2 entry points. Jobs take ids only: their arguments are pickled into the queue."""

from verification import outbox


def deliver_email(email_id):
    outbox.deliver_email(email_id)


def sweep_outbox():
    return outbox.sweep_outbox()
