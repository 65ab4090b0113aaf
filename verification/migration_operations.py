"""Schema operations for migrations that must run on large live tables."""

from django.db.migrations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndex):
    """AddIndex that PostgreSQL builds with CREATE INDEX CONCURRENTLY, so writes to the table go
    on while it builds (Django's AddIndexConcurrently is PostgreSQL-only); elsewhere a plain
    AddIndex. Its migration needs `atomic = False`."""

    def describe(self):
        return f"{super().describe()}, concurrently on PostgreSQL"

    def _concurrently(self):
        # Imported only on PostgreSQL: django.contrib.postgres needs psycopg, which a project
        # on SQLite need not have.
        from django.contrib.postgres.operations import AddIndexConcurrently

        return AddIndexConcurrently(model_name=self.model_name, index=self.index)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self._concurrently().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self._concurrently().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)
