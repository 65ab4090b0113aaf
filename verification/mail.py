"""The outbox: a request records the mail it owes, a Django-Q2 job delivers it.

The job receives an OutboundEmail id and nothing else. Codes and links are issued inside the
job, just before sending, so their plaintext never rests in a table (Django-Q2 pickles task
arguments into its own tables). A mail that is sent again carries a fresh secret, which
revokes the one before it.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from django_q.tasks import async_task

from verification import clock, services
from verification.models import OutboundEmail, Purpose

logger = logging.getLogger(__name__)

Kind = OutboundEmail.Kind
Status = OutboundEmail.Status

# A job owns a claimed mail this long; Django-Q2 stops a job after Q_CLUSTER["timeout"].
LEASE = timedelta(seconds=settings.Q_CLUSTER["timeout"] * 2)


def queue_email(*, user, kind):
    """Record a mail for `user` and hand its id to the workers once the transaction commits."""
    email = OutboundEmail.objects.create(user=user, kind=kind)
    transaction.on_commit(
        lambda: async_task("verification.tasks.deliver_email", email.pk, task_name=f"mail-{email.pk}")
    )
    return email


def deliver_email(email_id):
    """Send one recorded mail unless another job has it or it is already sent."""
    if not _claim(email_id):
        logger.info("Mail %s is sent or being sent by another job; skipping.", email_id)
        return
    email = OutboundEmail.objects.select_related("user").get(pk=email_id)
    try:
        _compose(email).send()
    except Exception as exc:
        _record_failure(email, exc)
        raise  # Django-Q2 hands the task out again after Q_CLUSTER["retry"] seconds.
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.SENT, sent_at=clock.now(), lease_expires_at=None
    )


def _claim(email_id):
    now = clock.now()
    return OutboundEmail.claimable().filter(pk=email_id).update(
        status=Status.SENDING, lease_expires_at=now + LEASE, attempts=F("attempts") + 1
    )


def _record_failure(email, exc):
    give_up = email.attempts >= settings.Q_CLUSTER["max_attempts"]
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.FAILED if give_up else Status.RETRYING,
        lease_expires_at=None,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )


# --- What each kind of mail says -----------------------------------------------------------


def _link(path):
    return settings.SITE_URL + path


def _activation_context(user):
    token = services.issue_activation_token(user=user)
    return {
        "activation_url": _link(reverse("accounts:activate", args=[token])),
        "valid_hours": settings.VERIFICATION_ACTIVATION_TTL // 3600,
    }


def _password_reset_context(user):
    return {
        "code": services.issue_code(user=user, purpose=Purpose.PASSWORD_RESET),
        "valid_minutes": settings.VERIFICATION_CODE_TTL // 60,
        "reset_url": _link(reverse("accounts:password_reset_confirm")),
    }


def _sign_in_context(user):
    return {
        "login_url": _link(reverse("accounts:login")),
        "reset_url": _link(reverse("accounts:password_reset")),
    }


CONTEXT_FOR_KIND = {
    Kind.ACTIVATION: _activation_context,
    Kind.ACCOUNT_EXISTS: _sign_in_context,
    Kind.PASSWORD_RESET: _password_reset_context,
    Kind.PASSWORD_CHANGED: _sign_in_context,
}


@sensitive_variables("context", "text", "html")
def _compose(email):
    user = email.user
    context = {
        "user": user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        **CONTEXT_FOR_KIND[email.kind](user),
    }
    prefix = f"emails/{email.kind}"
    subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
    text = render_to_string(f"{prefix}_message.txt", context)
    html = render_to_string(f"{prefix}_message.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers={"Message-ID": email.message_id},
    )
    message.attach_alternative(html, "text/html")
    return message
