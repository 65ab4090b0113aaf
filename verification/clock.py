"""The one place this app reads the time (like Django's `tokens._now`).

Tests move time by replacing `current_time`; model defaults call `now`, so they follow too.
"""

from django.utils import timezone

current_time = timezone.now


def now():
    return current_time()
