"""The database role the application runs as (``settings.DATABASE_APP_ROLE``).

The guard triggers of the observations and releases (stats/migrations/0002, 0006,
publications/migrations/0007) hold only against a role that does not own the tables:
an owner may disable a trigger, truncate a table or drop a constraint. So the
application's statements run as a role that may read and write rows and nothing else,
and only migrations run as the login user, the owner:

- every connection Django opens runs ``SET ROLE <app role>`` first (``role_set``,
  connected to ``connection_created`` by ``StatsConfig.ready``);
- ``manage.py migrate`` (``stats/management/commands/migrate.py``, also what the test
  database's creation runs) works as the login user throughout (``database_owner``);
- the migration stats 0006 creates the role when it is missing and grants it what it
  needs, for the tables of that day and, by default privileges, of later migrations.

``SET ROLE`` can be undone by the session (``RESET ROLE``), so it guards against a
mistake, not against someone who can send any SQL: in production the application logs
in as the app role itself (a LOGIN role, ``DATABASE_URL``) and only ``migrate`` logs in
as the owner (README, "Production"). Then ``SET ROLE`` to itself changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import NO_DB_ALIAS

# How many database_owner() blocks are open in this thread (connections are per thread).
_owner = threading.local()


def _owner_depth() -> int:
    return getattr(_owner, "depth", 0)


def role_set(sender, connection, **kwargs) -> None:
    """On a new connection, become the application role (``connection_created``)."""
    role = settings.DATABASE_APP_ROLE
    # The maintenance connection that creates and drops the test database has no tables.
    if not role or _owner_depth() or connection.alias == NO_DB_ALIAS:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {connection.ops.quote_name(role)}")


@contextmanager
def database_owner(using: str = "default") -> Iterator[None]:
    """Work as the login user (the tables' owner) inside the block: what ``migrate``
    does. A connection already open returns to the login user; connections opened in
    the block stay there; the application role is taken again at the end."""
    connection = connections[using]
    _owner.depth = _owner_depth() + 1
    try:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        yield
    finally:
        _owner.depth -= 1
        if not _owner.depth and connection.connection is not None and connection.is_usable():
            role_set(None, connection)
