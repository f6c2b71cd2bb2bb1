"""Vintages: revisions keep old values; as-of reads return what was valid then."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from publications.services import ReleaseError, release_create, release_publish
from stats.models import Observation, Series
from stats.selectors import (
    observation_vintages,
    observations_as_of,
    observations_latest,
    series_with_latest_public,
)
from tests.stats.helpers import import_rows

WIB = ZoneInfo("Asia/Jakarta")
T1 = dt.datetime(2023, 12, 15, 10, 0, tzinfo=WIB)
T2 = dt.datetime(2024, 2, 15, 10, 0, tzinfo=WIB)
KEY = "region=ID,segment=_T,program=_T"


@pytest.fixture
def revised(catalogue):
    """40,000,000 published at T1, revised to 41,560,000 at T2."""
    first = release_create(slug="antara", title_id="Antara", title_en="Antara")
    import_rows(
        first, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40000000", "provisional")]
    )
    release_publish(release=first, at=T1)
    second = release_create(slug="tahunan", title_id="Tahunan", title_en="Annual")
    import_rows(second, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000")])
    release_publish(release=second, at=T2)
    return Series.objects.get(indicator__code="ACTIVE_PARTICIPANTS", key=KEY)


def values(queryset):
    return list(queryset.values_list("value", flat=True))


def test_a_revision_keeps_the_old_value(revised):
    vintages = list(observation_vintages(series_id=revised.pk, period="2023"))
    assert [(v.value, v.valid_from, v.valid_to) for v in vintages] == [
        (Decimal(40000000), T1, T2),
        (Decimal(41560000), T2, None),
    ]
    assert [v.release.slug for v in vintages] == ["antara", "tahunan"]


def test_as_of_returns_what_was_valid_at_each_instant(revised):
    series = [revised.pk]
    assert values(observations_as_of(at=T1 - dt.timedelta(seconds=1), series=series)) == []
    assert values(observations_as_of(at=T1, series=series)) == [Decimal(40000000)]
    assert values(observations_as_of(at=T2 - dt.timedelta(seconds=1), series=series)) == [
        Decimal(40000000)
    ]
    assert values(observations_as_of(at=T2, series=series)) == [Decimal(41560000)]
    assert values(observations_latest(series=series)) == [Decimal(41560000)]


def test_as_of_accepts_a_naive_instant_in_jakarta_time(revised):
    at = dt.datetime(2024, 1, 1, 0, 0)
    assert values(observations_as_of(at=at, series=[revised.pk])) == [Decimal(40000000)]


def test_unpublished_values_are_invisible_to_every_read(revised):
    draft = release_create(slug="draf", title_id="Draf", title_en="Draft")
    import_rows(
        draft,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "99"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2030", "99"),
        ],
    )
    assert Decimal(99) not in values(observations_latest())
    assert Decimal(99) not in values(observations_as_of(at=dt.datetime(2100, 1, 1, tzinfo=WIB)))
    latest = series_with_latest_public(queryset=Series.objects.all()).get(pk=revised.pk)
    assert (latest.latest_period, latest.latest_value) == ("2023", Decimal(41560000))


def test_a_release_cannot_be_published_before_the_values_it_revises(revised):
    late = release_create(slug="mundur", title_id="x", title_en="x")
    import_rows(late, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "1")])
    with pytest.raises(ReleaseError, match="cannot be published earlier"):
        release_publish(release=late, at=T1)
    late.refresh_from_db()
    assert late.status == "draft"
    assert values(observations_latest(series=[revised.pk])) == [Decimal(41560000)]


def test_publishing_twice_changes_nothing(revised):
    second = revised.observations.get(valid_to__isnull=True).release
    release_publish(release=second, at=dt.datetime(2025, 1, 1, tzinfo=WIB))
    second.refresh_from_db()
    assert second.published_at == T2
    assert Observation.objects.filter(series=revised).count() == 2


def test_series_with_latest_picks_the_newest_period(catalogue):
    release = release_create(slug="bulanan", title_id="x", title_en="x")
    import_rows(
        release,
        [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", f"2023-{m:02d}", str(m)) for m in range(1, 13)],
    )
    release_publish(release=release)
    latest = series_with_latest_public(queryset=Series.objects.all()).get(frequency="M")
    assert (latest.latest_period, latest.latest_value) == ("2023-12", Decimal(12))


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def test_series_cross_section_and_latest_reads_use_an_index_not_a_scan(revised):
    one_series = observations_latest(series=[revised.pk]).order_by("period_start")
    as_of = observations_as_of(at=T1, series=[revised.pk])
    latest_every_series = series_with_latest_public(queryset=Series.objects.all())
    for queryset in (one_series, as_of, latest_every_series):
        plan = _plan(queryset)
        assert "Seq Scan on stats_observation" not in plan, plan
