"""config.db.prepared_cursor: the API's page statement prepared once per connection."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.db import prepared_cursor

STATEMENT = "SELECT %s::int + n, %s::timestamptz FROM generate_series(1, 3) AS n"


def _prepared() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT $1::int + n%%'"
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_statement_is_prepared_once_and_run_again_from_it(django_assert_num_queries):
    at = timezone.now()
    with django_assert_num_queries(3):
        for base in (10, 20, 30):
            with prepared_cursor() as cursor:
                cursor.execute(STATEMENT, [base, at])
                rows = cursor.fetchall()
            assert rows == [(base + n, at) for n in (1, 2, 3)]
    # One statement, with the parameters bound on the server, executed three times.
    assert _prepared() == [
        ("SELECT $1::int + n, $2::timestamptz FROM generate_series(1, 3) AS n", 3)
    ]


@pytest.mark.django_db
def test_the_logged_statement_has_its_parameters_written_in():
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute(STATEMENT, [41, dt.datetime(2024, 1, 31, tzinfo=dt.UTC)])
    (query,) = queries.captured_queries
    assert query["sql"].startswith("SELECT 41::int + n, '2024-01-31")


@pytest.mark.django_db
def test_with_the_setting_off_nothing_is_prepared(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    before = _prepared()
    with prepared_cursor() as cursor:
        cursor.execute(STATEMENT, [1, dt.datetime(2024, 1, 31, tzinfo=dt.UTC)])
        assert cursor.fetchone() == (2, dt.datetime(2024, 1, 31, tzinfo=dt.UTC))
    assert _prepared() == before


@pytest.mark.django_db
def test_django_cursors_still_prepare_nothing():
    at = timezone.now()
    before = _prepared()
    for _ in range(10):
        with connection.cursor() as cursor:
            cursor.execute(STATEMENT, [1, at])
    assert _prepared() == before


@pytest.mark.django_db
def test_a_database_error_is_djangos():
    # django.db's DatabaseError (what views catch), not the driver's own class.
    with pytest.raises(DatabaseError), prepared_cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
