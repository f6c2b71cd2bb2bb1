"""The set-based engine writing a recompute's values as published rows at once.

``derived_run(publish_at=...)`` inserts the values of a new release as rows already
published at that instant (straight from the statement of a definition with nothing
stored, or from drv_new), closing what they revise, and ``derived_release_publish``
marks the release published. The old way, drafts then ``release_publish``, must give the
same rows, vintages, gaps and audit entry.
"""

import datetime as dt
import json
from random import Random

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from publications.choices import ReleaseStatus
from publications.derived import (
    derived_recompute_all,
    recompute_release_create,
    recompute_release_publish,
)
from publications.models import AuditAction, AuditEntry, Release
from publications.services import release_create, release_publish
from stats.choices import DerivedKind
from stats.derived import RevisionOrderError, derived_run
from stats.models import DerivedGap, Observation
from stats.selectors import observations_as_of
from tests.stats.helpers import import_rows
from tests.stats.test_derived import (  # noqa: F401 (generated: a fixture)
    WIB,
    _generated_rows,
    _release_label,
    define,
    derived_snapshot,
    generated,
    rows,
)

MONTHS = [f"{year}-{month:02d}" for year in (2021, 2022, 2023) for month in range(1, 13)]


def new_release():
    return recompute_release_create(slug_base="derived-full-recompute", title_id="t", title_en="t")


def snapshot():
    """Every derived row with its exact vintage, every gap, the publication's audit."""
    observations, _series, gaps = derived_snapshot(exact_vintages=True)
    audit = sorted(
        (
            _release_label(entry.release.slug),
            entry.action,
            entry.from_status,
            entry.to_status,
            json.dumps(
                {k: v for k, v in entry.changes.items() if k != "published_at"}, sort_keys=True
            ),
        )
        for entry in AuditEntry.objects.filter(
            release__slug__startswith="derived-full-recompute"
        ).select_related("release")
    )
    return observations, gaps, audit


def both_ways(at):
    """The recompute at ``at`` written as drafts and published by release_publish, rolled
    back, then written as published rows directly; asserts both leave the same rows."""
    point = transaction.savepoint()
    drafts = derived_run(new_release=new_release)
    assert drafts.published == 0
    if drafts.written:
        release_publish(release=drafts.release, at=at)
    expected = snapshot()
    transaction.savepoint_rollback(point)
    direct = derived_run(new_release=new_release, publish_at=at)
    recompute_release_publish(summary=direct)
    found = snapshot()
    assert found[0] == expected[0]
    assert found[1:] == expected[1:]
    counts = ("computed", "written", "unchanged", "gaps")
    assert [getattr(direct, c) for c in counts] == [getattr(drafts, c) for c in counts]
    return direct


def first_release(random):
    first = release_create(slug="first", title_id="first", title_en="first")
    import_rows(first, _generated_rows(random, MONTHS))
    release_publish(release=first, at=dt.datetime(2024, 1, 10, 10, tzinfo=WIB))
    return first


@pytest.mark.usefixtures("generated")
def test_a_cold_recompute_published_directly_equals_drafts_then_publish():
    first_release(Random(7))
    at = timezone.now()
    summary = both_ways(at)
    # Nothing was stored: the SQL definitions inserted their rows from their statements.
    assert summary.published > 1000 and summary.revised == 0
    assert summary.written > summary.published  # the Python kinds' rows: drafts, published
    release = Release.objects.get(pk=summary.release.pk)
    assert release.status == ReleaseStatus.PUBLISHED and release.published_at == at
    assert not Observation.objects.filter(release=release, valid_from__isnull=True).exists()
    assert set(
        Observation.objects.filter(release=release).values_list("valid_from", flat=True)
    ) == {at}
    entry = AuditEntry.objects.get(release=release, action=AuditAction.PUBLISHED)
    assert entry.changes["observations_published"] == summary.written
    assert entry.changes["observations_revised"] == 0
    # Before the instant, the derived values did not exist; a rerun writes nothing.
    derived = Observation.objects.filter(release=release).values("series")
    assert not observations_as_of(at=at - dt.timedelta(microseconds=1), series=derived).exists()
    assert observations_as_of(at=at, series=derived).count() == summary.written
    before = Observation.objects.count()
    again = derived_recompute_all()
    assert again.written == 0 and again.release is None
    assert Observation.objects.count() == before


@pytest.mark.usefixtures("generated")
def test_a_revision_published_directly_closes_what_it_revises_as_publish_does():
    random = Random(11)
    first_release(random)
    cold_at = timezone.now() - dt.timedelta(hours=2)
    cold = derived_run(new_release=new_release, publish_at=cold_at)
    recompute_release_publish(summary=cold)
    correction = release_create(slug="correction", title_id="c", title_en="c")
    import_rows(correction, _generated_rows(random, MONTHS[-14:], skip=0.6))
    release_publish(release=correction, at=timezone.now() - dt.timedelta(hours=1))
    at = timezone.now()
    summary = both_ways(at)
    # Some values revise stored ones, some fill former gaps.
    assert 0 < summary.revised < summary.published
    entry = AuditEntry.objects.get(release=summary.release, action=AuditAction.PUBLISHED)
    assert entry.changes["observations_published"] == summary.written
    # With those of the Python kinds' drafts, closed by release_publish.
    assert entry.changes["observations_revised"] > summary.revised
    closed = Observation.objects.filter(release=cold.release, valid_to__isnull=False)
    assert closed.count() == entry.changes["observations_revised"]
    assert {o.valid_to for o in closed} == {at}
    # As of an instant before, the cold recompute's values are what was shown.
    series = Observation.objects.filter(release=summary.release).values("series")
    then = observations_as_of(at=at - dt.timedelta(seconds=1), series=series)
    assert {o.release_id for o in then} == {cold.release.pk}


def correction_published(random):
    """The first release and its derived values, then a correction of 14 months, published."""
    first_release(random)
    derived_recompute_all()
    correction = release_create(slug="correction", title_id="c", title_en="c")
    import_rows(correction, _generated_rows(random, MONTHS[-14:], skip=0.6))
    release_publish(release=correction)
    return correction


@pytest.mark.usefixtures("generated")
def test_a_revision_published_before_what_it_revises_is_refused():
    random = Random(13)
    correction_published(random)
    stored = Observation.objects.count()
    with pytest.raises(RevisionOrderError, match="cannot be published earlier"):
        derived_run(new_release=new_release, publish_at=timezone.now() - dt.timedelta(days=1))
    assert Observation.objects.count() == stored


@pytest.mark.usefixtures("generated")
def test_a_publication_committed_during_a_recompute_sends_it_the_drafts_way(monkeypatch):
    """The run's instant is taken when it starts; a correction published after that (as
    if committed by another process meanwhile) makes the direct way refuse, and the run
    is made again as drafts and published now instead of failing."""
    import publications.derived

    random = Random(17)
    correction = correction_published(random)
    started = timezone.now() - dt.timedelta(minutes=5)

    class Clock:
        """The run's start before the correction's publication; real time afterwards."""

        @staticmethod
        def now():
            monkeypatch.setattr(publications.derived, "timezone", timezone)
            return started

    monkeypatch.setattr(publications.derived, "timezone", Clock)
    summary = derived_recompute_all()
    assert summary.written and summary.published == 0
    release = Release.objects.get(pk=summary.release.pk)
    assert release.status == ReleaseStatus.PUBLISHED
    assert release.published_at > correction.published_at
    # Nothing is left to recompute: what it published is what the inputs give now.
    again = derived_recompute_all()
    assert again.written == 0 and again.unchanged == summary.computed - summary.gaps


def test_a_definition_with_only_gaps_creates_no_release(catalogue):
    define(
        "OUT",
        DerivedKind.RATIO,
        [("a", "ACTIVE_PARTICIPANTS", {}), ("b", "ELIGIBLE_WORKERS", {})],
        scale=100,
    )
    inputs = release_create(slug="inputs", title_id="i", title_en="i")
    import_rows(inputs, rows("ACTIVE_PARTICIPANTS", {"2022": "40", "2023": "41"}))
    release_publish(release=inputs)
    summary = derived_recompute_all()
    assert (summary.computed, summary.gaps, summary.written) == (2, 2, 0)
    assert summary.release is None
    assert not Release.objects.filter(slug__startswith="derived-").exists()
    assert DerivedGap.objects.filter(release__isnull=True).count() == 2


@pytest.mark.usefixtures("generated")
def test_a_recompute_published_directly_starts_a_new_api_generation():
    from stats.events import GENERATION_KEY, bump_after_commit

    first_release(Random(17))
    cache.set(GENERATION_KEY, ("before", None), 60)
    summary = derived_recompute_all()
    assert summary.published > 0
    assert cache.get(GENERATION_KEY) is None  # bumped at once (the audit entry) ...
    # ... and again once the transaction commits.
    assert any(entry[1] is bump_after_commit for entry in connection.run_on_commit)


def test_direct_publication_needs_a_new_release(db):
    with pytest.raises(ValueError, match="publish_at"):
        derived_run(publish_at=timezone.now())
