"""`manage.py mail_queue_status`: the mail queue as JSON, for monitoring scripts."""

import json

from django.core.management.base import BaseCommand

from verification.outbox import queue_status


class Command(BaseCommand):
    help = "Print the mail queue's depth and the age of its oldest waiting mail, as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(queue_status()))
