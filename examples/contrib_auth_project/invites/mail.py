"""The app's composer: the worker calls it for each invitation mail, and the code's plaintext
is written here, into the message that leaves, and nowhere else."""

from django.core.mail import EmailMessage

from verification import tokens


def compose_invite(email):
    code = tokens.write_code(secret=email.secret)
    return EmailMessage(
        subject="Your invitation code",
        body=f"Hello {email.user.get_username()},\n\nyour invitation code is {code}.\n",
        to=[email.to_address or email.user.email],
    )
