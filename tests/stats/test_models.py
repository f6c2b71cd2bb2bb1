from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from publications.services import release_create, release_publish
from stats.models import Observation, PublishedDataError, exact_text
from tests.stats.helpers import import_rows


@pytest.fixture
def published_value(catalogue):
    release = release_create(slug="r1", title_id="R1", title_en="R1")
    import_rows(release, [("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2026", "1001000000000000")])
    release_publish(release=release)
    return Observation.objects.get(release=release)


@pytest.mark.parametrize(
    ("indicator", "text"),
    [
        ("FUNDS_UNDER_MANAGEMENT", "1001000000000000"),
        ("FUNDS_UNDER_MANAGEMENT_YOY", "12.9"),
        ("INVESTMENT_YIELD", "6.81"),
        ("COVERAGE_ELIGIBLE", "0.0000000001"),
    ],
)
def test_values_round_trip_exactly(catalogue, indicator, text):
    release = release_create(slug="exact", title_id="x", title_en="x")
    import_rows(release, [(indicator, "ID", "_T", "_T", "2023", text)])
    release_publish(release=release)
    stored = Observation.objects.get(release=release).value
    assert stored == Decimal(text)
    assert exact_text(stored) == text


def test_deleting_a_published_observation_is_refused(published_value):
    with pytest.raises(PublishedDataError):
        published_value.delete()
    with pytest.raises(PublishedDataError):
        Observation.objects.filter(pk=published_value.pk).delete()
    assert Observation.objects.filter(pk=published_value.pk).exists()


def test_changing_a_published_value_through_the_orm_is_refused(published_value):
    with pytest.raises(PublishedDataError):
        Observation.objects.filter(pk=published_value.pk).update(value=Decimal(1))
    published_value.refresh_from_db()
    assert published_value.value == Decimal("1001000000000000")


def test_database_trigger_refuses_raw_sql_delete_and_update(published_value):
    for statement in (
        "DELETE FROM stats_observation WHERE id = %s",
        "UPDATE stats_observation SET value = 1 WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [published_value.pk])
    published_value.refresh_from_db()
    assert published_value.value == Decimal("1001000000000000")


def test_draft_observations_can_be_deleted(catalogue):
    release = release_create(slug="draft", title_id="x", title_en="x")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "5")])
    Observation.objects.filter(release=release).delete()
    assert not Observation.objects.filter(release=release).exists()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.9000000000"), "12.9"),
        (Decimal("1E+15"), "1000000000000000"),
        (Decimal("0E-10"), "0"),
        (Decimal("-3.50"), "-3.5"),
    ],
)
def test_exact_text_has_no_exponent_nor_trailing_zeros(value, text):
    assert exact_text(value) == text


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
            "period_end, value, status, note, source, created_at) SELECT 999999, release_id, "
            "'2030', '2030-01-01', '2030-12-31', 1, 'normal', '', '', now() "
            "FROM stats_observation WHERE id = %s",
            "series 999999",
        ),
        (
            "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
            "period_end, value, status, note, source, created_at) SELECT series_id, 999999, "
            "'2030', '2030-01-01', '2030-12-31', 1, 'normal', '', '', now() "
            "FROM stats_observation WHERE id = %s",
            "release 999999",
        ),
        (
            "DELETE FROM publications_release WHERE id = "
            "(SELECT release_id FROM stats_observation WHERE id = %s)",
            # published, it is refused before its observations are counted
            "release .* cannot be deleted",
        ),
        (
            "DELETE FROM stats_series WHERE id = "
            "(SELECT series_id FROM stats_observation WHERE id = %s)",
            "has observations",
        ),
    ],
)
def test_references_of_observations_are_enforced_by_the_database(
    published_value, statement, message
):
    with (
        pytest.raises(IntegrityError, match=message),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [published_value.pk])
    assert Observation.objects.count() == 1


def test_a_release_with_draft_observations_cannot_be_deleted_with_sql(catalogue):
    release = release_create(slug="draft", title_id="x", title_en="x")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "5")])
    with (
        pytest.raises(IntegrityError, match="has observations"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM publications_release WHERE id = %s", [release.pk])
    assert Observation.objects.filter(release=release).count() == 1


def test_a_series_has_data_with_a_draft_or_a_published_value(catalogue):
    # Drafts have no entry in the vintage index: has_data finds them through their release.
    release = release_create(slug="has-data", title_id="x", title_en="x")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "5")])
    series = Observation.objects.get(release=release).series
    assert series.has_data()
    Observation.objects.filter(release=release).delete()
    assert not series.has_data()
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "5")])
    release_publish(release=release)
    assert series.has_data()
