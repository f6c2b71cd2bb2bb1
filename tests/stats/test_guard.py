"""The database guard, attacked with raw SQL through the application's own connection.

The application runs as a role that owns no table (config/dbrole.py); the guard is the
triggers of stats/migrations/0002 and 0006 and publications/migrations/0007. Some rules
are checked when the transaction commits: a test in a rolled-back transaction runs
those checks with ``connection.check_constraints()`` (what COMMIT runs), and one test
commits for real.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from config.dbrole import database_owner
from publications.choices import ReleaseStatus
from publications.models import AuditEntry, Release
from publications.services import release_create, release_publish
from stats.models import DerivedProvenanceHead, Observation
from tests.stats.helpers import import_rows

ROW = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023")
RECORD_TABLES = (
    "stats_observation",
    "stats_provenancehead",
    "publications_release",
    "publications_newsrelease",
    "publications_auditentry",
)


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _refused(error, match, *statements, params=(), at_commit=False):
    """The statements, run in one transaction, fail with ``error`` matching ``match`` (at
    the commit's checks if ``at_commit``) and change nothing."""
    with pytest.raises(error, match=match), transaction.atomic():
        for statement in statements:
            _sql(statement, params)
        if at_commit:
            connection.check_constraints()


@pytest.fixture
def published(catalogue):
    """ACTIVE_PARTICIPANTS ID 2023 = 100, published an hour ago (the current vintage)."""
    release = release_create(slug="awal", title_id="Awal", title_en="First")
    import_rows(release, [(*ROW, "100")])
    release_publish(release=release, at=timezone.now() - dt.timedelta(hours=1))
    # The checks of its commit: what follows is judged as a later transaction would be.
    connection.check_constraints()
    return Observation.objects.get(release=release)


@pytest.fixture
def draft(published):
    """A draft release revising the published value to 120."""
    release = release_create(slug="revisi", title_id="Revisi", title_en="Revision")
    import_rows(release, [(*ROW, "120")])
    return release


def _current_value(observation):
    return (
        Observation.objects.filter(
            series_id=observation.series_id,
            period=observation.period,
            valid_from__isnull=False,
            valid_to__isnull=True,
        )
        .values_list("value", flat=True)
        .get()
    )


def test_the_application_works_as_a_role_that_owns_no_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, (SELECT count(*) FROM pg_tables WHERE tableowner = current_user)"
        )
        role, owned = cursor.fetchone()
    assert role == settings.DATABASE_APP_ROLE
    assert owned == 0


def test_migrations_work_as_the_owner_and_the_application_role_comes_back(db):
    with database_owner(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user = session_user")
        assert cursor.fetchone() == (True,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE,)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE stats_observation DISABLE TRIGGER stats_observation_guard",
        "ALTER TABLE stats_observation DISABLE TRIGGER ALL",
        "ALTER TABLE publications_release DISABLE TRIGGER publications_release_guard",
        "DROP TRIGGER stats_observation_vintage_update ON stats_observation",
        "ALTER TABLE stats_observation DROP CONSTRAINT obs_valid_interval",
    ],
)
def test_the_application_cannot_disable_the_guard(db, statement):
    _refused(ProgrammingError, "must be owner", statement)


@pytest.mark.parametrize("table", RECORD_TABLES)
def test_truncate_is_refused_to_the_application(published, table):
    _refused(ProgrammingError, "permission denied", f"TRUNCATE {table} CASCADE")
    assert Observation.objects.count() == 1


@pytest.mark.parametrize("table", RECORD_TABLES)
def test_truncate_is_refused_to_the_owner_too(published, table):
    with (
        pytest.raises(IntegrityError, match="is a record and cannot be truncated"),
        transaction.atomic(),
    ):
        connection.check_constraints()  # no deferred check left to stand in its way
        _sql("RESET ROLE")  # undone with the savepoint
        _sql(f"TRUNCATE {table} CASCADE")
    assert Observation.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE,)


def test_closing_the_current_vintage_without_a_successor_is_refused(published):
    _refused(
        IntegrityError,
        "without a successor published at that instant.*cannot be withdrawn",
        "UPDATE stats_observation SET valid_to = now() WHERE id = %s",
        params=[published.pk],
        at_commit=True,
    )
    assert _current_value(published) == Decimal(100)


def test_closing_at_an_instant_other_than_the_successors_is_refused(draft, published):
    # The release and its row published by hand, at the same instant; the old vintage
    # closed a minute later than the new one starts: both would show for that minute.
    _refused(
        IntegrityError,
        "without a successor published at that instant",
        "UPDATE publications_release SET status = 'published', published_at = now() "
        "WHERE id = %(draft)s",
        "UPDATE stats_observation SET valid_to = now() + interval '1 minute' WHERE id = %(old)s",
        "UPDATE stats_observation SET valid_from = now() WHERE release_id = %(draft)s",
        params={"draft": draft.pk, "old": published.pk},
        at_commit=True,
    )


def test_a_row_is_never_inserted_closed(published):
    _refused(
        IntegrityError,
        "cannot be inserted closed",
        "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
        "period_end, value, status, note, source, created_at, valid_from, valid_to) "
        "SELECT series_id, release_id, '2022', '2022-01-01', '2022-12-31', 1, 'normal', '', "
        "'', now(), valid_from - interval '1 day', valid_from FROM stats_observation "
        "WHERE id = %s",
        params=[published.pk],
    )


def test_a_draft_is_published_only_at_its_releases_publication(catalogue):
    draft = release_create(slug="baru", title_id="Baru", title_en="New")
    import_rows(draft, [(*ROW[:4], "2024", "130")])
    _refused(
        IntegrityError,
        f"release {draft.pk} were published at .* not the instant that release was published",
        "UPDATE stats_observation SET valid_from = '2020-01-01T00:00:00+07:00' "
        "WHERE release_id = %s",
        params=[draft.pk],
        at_commit=True,
    )
    assert Observation.objects.filter(release=draft, valid_from__isnull=True).count() == 1


def test_no_row_joins_a_release_published_earlier(published):
    # A new value in the old release, at that release's instant: history rewritten.
    _refused(
        IntegrityError,
        f"release {published.release_id} were published at",
        "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
        "period_end, value, status, note, source, created_at, valid_from) "
        "SELECT series_id, release_id, '2022', '2022-01-01', '2022-12-31', 1, 'normal', '', "
        "'', now(), valid_from FROM stats_observation WHERE id = %s",
        params=[published.pk],
        at_commit=True,
    )


def test_a_revision_backdated_before_the_vintage_it_revises_is_refused(draft, published):
    # Everything a publication does, by hand, at an instant before the current vintage.
    _refused(
        IntegrityError,
        "cannot be published at .*: it must start after its latest vintage",
        "UPDATE publications_release SET status = 'published', "
        "published_at = '2020-01-01T00:00:00+07:00' WHERE id = %(draft)s",
        "UPDATE stats_observation SET valid_to = now() WHERE id = %(old)s",
        "UPDATE stats_observation SET valid_from = '2020-01-01T00:00:00+07:00' "
        "WHERE release_id = %(draft)s",
        params={"draft": draft.pk, "old": published.pk},
        at_commit=True,
    )
    assert _current_value(published) == Decimal(100)


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        ("UPDATE publications_release SET status = 'draft' WHERE id = %s", "cannot be changed"),
        (
            "UPDATE publications_release SET status = 'scheduled', "
            "scheduled_for = now() + interval '1 day' WHERE id = %s",
            "cannot be changed",
        ),
        (
            "UPDATE publications_release SET published_at = published_at - interval '1 year' "
            "WHERE id = %s",
            "cannot be changed",
        ),
        ("UPDATE publications_release SET title_en = 'Other' WHERE id = %s", "cannot be changed"),
        ("DELETE FROM publications_release WHERE id = %s", "cannot be deleted"),
    ],
)
def test_a_published_release_is_immutable(published, statement, match):
    _refused(
        IntegrityError,
        f"published release {published.release_id} {match}",
        statement,
        params=[published.release_id],
    )
    release = Release.objects.get(pk=published.release_id)
    assert release.status == ReleaseStatus.PUBLISHED
    assert release.published_at == published.valid_from


@pytest.mark.parametrize(
    ("published_at", "match"),
    [("NULL", "without its instant"), ("now() + interval '1 day'", "in the future")],
)
def test_a_release_is_published_only_with_an_instant_that_has_come(draft, published_at, match):
    _refused(
        IntegrityError,
        match,
        f"UPDATE publications_release SET status = 'published', published_at = {published_at} "
        "WHERE id = %s",
        params=[draft.pk],
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE publications_auditentry SET reason = 'rewritten'",
        "DELETE FROM publications_auditentry",
        "DELETE FROM stats_vintage_pending",
        "INSERT INTO stats_vintage_pending (kind, release_id, at) VALUES ('r', 1, now())",
    ],
)
def test_the_application_cannot_touch_the_audit_trail_nor_the_guards_record(published, statement):
    _refused(ProgrammingError, "permission denied", statement)
    assert AuditEntry.objects.exists()


def test_publishing_and_revising_pass_the_guard(draft, published):
    at = timezone.now()
    release_publish(release=draft, at=at)
    connection.check_constraints()
    published.refresh_from_db()
    assert published.valid_to == at
    assert _current_value(published) == Decimal(120)


def test_the_demo_history_loaded_in_one_transaction_passes_the_guard(demo):
    # Many releases revising the same values, one after another, then their derived values.
    connection.check_constraints()
    assert Observation.objects.filter(valid_to__isnull=False).exists()


@pytest.mark.parametrize(
    "statement",
    [
        'UPDATE stats_provenancehead SET head = \'{"kind": "other"}\' WHERE id = %s',
        "DELETE FROM stats_provenancehead WHERE id = %s",
    ],
)
def test_a_provenance_head_is_immutable(db, statement):
    """Published values are rendered from their head: it never changes."""
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO stats_provenancehead (head) VALUES (\'{"kind": "ratio"}\') RETURNING id'
        )
        (head,) = cursor.fetchone()
    _refused(IntegrityError, f"provenance head {head} cannot be changed", statement, params=[head])
    assert DerivedProvenanceHead.objects.get(pk=head).head == {"kind": "ratio"}


@pytest.mark.django_db(transaction=True)
def test_the_guard_holds_at_a_real_commit(catalogue):
    release = release_create(slug="awal", title_id="Awal", title_en="First")
    import_rows(release, [(*ROW, "100")])
    release_publish(release=release)
    value = Observation.objects.get(release=release)
    with pytest.raises(IntegrityError, match="cannot be withdrawn"), transaction.atomic():
        _sql("UPDATE stats_observation SET valid_to = now() WHERE id = %s", [value.pk])
    revision = release_create(slug="revisi", title_id="Revisi", title_en="Revision")
    import_rows(revision, [(*ROW, "120")])
    release_publish(release=revision)
    assert _current_value(value) == Decimal(120)
    value.refresh_from_db()
    assert value.valid_to == Release.objects.get(pk=revision.pk).published_at
