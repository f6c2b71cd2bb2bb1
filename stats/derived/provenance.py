"""The text of a derived value's formula, from its stored provenance, and of a definition's
formula: the one place the pages, the API and the writer take them from.

A derived value's provenance (``Observation.provenance``, written by ``writer``) records
the definition's formula, the expression with the exact numbers in it
("40 = 40000000 / 100000000 x 100") and the inputs used; the SQL engine stores it in
compact form (``stats.models.DerivedProvenanceHead``), read in full through
``provenance_sql`` in SQL and ``provenance_render`` in Python. ``formula_text`` renders
it: in the API's neutral form (dot decimal, no thousands separator, English words: the
stored expression as it is) or for a reader of a page (the page's number forms, the
inputs named). The API reads the neutral form in SQL, inside the statement of its page
(``rendered_sql``: the formula and the inputs, the compact form's inputs found by the
SQL function ``stats_provenance_inputs``, which ``stats_provenance`` is made of too);
``tests/stats/test_api_provenance.py`` holds the two to each other on every derived value
of the demo.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL

from .. import formatting
from ..models import DerivedDefinition, Observation, Provenance
from .kinds import DEFAULT_FORMULAS


def definition_formula(definition: DerivedDefinition, *, language: str) -> str:
    """The formula of a definition in ``language`` ("id" or "en"): the one the staff
    wrote, else the Indonesian one, else the kind's default."""
    own = definition.formula_en if language[:2] == "en" else ""
    return own or definition.formula_id or DEFAULT_FORMULAS[definition.kind]


def formula_text(
    provenance: Provenance | None,
    *,
    language: str | None = None,
    inputs: Sequence[tuple[str, str, str]] = (),
    unit: str = "",
    decimals: int = 1,
) -> str | None:
    """The formula of a derived value with the numbers used, from its provenance (None
    for a value that is not derived).

    ``language`` None: the API's neutral form, "40 = 40000000 / 100000000 x 100" (what
    ``rendered_sql`` reads). Else for a page in that language, "40,0 persen = 40 juta
    peserta aktif / 100 juta pekerja layak x 100": ``inputs`` gives (exact value text,
    unit, name) of the inputs in the order the expression names them, ``unit`` and
    ``decimals`` the value's own (``formatting.expression_text``)."""
    if provenance is None:
        return None
    expression = provenance["expression"]
    if language is None:
        return expression
    return formatting.expression_text(
        expression, inputs=list(inputs), unit=unit, language=language, decimals=decimals
    )


def provenance_sql(observation: str) -> str:
    """The full provenance (jsonb) of the observation row aliased ``observation``, its
    compact form rendered (``stats_provenance``, stats migrations 0011 and 0013). It is
    called for compact rows only: a call costs even when it gives its argument back."""
    return (
        f"CASE WHEN {observation}.provenance ? 'head' THEN "
        f"stats_provenance({observation}.provenance, {observation}.value, "
        f"{observation}.release_id, {observation}.valid_from, {observation}.period_start) "
        f"ELSE {observation}.provenance END"
    )


def with_full_provenance(observations: QuerySet) -> QuerySet:
    """``observations`` with each row's full provenance read along
    (``provenance_full``), so that ``provenance_render`` needs no query of its own."""
    full = RawSQL(provenance_sql(Observation._meta.db_table), (), output_field=JSONField())
    return observations.annotate(provenance_full=full)


def provenance_render(observations: Iterable) -> None:
    """Replace the compact provenance of ``observations`` (loaded rows) by its full
    form: read along (``with_full_provenance``), else in one query when any is compact."""
    compact = {o.pk: o for o in observations if o.provenance and "head" in o.provenance}
    for pk, observation in list(compact.items()):
        if hasattr(observation, "provenance_full"):
            observation.provenance = observation.provenance_full
            del compact[pk]
    if not compact:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.id, {provenance_sql('o')}::text FROM stats_observation o "
            "WHERE o.id = ANY(%s)",
            [list(compact)],
        )
        for pk, text in cursor.fetchall():
            compact[pk].provenance = json.loads(text)


def rendered_sql(observation: str, *, compact: bool, public_releases: str = "") -> str:
    """A sub-select of one row giving the formula (``formula``: ``formula_text``'s neutral
    form) and the inputs (``inputs``) of the derived value of the observation row aliased
    ``observation``, as text, each NULL for a value that is not derived. A compact
    provenance is rendered once for both, inlined into the statement
    (``stats_provenance_inputs``, stats migration 0013); a stored JSON one is read as it is.
    Read it in FROM with OFFSET 0 (``rendered_from``).

    The inputs are in the order they were used, each with the release of the observation
    used; an input computed in the same run (not stored then, its ``observation`` null)
    was written by the same release as the value itself. ``compact`` False: a JSON array
    of objects (role, indicator, series_key, period, value, release: the release's id).
    True: the CSV's text, one "role: indicator series_key period value release" per input,
    "; " between them (none of the parts holds a space), the release by slug if it is
    among the public ones, the SQL array ``public_releases`` (an expression or a
    parameter, named once), else "-".
    """
    o = observation
    release = f"COALESCE(x.release, {o}.release_id)"
    if compact:
        item = (
            "(x.role #>> '{}') || ': ' || (x.indicator #>> '{}') || ' ' || "
            "(x.series_key #>> '{}') || ' ' || (x.period #>> '{}') || ' ' || "
            "(x.value #>> '{}') || ' ' || COALESCE((SELECT ir.slug FROM publications_release "
            f"ir WHERE ir.id = {release} AND ir.id = ANY({public_releases})), '-')"
        )
        inputs = f"string_agg({item}, '; ' ORDER BY x.n)"
    else:
        item = (
            "json_build_object('role', x.role, 'indicator', x.indicator, "
            "'series_key', x.series_key, 'period', x.period, 'value', x.value, "
            f"'release', {release})"
        )
        inputs = f"json_agg({item} ORDER BY x.n)::text"
    # Either branch runs, never both (each is gated on the row's own provenance).
    rows = (
        "SELECT i.n, i.role, i.indicator, i.series_key, to_jsonb(i.period) AS period, "
        "to_jsonb(i.value) AS value, i.release, i.expression "
        f"FROM stats_provenance_inputs({o}.provenance, {o}.value, {o}.release_id, "
        f"{o}.valid_from, {o}.period_start) i "
        "UNION ALL SELECT e.n, e.i -> 'role', e.i -> 'indicator', e.i -> 'series_key', "
        "e.i -> 'period', e.i -> 'value', io.release_id, NULL "
        f"FROM jsonb_array_elements({o}.provenance -> 'inputs') WITH ORDINALITY AS e(i, n) "
        "LEFT JOIN stats_observation io ON io.id = (e.i ->> 'observation')::bigint "
        f"WHERE NOT {o}.provenance ? 'head'"
    )
    return (
        f"SELECT CASE WHEN {o}.provenance ? 'head' THEN min(x.expression) "
        f"ELSE {o}.provenance ->> 'expression' END AS formula, {inputs} AS inputs "
        f"FROM ({rows}) x"
    )


def rendered_from(observation: str, alias: str, **kwargs) -> str:
    """``rendered_sql`` as a FROM item named ``alias``, made once per row (OFFSET 0: not
    pulled up into its several reads)."""
    return f"({rendered_sql(observation, **kwargs)} OFFSET 0) {alias}"
