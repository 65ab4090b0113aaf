"""Django-Q2 entry points for accounts (scheduled by migration accounts/0003)."""

import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings

from accounts.models import EmailChange, User, UsernameClaim
from verification import clock

logger = logging.getLogger(__name__)

# How often this sweep runs (migration accounts/0003: hourly). A username claim is kept this
# much longer than the unproven account its sign-up may have made, and deleted after the
# accounts in the same sweep, so that no sweep ever leaves that account without its claim.
SWEEP_INTERVAL = timedelta(hours=1)


def sweep_accounts():
    """Delete sign-ups whose address was never proven once their link is long dead, so an
    unproven account never holds an address for good, then the username claims that outlived
    them, expired sessions (Django keeps them otherwise) and changes of address that can no
    longer matter."""
    cutoff = clock.now() - timedelta(seconds=settings.VERIFICATION_UNACTIVATED_RETENTION)
    unproven = User.objects.filter(
        is_active=False, email_verified_at=None, last_login=None, date_joined__lt=cutoff
    )
    deleted = unproven.delete()[1].get(User._meta.label, 0)
    claims = UsernameClaim.objects.filter(claimed_at__lt=cutoff - SWEEP_INTERVAL).delete()[0]
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    changes = delete_spent_email_changes()
    logger.info(
        "Accounts sweep: deleted %s never-activated accounts, %s username claims, %s changes of address",
        deleted,
        claims,
        changes,
    )
    return {"unactivated_accounts": deleted, "username_claims": claims, "email_changes": changes}


def delete_spent_email_changes() -> int:
    """Both addresses of a change are kept only while the change can still matter."""
    return EmailChange.objects.spent().delete()[0]
