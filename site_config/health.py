"""A health check for load balancers: is the database there, and is mail flowing?"""

from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from verification import clock, outbox
from verification.models import OutboundEmail

WAITING = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.RETRYING, OutboundEmail.Status.SENDING]


@never_cache
@require_GET
def health(request):
    """200 with the mail queue's depth and the age of its oldest mail; 503 without a database.
    Counts only: nothing about users, addresses or settings."""
    try:
        waiting = OutboundEmail.objects.filter(status__in=WAITING).aggregate(
            depth=Count("pk"), oldest=Min("created_at")
        )
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    oldest = waiting["oldest"]
    age = round((clock.now() - oldest).total_seconds(), 1) if oldest else 0.0
    return JsonResponse({
        "status": "ok",
        "database": "ok",
        "mail_queue": {"depth": waiting["depth"], "oldest_age_seconds": age},
    })


# --- For a staff-only view, never the public check -----------------------------------------


def mail_delivery():
    """How fast mail goes out (mails/s over the last minute) and how long the oldest waiting
    mail has waited: numbers for staff, which move with each request, so not public."""
    return outbox.delivery_stats()
