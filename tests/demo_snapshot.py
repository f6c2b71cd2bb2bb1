"""The demo, loaded once per test session and copied back in for every later test that
asks for it.

``demo_load`` takes about 5 s (fifteen releases imported, their derived values
computed, published in order), and some forty test modules and browser tests need the
demo. The first ``demo_restore()`` from a given database state runs ``demo_load`` and
keeps the rows it added, table by table, in PostgreSQL's COPY format; the next ones
from the same state COPY those rows back: the same rows, ids and instants.

The state is, per table, how many rows it holds before the load (the migrations' rows;
none after a transactional test emptied the tables), and the last ids of the tables the
copied rows are in or refer to, so a snapshot is only used where ``demo_load`` would
have started from the same rows. A load that changes or deletes a row that was there, or
adds rows to a table without an id, cannot be replayed as added rows: then every call
runs ``demo_load`` itself. The rows go back in any order: the COPY runs with triggers
off (``_restore``), so no reference is checked while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection

from config.dbrole import database_owner
from publications.demo.loader import demo_load


@dataclass(frozen=True)
class _Table:
    name: str
    columns: str  # the column list, quoted, generated columns left out
    rows: bytes  # COPY text of the rows the load added


@dataclass(frozen=True)
class _Before:
    count: int
    last_id: int | None  # None: no id column
    digest: str | None  # of the rows, to see that the load left them as they were


State = frozenset[tuple[str, int]]  # rows per table that has any
_snapshots: dict[State, _Snapshot] = {}


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _tables() -> dict[str, bool]:
    """The tables the application may write, and whether each has an integer id; the
    guard's private tables (filled by its triggers, stats migration 0008) are left to
    those triggers."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
            "quote_ident(name)::regclass AND attname = 'id' AND NOT attisdropped "
            "AND atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) "
            "FROM unnest(%s::text[]) AS name WHERE name <> 'django_migrations' "
            "AND has_table_privilege(quote_ident(name), 'SELECT, INSERT')",
            [connection.introspection.table_names(cursor)],
        )
        return dict(cursor.fetchall())


def _state(tables: dict[str, bool]) -> dict[str, _Before]:
    parts = [
        f"SELECT %s, count(*), {'max(id)' if has_id else 'NULL::bigint'}, "
        f"md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {_quote(name)} AS t"
        for name, has_id in tables.items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), list(tables))
        return {name: _Before(count, last, digest) for name, count, last, digest in cursor}


def _columns(cursor, table: str) -> str:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [_quote(table)],
    )
    return ", ".join(_quote(name) for (name,) in cursor.fetchall())


def _capture(table: str, before: _Before) -> _Table:
    with connection.cursor() as cursor:
        columns = _columns(cursor, table)
        added = f"WHERE id > {int(before.last_id)}" if before.last_id is not None else ""
        data = bytearray()
        statement = f"COPY (SELECT {columns} FROM {_quote(table)} {added}) TO STDOUT"
        with cursor.cursor.copy(statement) as copy:
            for chunk in copy:
                data += chunk
    return _Table(table, columns, bytes(data))


def _restore(tables: tuple[_Table, ...]) -> None:
    """The rows copied back as the login user with triggers off for the COPY: the guard
    refuses rows inserted already closed (a vintage closes only when its successor is
    published, stats migration 0008), and these rows passed every trigger and check when
    the load wrote them. Nothing else runs in between, and the triggers are on again for
    the test."""
    # The ids need no sequence moved: the load that wrote them, earlier in this database,
    # took them from the sequences, which a rollback does not turn back (and no test
    # resets them); a clash would fail the COPY, not pass unseen.
    with database_owner(connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            statement = f"COPY {_quote(table.name)} ({table.columns}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                copy.write(table.rows)
        cursor.execute("SET LOCAL session_replication_role = origin")


@dataclass(frozen=True)
class _Snapshot:
    # The last ids its rows depend on: of the tables it adds rows to and those they
    # refer to (after a transactional test's flush Django makes the content types and
    # permissions again, under new ids; the demo refers to neither).
    last_ids: frozenset[tuple[str, int | None]]
    tables: tuple[_Table, ...] | None  # None: the load cannot be copied back


def demo_restore() -> None:
    """The demo's rows in the database, inside the caller's transaction."""
    tables = _tables()
    before = _state(tables)
    key: State = frozenset((name, b.count) for name, b in before.items() if b.count)
    snapshot = _snapshots.get(key)
    if snapshot is not None and all(before[n].last_id == i for n, i in snapshot.last_ids):
        if snapshot.tables is not None:
            _restore(snapshot.tables)
        else:
            demo_load()
        return
    demo_load()
    after = _state(tables)
    written = [name for name, b in after.items() if b.count != before[name].count]
    pinned = (_referenced(written) | set(written)) & set(before)
    last_ids = frozenset((name, before[name].last_id) for name in pinned)
    if any(_not_added_only(name, before[name]) for name in before if before[name].count):
        _snapshots[key] = _Snapshot(last_ids, None)
        return
    copied = tuple(_capture(name, before[name]) for name in written)
    _snapshots[key] = _Snapshot(last_ids, copied)


def _not_added_only(table: str, before: _Before) -> bool:
    """Whether the load did more to ``table`` than add rows after its last id."""
    if before.last_id is None:
        return _state({table: False})[table].digest != before.digest
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) "
            f"FROM {_quote(table)} AS t WHERE id <= %s",
            [before.last_id],
        )
        count, digest = cursor.fetchone()
    return (count, digest) != (before.count, before.digest)


def _references(tables: list[str]) -> dict[str, set[str]]:
    """For each of ``tables``, the other tables its foreign keys point to, as the models
    declare them (some are enforced by triggers, not constraints: stats migration 0004)."""
    references: dict[str, set[str]] = {name: set() for name in tables}
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if table not in references:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model._meta.db_table != table:
                references[table].add(field.related_model._meta.db_table)
    return references


def _referenced(tables: list[str]) -> set[str]:
    return set().union(*_references(tables).values())
