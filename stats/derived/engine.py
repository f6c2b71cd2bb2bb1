"""A run of the derived engine: every affected definition in dependency order, each
computed by the engine of its kind (``kinds.py``), written where it differs from what is
stored, with the gaps found.

Derived values are observations like any other: written as drafts into the release
whose data caused them, they become public in the same transaction as that release's
inputs, and follow the same vintages. Which release that is, and publishing it, is the
publishing layer's business: this module is given release ids and a function that makes
a new release when there is something to write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.db import transaction

from ..models import DerivedDefinition, Observation, RevisionOrderError
from . import sql as q
from .inputs import outputs_of, outputs_series, outputs_with_targets, run_context, steps_back
from .kinds import SQL_KINDS, TARGET_KINDS, stored_value
from .python import ComputedValue, derived_compute
from .writer import Texts, copy_rows, current_values


class ReleaseLike(Protocol):
    """What the engine needs of a release: its id (and a slug for messages)."""

    pk: int
    slug: str


@dataclass
class RecomputeSummary:
    computed: int = 0
    written: int = 0
    unchanged: int = 0
    gaps: int = 0
    definitions: list[str] = field(default_factory=list)
    release: ReleaseLike | None = None
    # Of ``written``: rows written directly as published (``derived_run`` with
    # ``publish_at``), and the current rows they revised, closed at that instant.
    published: int = 0
    revised: int = 0
    published_at: dt.datetime | None = None


@transaction.atomic
def derived_run(
    *,
    changed: set[tuple[int, str]] | None = None,
    changed_release_id: int | None = None,
    release_id: int | None = None,
    only: Iterable[int] | None = None,
    release: ReleaseLike | None = None,
    new_release: Callable[[], ReleaseLike] | None = None,
    publish_at: dt.datetime | None = None,
) -> RecomputeSummary:
    """Compute the derived values downstream of the changes and write what differs from
    the stored values (and the gaps).

    The changes are ``changed`` pairs, or the input values of ``changed_release_id``, or
    (both None) everything. ``release_id`` overlays that release's draft values on the
    published ones, so a scheduled release's consequences are computed before it is
    public. The values are written as drafts of ``release``, or of ``new_release()``,
    called only if there is anything to write.

    ``publish_at`` (with ``new_release``, the new release to be published at once by the
    publishing layer): the values are written as rows of the new release
    already published at that instant, the current rows they revise closed at it, as
    ``release_publish`` would do with drafts, but each row written once. A definition of
    a full run with nothing stored yet inserts its values straight from its statement.
    Values of the kinds the Python engine computes stay drafts, for ``release_publish``.
    """
    if publish_at is not None and (release is not None or new_release is None):
        raise ValueError("publish_at: only values of a new release are published directly")
    scoped = changed is not None or changed_release_id is not None
    q.temp_tables_create()
    if changed is not None:
        q.scope_load_pairs(changed)
    elif changed_release_id is not None:
        q.scope_load_release(changed_release_id)
    summary = RecomputeSummary(release=release)
    changed_indicators = q.scope_indicators() if scoped else None
    if scoped and not changed_indicators:
        return summary
    context = run_context(changed_indicators)
    # The series with changed values (grown with what each definition produces): a
    # scoped run maps only the outputs that read one of them.
    scope_series = q.scope_series_ids() if scoped else set()
    wanted = set(only) if only is not None else None
    read_by_some = {i.indicator_id for d in context.definitions for i in d.inputs.all()}
    overlay_series: set[int] = set()
    output_series: set[int] = set()
    python_items: list[ComputedValue] = []
    codes: set[str] = set()
    candidates = published = 0
    for definition in context.definitions:
        if wanted is not None and definition.indicator_id not in wanted:
            continue
        input_indicators = {i.indicator_id for i in definition.inputs.all()}
        if changed_indicators is not None and not input_indicators & changed_indicators:
            continue
        feeds = definition.indicator_id in read_by_some
        if definition.kind in SQL_KINDS:
            outputs = outputs_of(definition, context.series_index, context.totals)
            if definition.kind in TARGET_KINDS:
                outputs = outputs_with_targets(outputs, context.targets)
            if scoped:
                outputs = [
                    o
                    for o in outputs
                    if any(s is not None and s.pk in scope_series for s in o.inputs.values())
                ]
            if not outputs:
                continue
            for output in outputs:
                output.series = context.series_index.get(
                    (definition.indicator_id, output.frequency, output.key)
                )
            inputs = {s.pk for o in outputs for s in o.inputs.values() if s is not None}
            overlay = bool(inputs & overlay_series)
            rows = q.map_load(definition, outputs, steps_back)
            if any(o.series is None for o in outputs):
                missing = q.outputs_without_series(
                    definition, scoped=scoped, release_id=release_id, overlay=overlay
                )
                if missing:
                    outputs_series(
                        definition.indicator,
                        [rows[i].output for i in sorted(missing)],
                        context.series_index,
                    )
                    q.map_copy(rows)
            run: q.RunArgs = {
                "backs": sorted({(row.back, row.output.frequency) for row in rows}),
                "scoped": scoped,
                "release_id": release_id,
                "overlay": overlay,
                "feeds_others": feeds,
            }
            direct = (
                publish_at is not None
                and not scoped
                and release_id is None
                and not overlay
                and not q.outputs_stored()
            )
            if direct:
                assert publish_at is not None  # part of ``direct``
                assert new_release is not None  # checked on entry, given publish_at
                result, release = _definition_publish(
                    definition, run, release, new_release, publish_at
                )
                summary.published += result.published
                published += result.published
            else:
                result = q.definition_run(definition, **run)
            if not result.computed:
                continue
            summary.computed += result.computed
            summary.gaps += result.gaps
            candidates += result.candidates
            produced = {o.series.pk for o in outputs if o.series is not None}
        else:
            inputs = {
                s.pk
                for o in outputs_of(definition, context.series_index, context.totals)
                for s in o.inputs.values()
                if s is not None
            }
            pairs = None
            if scoped:
                pairs = {(s, p) for s, ps in q.scope_series(sorted(inputs)).items() for p in ps}
                if not pairs:
                    continue
            overlay_values = q.overlay_rows(sorted(inputs & overlay_series))
            items = derived_compute(
                changed=pairs,
                release_id=release_id,
                only=[definition.indicator_id],
                overlay=overlay_values,
                context=context,
            )
            if not items:
                continue
            q.python_results_add(
                definition.pk, items, stored_value, feeds_others=feeds, scoped=scoped
            )
            python_items.extend(items)
            summary.computed += len(items)
            summary.gaps += sum(1 for item in items if item.result.value is None)
            produced = {_output_series_id(item) for item in items}
        codes.add(definition.indicator.code)
        output_series |= produced
        if feeds:
            overlay_series |= produced
            scope_series |= produced
        if changed_indicators is not None:
            changed_indicators.add(definition.indicator_id)
    # What the Python engine computed: written where it differs from the stored value.
    python_rows = []
    if python_items:
        ids = sorted({_output_series_id(item) for item in python_items})
        periods = {item.period for item in python_items}
        current = current_values(ids, periods)
        for item in python_items:
            if item.result.value is None:
                continue
            value = stored_value(item.result.value)
            series_id = _output_series_id(item)
            if current.get((series_id, item.period)) != value:
                python_rows.append((series_id, item.period, value, item.result.status, item))
    if publish_at is None and release is not None and output_series:
        q.release_drafts_delete(release.pk, sorted(output_series))
    if candidates or python_rows:
        if release is None:
            # The callers give a release, or a way to make one, whenever a run can write.
            assert new_release is not None
            release = new_release()
        if candidates and publish_at is not None:
            inserted, closed, latest = q.values_publish(release.pk, publish_at)
            if inserted != candidates:
                _revision_refuse(release, latest, publish_at)
            summary.published += inserted
            summary.revised += closed
        elif candidates:
            q.values_write(release.pk)
        if python_rows:
            copy_rows(python_rows, release.pk, Texts())
    if codes:
        q.gaps_write(release.pk if release is not None else None)
    summary.written = published + candidates + len(python_rows)
    summary.unchanged = summary.computed - summary.gaps - summary.written
    summary.release = release
    summary.definitions = sorted(codes)
    if summary.published:
        summary.published_at = publish_at
    return summary


def _output_series_id(item: ComputedValue) -> int:
    # derived_compute gives every output it returns a value of its series.
    assert item.output.series is not None
    return item.output.series.pk


def _definition_publish(
    definition: DerivedDefinition,
    run: q.RunArgs,
    release: ReleaseLike | None,
    new_release: Callable[[], ReleaseLike],
    at: dt.datetime,
) -> tuple[q.SqlDefinitionResult, ReleaseLike | None]:
    """A definition of a full run with nothing stored: its values inserted as published
    rows of the new release (created now if it is not yet). Returns (result, release).

    The release is created only if the statement writes a value: when it finds gaps
    only, the release and the statement are undone and the definition runs as usual."""
    if release is not None:
        return q.definition_run(definition, publish=(release.pk, at), **run), release
    point = transaction.savepoint()
    release = new_release()
    result = q.definition_run(definition, publish=(release.pk, at), **run)
    if result.published:
        transaction.savepoint_commit(point)
        return result, release
    transaction.savepoint_rollback(point)
    return q.definition_run(definition, **run), None


def _revision_refuse(release: ReleaseLike, latest: dt.datetime | None, at: dt.datetime) -> None:
    """release_publish's rule: a revision comes after what it revises."""
    raise RevisionOrderError(
        f"release {release.slug} revises values published at "
        f"{latest.isoformat() if latest else None}; it cannot be published earlier "
        f"({at.isoformat()})"
    )


def derived_precompute(*, release: ReleaseLike) -> RecomputeSummary:
    """Compute, as drafts of ``release``, the derived values its data will cause."""
    with transaction.atomic():
        Observation.objects.filter(
            release_id=release.pk, valid_from__isnull=True, provenance__isnull=False
        ).delete()
        return derived_run(changed_release_id=release.pk, release_id=release.pk, release=release)
