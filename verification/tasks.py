"""Django-Q2 entry points. Jobs take no arguments: what to send is in the outbox table."""

from verification import bounces, delivery, outbox


def deliver_due_mail():
    delivery.deliver_due_mail()


def sweep_outbox():
    return outbox.sweep_outbox()


def poll_bounce_mailbox():
    return bounces.poll_bounce_mailbox()
