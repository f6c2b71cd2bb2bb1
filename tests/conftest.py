"""Fixtures shared by the whole suite."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations
from django.test import override_settings

from config.dbrole import database_owner
from publications.services import release_create, release_publish
from stats.demo.loader import codelists_load, indicators_load
from stats.models import DerivedDefinition, DerivedInput, Indicator
from tests.demo_snapshot import demo_restore
from tests.stats.factories import IndicatorFactory
from tests.stats.helpers import import_rows


@pytest.fixture(scope="session", autouse=True)
def _flush_as_owner():
    """After a transactional test pytest-django empties the tables with TRUNCATE, which
    the application role may not run and the guard triggers refuse to anyone
    (stats/migrations/0006, publications/migrations/0007). The test run, and nothing
    else, does it as the owner with those triggers off for the statement."""
    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(operations, sql_list):
        connection = operations.connection
        with database_owner(connection.alias), transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                    "WHERE tgfoid = 'record_truncate_refuse'::regproc"
                )
                guards = cursor.fetchall()
                for table, trigger in guards:
                    cursor.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"')
            flush(operations, sql_list)
            with connection.cursor() as cursor:
                for table, trigger in guards:
                    cursor.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{trigger}"')

    with mock.patch.object(DatabaseOperations, "execute_sql_flush", execute_sql_flush):
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions still on it. A live-server
    test's client may keep its HTTP connection open after the test; Django's server
    thread that serves it (a daemon) then keeps its database connection until the
    process exits, and the database could not be dropped ("being accessed by other
    users")."""
    yield
    with django_db_blocker.unblock(), database_owner(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Users are made with a password in hundreds of tests: hashing it with the
    production hasher (PBKDF2, a million iterations on purpose) took about 0.3 s a user.
    Django's documentation recommends a fast hasher for tests; no test is about the
    hasher."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def catalogue(db):
    """Code lists (regions, segments, programs) and the demo indicators, no observations."""
    codelists_load()
    indicators_load()


MAIN_FREQUENCY_PERIOD = {"A": "2023", "S": "2023-S1", "Q": "2023-Q1", "M": "2023-01"}


@pytest.fixture
def catalogue_public(catalogue):
    """The catalogue made public: a published value for every indicator (national total,
    its main frequency) and for every code (active participants 2023): the public
    catalogue is what public values use (``stats.selectors``)."""
    from stats.models import Code, Indicator

    rows = {
        (indicator.code, "ID", "_T", "_T", MAIN_FREQUENCY_PERIOD[indicator.frequency], "1")
        for indicator in Indicator.objects.all()
    }
    key = {"region": "ID", "segment": "_T", "program": "_T"}
    for codelist_id, code in Code.objects.values_list("codelist_id", "code"):
        codes = {**key, codelist_id: code}
        rows.add(
            (
                "ACTIVE_PARTICIPANTS",
                codes["region"],
                codes["segment"],
                codes["program"],
                "2023",
                "1",
            )
        )
    release = release_create(slug="katalog", title_id="Katalog", title_en="Catalogue")
    import_rows(release, sorted(rows))
    return release_publish(release=release)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="petugas", password="kata-sandi-uji-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def celery_eager():
    """Celery runs each task in the calling process, for a test of what a task does rather
    than of how it travels: everywhere else tasks go to the Redis broker."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    """The demo, loaded once per test module inside a transaction rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_restore()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded, db):
    """The full demo data set (2023 release, history, targets, derived values, news)."""
    return None


@pytest.fixture
def clear_cache():
    """Rate-limit counters and cached responses must not leak from one test to another
    (modules that need it use it for every test: ``pytestmark``)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def published(catalogue):
    """Active participants 2022 = 35,300,000 and 2023 = 41,560,000, published."""
    release = release_create(slug="awal", title_id="Awal", title_en="Earlier")
    import_rows(
        release,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35300000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),
        ],
    )
    return release_publish(release=release)


@pytest.fixture
def growth_definition(transactional_db):
    """PARTICIPANT_CHANGE = change of active participants over one year; 2022 published
    (the recompute the task and fault tests run)."""
    codelists_load()
    indicators_load()
    indicator = IndicatorFactory(code="PARTICIPANT_CHANGE", unit="persons", frequencies="A")
    definition = DerivedDefinition.objects.create(indicator=indicator, kind="change", periods=1)
    DerivedInput.objects.create(
        definition=definition, role="x", indicator=Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    )
    earlier = release_create(slug="2022", title_id="2022", title_en="2022")
    import_rows(earlier, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "35300000")])
    release_publish(release=earlier)
    return definition
