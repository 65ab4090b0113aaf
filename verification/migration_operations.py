"""Schema operations for migrations that must run on large live tables."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndex that PostgreSQL builds with CREATE INDEX CONCURRENTLY, so writes to the table go
    on while it builds (Django's AddIndexConcurrently is PostgreSQL-only); elsewhere a plain
    AddIndex. Its migration needs `atomic = False`."""

    def describe(self):
        return f"{AddIndex.describe(self)}, concurrently on PostgreSQL"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
