"""`manage.py mail_queue_status`: the mail queue as JSON, for monitoring scripts."""

import json

from django.core.management.base import BaseCommand

from verification.outbox import delivery_stats


class Command(BaseCommand):
    help = "Print the send rate over the last minute, the waiting mail and the oldest one's age, as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(delivery_stats()))
