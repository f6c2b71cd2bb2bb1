"""Database helpers below the ORM.

``prepared_cursor``: the read API's hottest statement (a page of observations) is the
same text for every request of one shape, only its parameters differ. Django sends
statements with the parameters written into the text (client-side binding, so no
statement is ever prepared), and PostgreSQL parses, analyses and plans each one again,
which costs about as much as running it (figures: BENCHMARKS.md, "Measured figures
behind the settings"). With the parameters bound on the server
and the statement prepared once per connection, PostgreSQL reuses its plan.

Prepared statements live in a database session: behind a pooler in transaction mode
(PgBouncer before 1.21) they break, so ``DATABASE_PREPARED_STATEMENTS=false`` turns this
off, as Django does for its own statements.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from config.replicas import read_connection


class PreparedCursor(psycopg.Cursor):
    """psycopg's cursor with server-side binding, each statement prepared (and kept, at
    most psycopg's ``prepared_max`` per connection, the least recently used dropped)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class PreparedDebugWrapper(CursorDebugWrapper):
    """Django's logging wrapper, logging the statement with its parameters written in
    (Django reads that text back from a client-binding cursor, which this is not)."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def prepared_cursor():
    """A cursor whose statements PostgreSQL prepares once per connection and statement
    text (with the parameters bound on the server); Django's own cursor when
    ``settings.DATABASE_PREPARED_STATEMENTS`` is off. On the connection of the request's
    reads (``config.replicas.read_connection``: the primary outside a public read).

    It is wrapped as Django wraps its cursors, so the statements are counted and logged
    (``django_assert_num_queries``, ``connection.queries``) and database errors are
    Django's."""
    connection = read_connection()
    if not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = PreparedCursor(connection.connection)
    if connection.queries_logged:
        cursor = PreparedDebugWrapper(raw, connection)
    else:
        cursor = connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()
