"""Django-Q2 entry points. Jobs take ids only: their arguments are pickled into the queue."""

from verification import mail


def deliver_email(email_id):
    mail.deliver_email(email_id)
