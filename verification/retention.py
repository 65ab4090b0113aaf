"""Deleting what is past its retention from tables that hold millions of rows.

One `DELETE … WHERE created_at < …` over a big table runs for seconds, holds its row locks
(and the rows of every cascade) until it commits, and writes all its WAL at once. The sweeps
instead take a batch of primary keys at a time, in primary-key order from where the last batch
stopped (so no batch walks again over the rows already deleted), and delete those by key, each
batch in its own short transaction: the cost of a batch stays the same however big the table.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet


def delete_in_batches(rows: QuerySet) -> int:
    """Delete `rows` VERIFICATION_SWEEP_BATCH_SIZE at a time, each batch committed alone, so
    no statement holds locks on a big table for long; return how many rows of that model
    went (rows deleted by cascade are not counted)."""
    model, size = rows.model, settings.VERIFICATION_SWEEP_BATCH_SIZE
    deleted, after = 0, None
    while True:
        with transaction.atomic(using=rows.db):
            batch = rows.order_by("pk") if after is None else rows.filter(pk__gt=after).order_by("pk")
            keys = list(batch.values_list("pk", flat=True)[:size])
            if not keys:
                return deleted
            _, per_model = model._base_manager.using(rows.db).filter(pk__in=keys).delete()
        deleted += per_model.get(model._meta.label, 0)
        after = keys[-1]
