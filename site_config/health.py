"""Health checks: a public one for load balancers, and the mail queue for staff.

The public answer carries nothing that one request can move (SECURITY.md 18): a queue depth
there would tell a stranger whether the address they just typed has an account.
"""

from django.contrib.admin.views.decorators import staff_member_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from verification.outbox import delivery_stats


@never_cache
@require_GET
def health(request):
    """200 while the database answers, 503 when it does not."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
@staff_member_required
def mail_delivery(request):
    """How mail is flowing (verification.outbox.delivery_stats), for staff."""
    return JsonResponse(delivery_stats())
