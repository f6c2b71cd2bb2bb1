"""The derived-indicator engine, set-based on PostgreSQL.

Each definition of a kind that SQL can compute exactly (change, percent change and
multiple over k periods; ratio, share, per unit, difference; sum of terms; progress to
the series' target) is ONE statement over all its output series. The statement reads the
input values (the published ones, overlaid with a release's drafts and with the values
computed earlier in the run), computes each value in numeric arithmetic, rounded once,
half to even, to the stored 10 decimal places, compares it with the stored current
value, and keeps only what differs (and the gaps) in a temporary table, with its
provenance in compact form (the id of the provenance head its output series shares and
the ids of the input observations; ``stats_provenance`` renders the formula and the
exact input texts when read). Nothing unchanged is written. A recompute publishing a new
release at once writes the values as rows already published at its instant (closing what
they revise), each row once; a definition with nothing stored yet inserts its values
straight from its statement, without comparing. The kinds that need a real power (compound growth,
required growth) run through the Python engine inside the same run, reading and feeding
the same overlay.

Rounding: the inputs (and targets) have at most 10 decimals and 30 digits, a ratio's
scale at most 6 decimals and 20 digits, so a quotient is n / d with an integer d below
10^36 (after scaling both to integers); unless it is exactly a tie at the 11th decimal, it is at
least 1 / (2 * 10^10 * d) > 5e-47 away from one. Taken at 60 decimals (error below
5e-61), it rounds, half to even, exactly as the exact quotient does (which is what the
reference in tests/stats/derived_oracle.py rounds, with fractions). Where a value is
stored, the quotient is first checked against it with products only
(``_same_or_exact``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from django.db import connection

from ..choices import DerivedKind
from ..models import DerivedDefinition, DerivedGap, Series, exact_text
from ..periods import MONTHS_PER_PERIOD, parse_period
from ..services import close_revised_sql
from .inputs import IndexedSeries, Output
from .kinds import SHIFT_SQL_KINDS
from .writer import DERIVED_SOURCE, formula_prefix

_TEMP_TABLES = """
DROP TABLE IF EXISTS drv_map, drv_terms, drv_scope, drv_vals, drv_new, drv_keys, drv_periods,
    drv_heads;
CREATE TEMPORARY TABLE drv_map (
    idx integer PRIMARY KEY, out_id bigint, okey text, freq text, back integer,
    x bigint, xcode text, xkey text, b bigint, bcode text, bkey text, bwanted text,
    tval numeric, tperiod text, head bigint
) ON COMMIT DROP;
CREATE INDEX ON drv_map (okey);
CREATE TEMPORARY TABLE drv_terms (
    idx integer, pos integer, series bigint, absent text, lacks text,
    PRIMARY KEY (idx, pos)
) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_scope (
    series_id bigint, period text, period_start date, PRIMARY KEY (series_id, period)
) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_vals (
    series_id bigint, period text, period_start date, period_end date, value numeric,
    status text, PRIMARY KEY (series_id, period)
) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_new (
    def integer, out_id bigint, okey text, period text, period_start date, period_end date,
    value numeric, status text, reason text, prov jsonb
) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_keys (def integer, okey text) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_heads (n integer PRIMARY KEY, head jsonb) ON COMMIT DROP;
CREATE TEMPORARY TABLE drv_periods (def integer, period text) ON COMMIT DROP;
"""

_COPY_MAP = (
    "COPY drv_map (idx, out_id, okey, freq, back, x, xcode, xkey, b, bcode, bkey, bwanted, "
    "tval, tperiod, head) FROM STDIN"
)
_COPY_TERMS = "COPY drv_terms (idx, pos, series, absent, lacks) FROM STDIN"


def _text(expression: str) -> str:
    """exact_text() in SQL: no exponent (numeric has none), no trailing zeros."""
    return f"trim_scale({expression})::text"


def _period_code(date: str) -> str:
    """The code of the period of the drv_map row ``m`` that starts on ``date``."""
    stamp = f"({date})::timestamp"
    return (
        f"CASE m.freq WHEN 'M' THEN to_char({stamp}, 'YYYY-MM') "
        f"WHEN 'Q' THEN to_char({stamp}, 'YYYY-\"Q\"Q') "
        f"WHEN 'S' THEN to_char({stamp}, 'YYYY') || "
        f"CASE WHEN extract(month FROM {stamp}) <= 6 THEN '-S1' ELSE '-S2' END "
        f"ELSE to_char({stamp}, 'YYYY') END"
    )


def _raw_value(definition: DerivedDefinition, a: str, b: str) -> tuple[str, bool]:
    """The value of ``definition`` from inputs ``a`` (x now) and ``b`` (x then, or b):
    exact for differences; for quotients, at 60 decimals (NULL for a zero denominator),
    to be rounded by half_even(). Returns (expression, is a quotient)."""
    if definition.kind in (DerivedKind.CHANGE, DerivedKind.DIFFERENCE):
        return f"({a} - {b})", False
    return f"(round({_numerator(definition, a, b)}, 60) / NULLIF({b}, 0))", True


def _numerator(definition: DerivedDefinition, a: str, b: str) -> str:
    """The exact numerator of a quotient kind (its denominator is ``b``)."""
    kind = definition.kind
    if kind == DerivedKind.PERCENT_CHANGE:
        return f"(({a} - {b}) * 100)"
    if kind in (DerivedKind.MULTIPLE, DerivedKind.PER_UNIT):
        return a
    scale = Decimal(100) if kind == DerivedKind.SHARE else definition.scale
    return f"({a} * {scale})"


def _same_or_exact(stored: str, numerator: str, denominator: str) -> str:
    """The rounded quotient, knowing the stored value: when the exact quotient n / d is
    strictly within half a unit of the 10th decimal of the stored value c, that is
    |n - c * d| < |d| * 0.5e-10 (exact numeric products, no division), it rounds to c
    (no tie is possible); only otherwise (a changed value, a tie, nothing stored) is the
    quotient taken at 60 decimals and rounded half to even. A nightly recompute finds
    nearly every value unchanged: one multiplication instead of a long division each."""
    exact = (
        f"(SELECT {half_even('h.q')} FROM (SELECT round({numerator}, 60) / "
        f"NULLIF({denominator}, 0) AS q OFFSET 0) h)"
    )
    return (
        f"CASE WHEN {stored} IS NOT NULL AND abs({numerator} - {stored} * {denominator}) "
        f"< abs({denominator}) * 0.00000000005 THEN {stored} ELSE {exact} END"
    )


def half_even(q: str) -> str:
    """A quotient column taken at 60 decimals, rounded half to even to 10 decimals.

    Only a value with at most 11 decimals can be a tie: the cheap test comes first.
    """
    return (
        f"(CASE WHEN round({q}, 11) <> {q} THEN round({q}, 10) "
        f"WHEN abs({q} - trunc({q}, 10)) = 0.00000000005 "
        f"AND mod(trunc({q}, 10) * 10000000000, 2) = 0 "
        f"THEN trunc({q}, 10) ELSE round({q}, 10) END)"
    )


def _status(*statuses: str) -> str:
    """The weakest status of the inputs (Result.status of the Python engine)."""
    normal = " AND ".join(f"{s} = 'normal'" for s in statuses)
    listed = ", ".join(statuses)
    return (
        f"CASE WHEN {normal} THEN 'normal' "
        f"WHEN 'break' IN ({listed}) OR 'estimate' IN ({listed}) "
        f"THEN 'estimate' WHEN 'provisional' IN ({listed}) THEN 'provisional' "
        "ELSE 'normal' END"
    )


def status_of_group(status: str) -> str:
    """The rule of ``_status`` over the rows of a group (an aggregate of the column
    ``status``): what a value made of them is marked."""
    return (
        f"CASE WHEN bool_and({status} = 'normal') THEN 'normal' "
        f"WHEN bool_or({status} IN ('break', 'estimate')) THEN 'estimate' "
        f"WHEN bool_or({status} = 'provisional') THEN 'provisional' ELSE 'normal' END"
    )


def _inputs(release_id: int | None, overlay: bool, where: str) -> str:
    """The input values of the run where ``where`` (on alias ``o``) holds: the current
    values, under the release's drafts, under the values computed earlier in this run.

    Written with the condition inside each branch, so that every branch is an index
    scan when the subquery is joined LATERAL, row by row.
    """
    columns = "o.series_id, o.period, o.period_start, o.period_end, o.value, o.status"
    hidden_by_draft = (
        "NOT EXISTS (SELECT 1 FROM stats_observation r WHERE r.release_id = "
        f"{int(release_id or 0)} AND r.valid_from IS NULL AND r.series_id = o.series_id "
        "AND r.period = o.period)"
    )
    hidden_by_run = (
        "NOT EXISTS (SELECT 1 FROM drv_vals w WHERE w.series_id = o.series_id "
        "AND w.period = o.period)"
    )
    current = [f"o.valid_from IS NOT NULL AND o.valid_to IS NULL AND {where}"]
    if release_id is not None:
        current.append(hidden_by_draft)
    if overlay:
        current.append(hidden_by_run)
    parts = [
        f"SELECT {columns}, o.id AS obs FROM stats_observation o WHERE {' AND '.join(current)}"
    ]
    if release_id is not None:
        draft = [f"o.release_id = {int(release_id)} AND o.valid_from IS NULL AND {where}"]
        if overlay:
            draft.append(hidden_by_run)
        parts.append(
            f"SELECT {columns}, o.id AS obs FROM stats_observation o WHERE {' AND '.join(draft)}"
        )
    if overlay:
        parts.append(f"SELECT {columns}, NULL::bigint AS obs FROM drv_vals o WHERE {where}")
    # OFFSET 0 keeps the planner from flattening the subquery into a hash or merge join
    # over the whole table: joined LATERAL, it stays a few index lookups per row.
    return "(SELECT * FROM (" + " UNION ALL ".join(parts) + ") z OFFSET 0)"


class RunArgs(TypedDict):
    """The arguments of ``definition_run`` for one definition, ``publish`` aside."""

    backs: list[tuple[int, str]]
    scoped: bool
    release_id: int | None
    overlay: bool
    feeds_others: bool


@dataclass
class SqlDefinitionResult:
    computed: int = 0
    gaps: int = 0
    candidates: int = 0  # values that differ from the stored ones (in drv_new)
    published: int = 0  # values written directly as published rows (``publish``)


def _driver_sql(kind: str, scoped: bool, release_id: int | None, overlay: bool) -> str:
    """FROM ... : every drv_map row ``m`` with its driver value ``d`` at each output period."""
    if not scoped:
        inputs = _inputs(release_id, overlay, "o.series_id = m.x")
        return f"drv_map m CROSS JOIN LATERAL {inputs} d"
    if kind in SHIFT_SQL_KINDS:
        later = _period_code("s.period_start + make_interval(months => m.back)")
        todo = (
            "SELECT DISTINCT m.idx, t.period FROM drv_map m "
            "JOIN drv_scope s ON s.series_id = m.x "
            f"CROSS JOIN LATERAL (VALUES (s.period), ({later})) t(period)"
        )
    else:
        todo = (
            "SELECT m.idx, s.period FROM drv_map m JOIN drv_scope s ON s.series_id = m.x "
            "UNION SELECT m.idx, s.period FROM drv_map m JOIN drv_scope s ON s.series_id = m.b"
        )
        if kind == DerivedKind.SUM:
            todo += (
                " UNION SELECT t.idx, s.period FROM drv_terms t "
                "JOIN drv_scope s ON s.series_id = t.series"
            )
    inputs = _inputs(release_id, overlay, "o.series_id = m.x AND o.period = todo.period")
    return f"({todo}) todo JOIN drv_map m ON m.idx = todo.idx CROSS JOIN LATERAL {inputs} d"


def _result_sql(
    definition: DerivedDefinition, *, scoped: bool, release_id: int | None, overlay: bool
) -> str:
    """SELECT of one narrow row per output value: the value (or NULL and the reason),
    its status and the input values and observations it used."""
    kind = definition.kind
    if kind in ROW_KINDS:
        return _row_kind_result_sql(
            definition, full=False, scoped=scoped, release_id=release_id, overlay=overlay
        )
    driver = _driver_sql(kind, scoped, release_id, overlay)
    if kind in SHIFT_SQL_KINDS:
        earlier = _period_code("d.period_start - make_interval(months => m.back)")
        other = _inputs(release_id, overlay, "o.series_id = e.x AND o.period = e.yperiod")
        reason = (
            "CASE WHEN y.value IS NULL THEN "
            "'no value of ' || e.xcode || ' ' || e.xkey || ' for ' || e.yperiod"
        )
        if kind != DerivedKind.CHANGE:
            reason += " WHEN y.value = 0 THEN 'the value for ' || e.yperiod || ' is zero'"
        second_period = "e.yperiod"
    else:
        earlier = "NULL::text"
        other = _inputs(release_id, overlay, "o.series_id = e.b AND o.period = e.period")
        reason = (
            "CASE WHEN e.b IS NULL THEN 'there is no series ' || e.bwanted "
            "WHEN y.value IS NULL THEN 'no value of ' || e.bcode || ' ' || e.bkey || "
            "' for ' || e.period"
        )
        if kind != DerivedKind.DIFFERENCE:
            reason += " WHEN y.value = 0 THEN 'the denominator for ' || e.period || ' is zero'"
        second_period = "e.period"
    reason += " END"
    raw, divided = _raw_value(definition, "e.xv", "y.value")
    value = half_even("g.q") if divided else "g.q"
    return (
        "SELECT g.idx, g.out_id, g.period, g.period_start, g.period_end, g.reason, "
        f"CASE WHEN g.reason IS NULL THEN {value} "
        "END AS value, g.status, g.xv, g.xo, g.yv, g.yo, g.p2 FROM ("
        "SELECT e.idx, e.out_id, e.period, e.period_start, e.period_end, e.xv, e.xo, "
        f"y.value AS yv, y.obs AS yo, {second_period} AS p2, {reason} AS reason, {raw} AS q, "
        f"{_status('e.xs', 'y.status')} AS status "
        "FROM (SELECT m.idx, m.out_id, m.x, m.b, m.xcode, m.xkey, m.bcode, m.bkey, m.bwanted, "
        "d.period, d.period_start, d.period_end, d.value AS xv, d.obs AS xo, d.status AS xs, "
        f"{earlier} AS yperiod FROM {driver}) e "
        f"LEFT JOIN LATERAL {other} y ON true OFFSET 0) g"
    )


_CURRENT = "{0}.valid_from IS NOT NULL AND {0}.valid_to IS NULL"


def _full_result_sql(
    definition: DerivedDefinition, backs: Sequence[tuple[int, str]], *, compare: bool = True
) -> str:
    """_result_sql for a full run over the published values only: one pass per output
    series (an index scan in period order), the earlier value of a shift from a window
    (``lag``) checked to be exactly ``back`` months before, the other input and the
    stored value joined on
    the period start; the stored value comes along (``cv``), so no lookup is left.
    ``compare=False``: nothing is stored for these outputs, ``cv`` is NULL, no join."""
    kind = definition.kind
    if kind in ROW_KINDS:
        return _row_kind_result_sql(definition, full=True, compare=compare)
    stored = (
        (
            "LEFT JOIN stats_observation c ON c.series_id = m.out_id "
            f"AND c.period_start = d.period_start AND {_CURRENT.format('c')}"
        )
        if compare
        else ""
    )
    stored_value = "c.value" if compare else "NULL::numeric"
    branches = []
    if kind in SHIFT_SQL_KINDS:
        earlier = _period_code("r.period_start - make_interval(months => m.back)")
        reason = (
            "CASE WHEN r.yv IS NULL THEN "
            f"'no value of ' || m.xcode || ' ' || m.xkey || ' for ' || {earlier}"
        )
        if kind != DerivedKind.CHANGE:
            reason += f" WHEN r.yv = 0 THEN 'the value for ' || {earlier} || ' is zero'"
        reason += " END"
        for back, frequency in backs:
            # The value ``lag_rows`` rows before, when it is the period ``back`` months
            # before (no gap in between); otherwise looked up (rare).
            lag_rows = back // MONTHS_PER_PERIOD[frequency]
            lag = "lag({}, " + str(lag_rows) + ") OVER w"
            branches.append(
                "SELECT m.idx, m.out_id, m.xcode, m.xkey, m.freq, m.back, r.* FROM drv_map m "
                "CROSS JOIN LATERAL (SELECT d.period, d.period_start, d.period_end, d.xv, "
                "d.xo, d.xs, CASE WHEN d.lp = d.ep THEN d.lv ELSE z.value END AS yv, "
                "CASE WHEN d.lp = d.ep THEN d.lo ELSE z.id END AS yo, "
                "CASE WHEN d.lp = d.ep THEN d.ls ELSE z.status END AS ys, "
                "CASE WHEN d.lp = d.ep THEN d.lper ELSE z.period END AS yp, "
                f"{stored_value} AS cv FROM ("
                "SELECT o.period, o.period_start, o.period_end, o.value AS xv, o.id AS xo, "
                f"o.status AS xs, (o.period_start - interval '{int(back)} months')::date AS ep, "
                f"{lag.format('o.value')} AS lv, {lag.format('o.id')} AS lo, "
                f"{lag.format('o.status')} AS ls, {lag.format('o.period_start')} AS lp, "
                f"{lag.format('o.period')} AS lper "
                f"FROM stats_observation o WHERE o.series_id = m.x AND {_CURRENT.format('o')} "
                "WINDOW w AS (ORDER BY o.period_start)) d "
                "LEFT JOIN LATERAL (SELECT z.value, z.id, z.status, z.period "
                "FROM stats_observation z "
                "WHERE d.lp IS DISTINCT FROM d.ep AND z.series_id = m.x "
                f"AND z.period_start = d.ep AND {_CURRENT.format('z')} OFFSET 0) z ON true "
                f"{stored} OFFSET 0) r WHERE m.back = {int(back)} AND m.freq = '{frequency}'"
            )
    else:
        reason = (
            "CASE WHEN m.b IS NULL THEN 'there is no series ' || m.bwanted "
            "WHEN r.yv IS NULL THEN 'no value of ' || m.bcode || ' ' || m.bkey || "
            "' for ' || r.period"
        )
        if kind != DerivedKind.DIFFERENCE:
            reason += " WHEN r.yv = 0 THEN 'the denominator for ' || r.period || ' is zero'"
        reason += " END"
        branches.append(
            "SELECT m.idx, m.out_id, m.b, m.bcode, m.bkey, m.bwanted, r.* FROM drv_map m "
            "CROSS JOIN LATERAL (SELECT d.period, d.period_start, d.period_end, "
            "d.value AS xv, d.id AS xo, d.status AS xs, y.value AS yv, y.id AS yo, "
            f"y.status AS ys, NULL::text AS yp, {stored_value} AS cv FROM stats_observation d "
            "LEFT JOIN stats_observation y ON y.series_id = m.b "
            f"AND y.period_start = d.period_start AND {_CURRENT.format('y')} {stored} "
            f"WHERE d.series_id = m.x AND {_CURRENT.format('d')} OFFSET 0) r"
        )
    rows = " UNION ALL ".join(f"({branch})" for branch in branches)
    raw, divided = _raw_value(definition, "r.xv", "r.yv")
    value = half_even("g.q") if divided else "g.q"
    if divided and compare:
        raw = _numerator(definition, "r.xv", "r.yv")
        value = _same_or_exact("g.cv", "g.q", "g.yv")
    return (
        "SELECT g.idx, g.out_id, g.period, g.period_start, g.period_end, g.reason, "
        f"CASE WHEN g.reason IS NULL THEN {value} END AS value, "
        "g.status, g.xv, g.xo, g.yv, g.yo, g.yp AS p2, g.cv FROM ("
        "SELECT r.idx, r.out_id, r.period, r.period_start, r.period_end, r.xv, r.xo, r.yv, "
        f"r.yo, r.yp, r.cv, {reason.replace('m.', 'r.')} AS reason, {raw} AS q, "
        f"{_status('r.xs', 'r.ys')} AS status FROM ({rows}) r OFFSET 0) g"
    )


# Sums and progress: the driver value with, at the same period, the other terms of a
# sum (drv_terms, in the order of their role names, as the Python engine read them) or
# the series' target (drv_map.tval, tperiod).
ROW_KINDS = {DerivedKind.SUM, DerivedKind.PROGRESS_TO_TARGET}


def _terms_count(definition: DerivedDefinition) -> int:
    """The inputs of a sum besides its driver (term0): term1, term2, ..."""
    if definition.kind != DerivedKind.SUM:
        return 0
    return len(definition.inputs.all()) - 1


def _row_kind_result_sql(
    definition: DerivedDefinition,
    *,
    full: bool,
    compare: bool = True,
    scoped: bool = False,
    release_id: int | None = None,
    overlay: bool = False,
) -> str:
    """_result_sql (``full``: _full_result_sql) of a sum or a progress to target.

    Each term ``i`` of a sum comes as y{i}v, y{i}o (value, observation); a term with no
    series or no value gives the reason of the first such term, as the Python engine
    stopped at it. Progress is x * 100 / target, a quotient rounded as the others."""
    terms = range(1, _terms_count(definition) + 1)
    current = _CURRENT

    def joins(alias: str) -> str:
        return "".join(
            f" LEFT JOIN drv_terms t{i} ON t{i}.idx = {alias}.idx AND t{i}.pos = {i}" for i in terms
        )

    term_columns = "".join(f", t{i}.absent AS t{i}a, t{i}.lacks AS t{i}l" for i in terms)
    if full:
        stored = (
            (
                "LEFT JOIN stats_observation c ON c.series_id = m.out_id "
                f"AND c.period_start = d.period_start AND {current.format('c')}"
            )
            if compare
            else ""
        )
        stored_value = "c.value" if compare else "NULL::numeric"
        values = "".join(
            f", y{i}.value AS y{i}v, y{i}.id AS y{i}o, y{i}.status AS y{i}s" for i in terms
        )
        lookups = "".join(
            f"LEFT JOIN stats_observation y{i} ON y{i}.series_id = t{i}.series "
            f"AND y{i}.period_start = d.period_start AND {current.format(f'y{i}')} "
            for i in terms
        )
        rows = (
            f"SELECT m.idx, m.out_id, m.tval, m.tperiod{term_columns}, r.* "
            f"FROM drv_map m{joins('m')} "
            "CROSS JOIN LATERAL (SELECT d.period, d.period_start, d.period_end, "
            f"d.value AS xv, d.id AS xo, d.status AS xs{values}, {stored_value} AS cv "
            f"FROM stats_observation d {lookups}{stored} "
            f"WHERE d.series_id = m.x AND {current.format('d')} OFFSET 0) r"
        )
    else:
        compare = False
        driver = _driver_sql(definition.kind, scoped, release_id, overlay)
        values = "".join(
            f", y{i}.value AS y{i}v, y{i}.obs AS y{i}o, y{i}.status AS y{i}s" for i in terms
        )
        lookups = "".join(
            f" LEFT JOIN LATERAL "
            f"{_inputs(release_id, overlay, f'o.series_id = t{i}.series AND o.period = r.period')}"
            f" y{i} ON true"
            for i in terms
        )
        rows = (
            f"SELECT r.*{term_columns}{values} FROM (SELECT m.idx, m.out_id, m.tval, m.tperiod, "
            "d.period, d.period_start, d.period_end, d.value AS xv, d.obs AS xo, "
            f"d.status AS xs FROM {driver}) r{joins('r')}{lookups}"
        )
    if definition.kind == DerivedKind.SUM:
        whens = "".join(
            f"WHEN r.t{i}a IS NOT NULL THEN r.t{i}a WHEN r.y{i}v IS NULL THEN r.t{i}l || r.period "
            for i in terms
        )
        reason = f"CASE {whens}END"
        raw = " + ".join(["r.xv", *(f"r.y{i}v" for i in terms)])
        value = "g.q"
        status = _status("r.xs", *(f"r.y{i}s" for i in terms))
    else:
        reason = "CASE WHEN r.tval = 0 THEN 'the target is zero' END"
        raw = "round(r.xv * 100, 60) / NULLIF(r.tval, 0)"
        value = half_even("g.q")
        if compare:
            raw = "(r.xv * 100)"
            value = _same_or_exact("g.cv", "g.q", "g.tval")
        status = _status("r.xs")
    outputs = "".join(f", g.y{i}v, g.y{i}o" for i in terms)
    return (
        "SELECT g.idx, g.out_id, g.period, g.period_start, g.period_end, g.reason, "
        f"CASE WHEN g.reason IS NULL THEN {value} END AS value, "
        f"g.status, g.xv, g.xo{outputs}{', g.cv' if full else ''} FROM ("
        "SELECT r.*, "
        f"{reason} AS reason, {raw} AS q, {status} AS status FROM ({rows}) r OFFSET 0) g"
    )


def _pieces(definition: DerivedDefinition, output: Output, inputs: int) -> list[str]:
    """The text of a value's expression around its ``inputs`` input values (n + 1
    pieces), as the engine wrote it in full before 0011."""
    kind = definition.kind
    if kind == DerivedKind.SUM:
        return ["", *([" + "] * (inputs - 1)), ""]
    if kind == DerivedKind.PROGRESS_TO_TARGET:
        target = output.target
        assert target is not None  # an output without a target has no map row
        return ["", f" / {exact_text(target.value)} (target {target.period}) × 100"]
    if kind in (DerivedKind.CHANGE, DerivedKind.DIFFERENCE):
        return ["", " - ", ""]
    if kind == DerivedKind.PERCENT_CHANGE:
        return ["(", " / ", " - 1) × 100"]
    if kind in (DerivedKind.MULTIPLE, DerivedKind.PER_UNIT):
        return ["", " / ", ""]
    scale = Decimal(100) if kind == DerivedKind.SHARE else definition.scale
    return ["", " / ", "" if scale == 1 else f" × {exact_text(scale)}"]


def _input_head(role: str, series: Series | IndexedSeries, back: int) -> dict:
    return {
        "role": role,
        "indicator": series.indicator.code,
        "series_key": series.key,
        "series": series.pk,
        "back": back,
    }


def _head(definition: DerivedDefinition, row: MapRow) -> dict | None:
    """The provenance head (``DerivedProvenanceHead.head``) of the values of a map row:
    its inputs in the order the expression names them; None when an input series is
    missing (every value of the row is then a gap)."""
    kind, output = definition.kind, row.output
    if kind == DerivedKind.SUM:
        terms = [(role, output.inputs[role]) for role in sorted(output.inputs) if role != "term0"]
        inputs = [_input_head("term0", row.driver, 0)]
        for role, series in terms:
            if series is None:
                return None
            inputs.append(_input_head(role, series, 0))
    elif kind == DerivedKind.PROGRESS_TO_TARGET:
        if output.target is None:
            return None
        inputs = [_input_head("x", row.driver, 0)]
    elif kind in SHIFT_SQL_KINDS:
        inputs = [_input_head("x", row.driver, 0), _input_head("x", row.driver, row.back)]
    else:
        if row.other is None:
            return None
        inputs = [_input_head("a", row.driver, 0), _input_head("b", row.other, 0)]
    return {
        **formula_prefix(definition),
        "pieces": _pieces(definition, output, len(inputs)),
        "inputs": inputs,
    }


def _heads_store(definition: DerivedDefinition, rows: list[MapRow]) -> None:
    """Give each map row the id of its provenance head, storing the heads not stored yet."""
    texts: dict[str, int] = {}
    for row in rows:
        head = _head(definition, row)
        if head is not None:
            row.head = texts.setdefault(json.dumps(head, ensure_ascii=False), len(texts))
    if not texts:
        return
    with connection.cursor() as cursor:
        # Copied, not sent as a parameter: binding thousands of heads as one literal cost
        # more than the statements themselves.
        cursor.execute("DELETE FROM drv_heads")
        with cursor.cursor.copy("COPY drv_heads (n, head) FROM STDIN") as copy:
            for text, n in texts.items():
                copy.write_row((n, text))
        # Unique on md5(head::text) (the model's constraint): the same expression here.
        # The heads stored before are read from the table, the new ones from RETURNING
        # (which the statement's own reads do not see).
        cursor.execute(
            "WITH new AS (INSERT INTO stats_provenancehead (head) SELECT head FROM drv_heads "
            "ON CONFLICT (md5(head::text)) DO NOTHING RETURNING id, head) "
            "SELECT d.n, COALESCE(n.id, h.id) FROM drv_heads d "
            "LEFT JOIN new n ON n.head = d.head "
            "LEFT JOIN stats_provenancehead h ON md5(h.head::text) = md5(d.head::text)"
        )
        ids = dict(cursor.fetchall())
    for row in rows:
        if row.head is not None:
            row.head = ids[row.head]


def _provenance_sql(definition: DerivedDefinition) -> str:
    """The compact provenance of a result row ``res`` with its map row ``m``: the head's
    id and the ids of the input observations in the head's order (null for an input
    computed in the same run), rendered in full when read (``stats_provenance``,
    migration 0011). Written as JSON text and cast once."""
    if definition.kind == DerivedKind.SUM:
        ids = ["res.xo", *(f"res.y{i}o" for i in range(1, _terms_count(definition) + 1))]
    elif definition.kind == DerivedKind.PROGRESS_TO_TARGET:
        ids = ["res.xo"]
    else:
        ids = ["res.xo", "res.yo"]
    inputs = " || ', ' || ".join(f"COALESCE({obs}::text, 'null')" for obs in ids)
    return f"('{{\"head\": ' || m.head || ', \"inputs\": [' || {inputs} || ']}}')::jsonb"


@dataclass
class MapRow:
    idx: int
    output: Output
    driver: Series
    back: int
    other: Series | None = None
    wanted: str = ""
    fields: list = field(default_factory=list)
    head: int | None = None  # its DerivedProvenanceHead (a position in _heads_store)


_DRIVER_ROLES: dict[str, str] = {DerivedKind.SUM: "term0", DerivedKind.PROGRESS_TO_TARGET: "x"}


def map_load(definition: DerivedDefinition, outputs: list, steps) -> list[MapRow]:
    """Load drv_map with the output series of ``definition`` and the input series of each."""
    rows = []
    kind = definition.kind
    for idx, output in enumerate(outputs):
        driver = output.inputs[_DRIVER_ROLES.get(kind, "x" if kind in SHIFT_SQL_KINDS else "a")]
        back = 0
        if kind in SHIFT_SQL_KINDS:
            back = steps(definition, output.frequency) * MONTHS_PER_PERIOD[output.frequency]
        other = output.inputs.get("b")
        rows.append(MapRow(idx, output, driver, back, other, output.wanted.get("b", "")))
    _heads_store(definition, rows)
    map_copy(rows)
    if kind == DerivedKind.SUM:
        _terms_copy(rows)
    return rows


def _terms_copy(rows: list[MapRow]) -> None:
    """drv_terms: the terms of each sum besides term0, numbered in the order of their
    role names (the order the Python engine added them in: term1, term10, term2, ...)."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE drv_terms")
        with cursor.cursor.copy(_COPY_TERMS) as copy:
            for row in rows:
                output = row.output
                roles = sorted(r for r in output.inputs if r != "term0")
                for pos, role in enumerate(roles, start=1):
                    series = output.inputs[role]
                    if series is None:
                        absent = f"there is no series {output.wanted.get(role, role)}"
                        copy.write_row((row.idx, pos, None, absent, None))
                        continue
                    lacks = f"no value of {series.indicator.code} {series.key} for "
                    copy.write_row((row.idx, pos, series.pk, None, lacks))
        cursor.execute("ANALYZE drv_terms")


def map_copy(rows: list[MapRow]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE drv_map")
        with cursor.cursor.copy(_COPY_MAP) as copy:
            for row in rows:
                out, other, driver = row.output.series, row.other, row.driver
                target = row.output.target
                copy.write_row(
                    (
                        row.idx,
                        out.pk if out is not None else None,
                        row.output.key,
                        row.output.frequency,
                        row.back,
                        driver.pk,
                        driver.indicator.code,
                        driver.key,
                        other.pk if other is not None else None,
                        other.indicator.code if other is not None else None,
                        other.key if other is not None else None,
                        row.wanted,
                        target.value if target is not None else None,
                        target.period if target is not None else None,
                        row.head,
                    )
                )
        cursor.execute("ANALYZE drv_map")


def temp_tables_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TEMP_TABLES)


def scope_load_pairs(pairs) -> None:
    """drv_scope: the changed (series, period) pairs."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy("COPY drv_scope (series_id, period, period_start) FROM STDIN") as c:
            for series_id, period in pairs:
                c.write_row((series_id, period, parse_period(period).start))
        cursor.execute("ANALYZE drv_scope")


def scope_load_release(release_id: int) -> None:
    """drv_scope: the input values a release brings (what release_input_changes returns)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO drv_scope (series_id, period, period_start) "
            "SELECT series_id, period, period_start FROM stats_observation "
            "WHERE release_id = %s AND provenance IS NULL ON CONFLICT DO NOTHING",
            [release_id],
        )
        cursor.execute("ANALYZE drv_scope")


def scope_series(series_ids: list[int]) -> dict[int, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT series_id, period FROM drv_scope WHERE series_id = ANY(%s)", [series_ids]
        )
        found: dict[int, set[str]] = defaultdict(set)
        for series_id, period in cursor.fetchall():
            found[series_id].add(period)
    return found


def scope_series_ids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT series_id FROM drv_scope")
        return {row[0] for row in cursor.fetchall()}


def scope_indicators() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT s.indicator_id FROM stats_series s "
            "WHERE s.id IN (SELECT series_id FROM drv_scope)"
        )
        return {row[0] for row in cursor.fetchall()}


def outputs_without_series(
    definition: DerivedDefinition, *, scoped: bool, release_id: int | None, overlay: bool
) -> set[int]:
    """drv_map rows with no output series yet that will produce a value or a gap."""
    driver = _driver_sql(definition.kind, scoped, release_id, overlay)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT m.idx FROM {driver} WHERE m.out_id IS NULL")
        return {row[0] for row in cursor.fetchall()}


def outputs_stored() -> bool:
    """Whether any output series of drv_map has a current (published) value."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM drv_map m JOIN stats_observation c "
            f"ON c.series_id = m.out_id AND {_CURRENT.format('c')})"
        )
        return cursor.fetchone()[0]


def definition_run(
    definition: DerivedDefinition,
    *,
    scoped: bool,
    release_id: int | None,
    overlay: bool,
    feeds_others: bool,
    backs: Sequence[tuple[int, str]] = (),
    publish: tuple[int, dt.datetime] | None = None,
) -> SqlDefinitionResult:
    """One statement: compute every value of ``definition`` in scope, keep what differs
    from the stored values (and the gaps) in drv_new, and, when other definitions read
    this one, its values in drv_vals (and, scoped, its periods in drv_scope).

    ``publish`` (release id, instant), for a full run whose outputs have nothing stored
    (``outputs_stored()`` is false): every value is new, so none is compared and none
    goes through drv_new; the statement inserts them as published rows of that release
    at that instant (``valid_from``), as ``release_publish`` would make the drafts. The
    gaps still go to drv_new."""
    # A full run over the published values: one ordered pass per series. Otherwise
    # (a change, a release's drafts, values of this run): index lookups row by row.
    full = not scoped and release_id is None and not overlay
    if publish is not None and not full:
        raise ValueError("publish: only a full run over the published values writes directly")
    if full:
        result = _full_result_sql(definition, backs, compare=publish is None)
        stored = ""
        differs = "res.cv IS DISTINCT FROM res.value"
    else:
        result = _result_sql(definition, scoped=scoped, release_id=release_id, overlay=overlay)
        stored = (
            "LEFT JOIN LATERAL (SELECT c.value FROM stats_observation c "
            "WHERE c.series_id = res.out_id AND c.period = res.period "
            "AND c.valid_from IS NOT NULL AND c.valid_to IS NULL OFFSET 0) c ON true "
        )
        differs = "c.value IS DISTINCT FROM res.value"
    extra = ""
    if feeds_others:
        extra += (
            ", v AS (INSERT INTO drv_vals (series_id, period, period_start, period_end, "
            "value, status) SELECT out_id, period, period_start, period_end, value, status "
            "FROM res WHERE value IS NOT NULL RETURNING 1)"
        )
        if scoped:
            extra += (
                ", s AS (INSERT INTO drv_scope (series_id, period, period_start) "
                "SELECT out_id, period, period_start FROM res WHERE value IS NOT NULL "
                "ON CONFLICT DO NOTHING RETURNING 1)"
            )
    # Gaps found no more are dropped (derived_write replaces the gaps of every key and
    # period it computed): only a definition with gaps stored can have any.
    has_gaps = DerivedGap.objects.filter(definition=definition).exists()
    keys = ""
    if has_gaps and not full:
        # The keys and periods computed, for gaps_write.
        keys = (
            ", k AS (INSERT INTO drv_keys (def, okey) SELECT %(def)s, m.okey "
            "FROM (SELECT DISTINCT idx FROM res) i JOIN drv_map m ON m.idx = i.idx RETURNING 1)"
            ", p AS (INSERT INTO drv_periods (def, period) SELECT DISTINCT %(def)s, period "
            "FROM res RETURNING 1)"
        )
    params: dict[str, int | str | dt.datetime] = {"def": definition.pk}
    provenance = _provenance_sql(definition)
    if publish is None:
        new = (
            "new AS (INSERT INTO drv_new (def, out_id, okey, period, period_start, "
            "period_end, value, status, reason, prov) "
            "SELECT %(def)s, res.out_id, m.okey, res.period, res.period_start, res.period_end, "
            "res.value, res.status, res.reason, "
            f"CASE WHEN res.reason IS NULL THEN {provenance} END "
            f"FROM res JOIN drv_map m ON m.idx = res.idx {stored}"
            f"WHERE res.reason IS NOT NULL OR {differs} "
            "RETURNING reason)"
        )
        written = "(SELECT count(*) FROM new WHERE reason IS NULL)"
    else:
        params.update(release=publish[0], at=publish[1], source=DERIVED_SOURCE)
        new = (
            "new AS (INSERT INTO drv_new (def, out_id, okey, period, reason) "
            "SELECT %(def)s, res.out_id, m.okey, res.period, res.reason "
            "FROM res JOIN drv_map m ON m.idx = res.idx WHERE res.reason IS NOT NULL "
            "RETURNING 1), "
            "published AS (INSERT INTO stats_observation (series_id, release_id, period, "
            "period_start, period_end, value, status, note, source, reference_date, "
            "provenance, valid_from, valid_to, created_at) "
            "SELECT res.out_id, %(release)s, res.period, res.period_start, res.period_end, "
            f"res.value, res.status, '', %(source)s, NULL, {provenance}, %(at)s, NULL, now() "
            "FROM res JOIN drv_map m ON m.idx = res.idx WHERE res.reason IS NULL "
            "RETURNING 1)"
        )
        written = "(SELECT count(*) FROM published)"
    # A full run comparing with the stored values, whose values no other definition
    # reads, keeps only what differs and the gaps: its rows flow from the computation to
    # drv_new without being materialised, and the values computed are counted apart, as
    # the driver rows (one value or gap per output and driver period, as in res).
    lean = full and publish is None and not feeds_others
    if lean:
        sql = (
            f"WITH res AS ({result}), {new} "
            "SELECT NULL, count(reason), count(*) - count(reason) FROM new"
        )
    else:
        sql = (
            f"WITH res AS MATERIALIZED ({result}), {new}{keys}{extra} "
            f"SELECT n.computed, n.gaps, {written} "
            "FROM (SELECT count(*) AS computed, count(reason) AS gaps FROM res) n"
        )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # Row estimates of the temporary tables are rough; the plan is a nested loop of
        # index lookups either way, and JIT compilation would cost more than it saves.
        cursor.execute("SET LOCAL enable_memoize = off")
        cursor.execute("SET LOCAL jit = off")
        if full:
            # Per series, the inputs and the stored values come in period order from
            # their indexes: merged, not hashed (a third less time).
            cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute(sql, params)
        computed, gaps, candidates = cursor.fetchone()
        if full:
            cursor.execute("SET LOCAL enable_hashjoin = on")
        if lean:
            cursor.execute(
                "SELECT count(*) FROM drv_map m JOIN stats_observation o "
                f"ON o.series_id = m.x AND {_CURRENT.format('o')}"
            )
            computed = cursor.fetchone()[0]
        if full and has_gaps:
            _stale_gaps_delete(definition.pk)
    if publish is not None:
        return SqlDefinitionResult(computed=computed, gaps=gaps, published=candidates)
    return SqlDefinitionResult(computed=computed, gaps=gaps, candidates=candidates)


def _stale_gaps_delete(definition_id: int) -> None:
    """Gaps found no more are dropped (derived_write replaces the gaps of every key and
    period it computed). In a full run every output with a driver value was computed, at
    each of its periods: a stored gap is stale if its key and its period were computed
    and it is not among the gaps found now (in drv_new). A hashed anti-join with
    drv_new first (the stored gaps found again, nearly all of them, go no further), then
    index lookups for the others; nothing per value."""
    current = _CURRENT.format("o")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM stats_derivedgap g USING (SELECT s.id FROM stats_derivedgap s "
            "WHERE s.definition_id = %(def)s AND NOT EXISTS (SELECT 1 FROM drv_new n "
            "WHERE n.def = %(def)s AND n.reason IS NOT NULL AND n.okey = s.series_key "
            "AND n.period = s.period) OFFSET 0) lost WHERE g.id = lost.id "
            "AND EXISTS (SELECT 1 FROM drv_map m WHERE m.okey = g.series_key AND EXISTS ("
            f"SELECT 1 FROM stats_observation o WHERE o.series_id = m.x AND {current})) "
            "AND EXISTS (SELECT 1 FROM drv_map m JOIN stats_observation o "
            f"ON o.series_id = m.x AND o.period = g.period AND {current})",
            {"def": definition_id},
        )


def overlay_rows(series_ids: list[int]) -> list[tuple]:
    """Values computed earlier in this run for ``series_ids``: (series, period, value, status)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT series_id, period, value, status FROM drv_vals WHERE series_id = ANY(%s)",
            [series_ids],
        )
        return cursor.fetchall()


def python_results_add(
    definition_id: int, computed: list, stored, *, feeds_others: bool, scoped: bool
) -> None:
    """Values of a definition computed by the Python engine: their gaps, keys and periods
    into drv_new/drv_keys/drv_periods, and (if others read them) into drv_vals/drv_scope."""
    gaps, keys, periods, values = [], set(), set(), []
    for item in computed:
        keys.add(item.output.key)
        periods.add(item.period)
        if item.result.value is None:
            gaps.append((definition_id, item.output.key, item.period, item.result.reason))
        else:
            parsed = parse_period(item.period)
            values.append(
                (
                    item.output.series.pk,
                    item.period,
                    parsed.start,
                    parsed.end,
                    stored(item.result.value),
                    item.result.status,
                )
            )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if gaps:
            with raw.copy("COPY drv_new (def, okey, period, reason) FROM STDIN") as copy:
                for gap in gaps:
                    copy.write_row(gap)
        with raw.copy("COPY drv_keys (def, okey) FROM STDIN") as copy:
            for key in keys:
                copy.write_row((definition_id, key))
        with raw.copy("COPY drv_periods (def, period) FROM STDIN") as copy:
            for period in periods:
                copy.write_row((definition_id, period))
        if feeds_others and values:
            with raw.copy(
                "COPY drv_vals (series_id, period, period_start, period_end, value, status) "
                "FROM STDIN"
            ) as copy:
                for row in values:
                    copy.write_row(row)
            if scoped:
                cursor.execute(
                    "INSERT INTO drv_scope (series_id, period, period_start) "
                    "SELECT series_id, period, period_start FROM drv_vals "
                    "WHERE series_id = ANY(%s) ON CONFLICT DO NOTHING",
                    [sorted({row[0] for row in values})],
                )


def values_write(release_id: int) -> int:
    """INSERT the differing values of drv_new as drafts of the release."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
            "period_end, value, status, note, source, reference_date, provenance, valid_from, "
            "valid_to, created_at) "
            "SELECT out_id, %s, period, period_start, period_end, value, status, '', %s, "
            "NULL, prov, NULL, NULL, now() FROM drv_new WHERE reason IS NULL",
            [release_id, DERIVED_SOURCE],
        )
        return cursor.rowcount


_CLOSE_REVISED_SQL = close_revised_sql(
    "SELECT c.id, c.valid_from FROM drv_new n "
    "JOIN stats_observation c ON c.series_id = n.out_id AND c.period = n.period "
    "AND c.valid_from IS NOT NULL AND c.valid_to IS NULL WHERE n.reason IS NULL"
)


def values_publish(release_id: int, at: dt.datetime) -> tuple[int, int, dt.datetime | None]:
    """The differing values of drv_new as published rows of the release, valid from
    ``at``, and the current rows they revise closed at ``at`` (what ``release_publish``
    does with drafts, without writing each row twice). Nothing is written when a revised
    row was published at or after ``at``. Returns (inserted, closed, latest valid_from of
    the revised rows)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE drv_new")
        cursor.execute(_CLOSE_REVISED_SQL, {"at": at})
        latest, closed = cursor.fetchone()
        if latest is not None and latest >= at:
            return 0, 0, latest
        cursor.execute(
            "INSERT INTO stats_observation (series_id, release_id, period, period_start, "
            "period_end, value, status, note, source, reference_date, provenance, valid_from, "
            "valid_to, created_at) "
            "SELECT out_id, %s, period, period_start, period_end, value, status, '', %s, "
            "NULL, prov, %s, NULL, now() FROM drv_new WHERE reason IS NULL",
            [release_id, DERIVED_SOURCE, at],
        )
        return cursor.rowcount, closed, latest


def release_drafts_delete(release_id: int, series_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM stats_observation WHERE release_id = %s AND valid_from IS NULL "
            "AND provenance IS NOT NULL AND series_id = ANY(%s)",
            [release_id, series_ids],
        )


def gaps_write(release_id: int | None) -> None:
    """The gaps of what was computed replace the earlier ones (as derived_write does):
    for every definition, key and period computed, a gap iff this run found one."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE drv_keys")
        cursor.execute("ANALYZE drv_periods")
        cursor.execute("ANALYZE drv_new")
        cursor.execute(
            "DELETE FROM stats_derivedgap g USING (SELECT DISTINCT def, okey FROM drv_keys) k, "
            "drv_periods p WHERE k.def = g.definition_id AND k.okey = g.series_key "
            "AND p.def = g.definition_id AND p.period = g.period "
            "AND NOT EXISTS (SELECT 1 FROM drv_new n WHERE n.reason IS NOT NULL "
            "AND n.def = g.definition_id AND n.okey = g.series_key AND n.period = g.period)"
        )
        # Only the gaps not stored as they are (most, on a recompute that changes nothing).
        cursor.execute(
            "INSERT INTO stats_derivedgap (definition_id, series_key, period, reason, "
            "release_id, computed_at) "
            "SELECT n.def, n.okey, n.period, left(n.reason, 255), %s, now() FROM drv_new n "
            "WHERE n.reason IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stats_derivedgap g "
            "WHERE g.definition_id = n.def AND g.series_key = n.okey AND g.period = n.period "
            "AND g.reason = left(n.reason, 255) AND g.release_id IS NOT DISTINCT FROM %s) "
            "ON CONFLICT (definition_id, series_key, period) DO UPDATE SET "
            "reason = EXCLUDED.reason, release_id = EXCLUDED.release_id, "
            "computed_at = EXCLUDED.computed_at "
            "WHERE stats_derivedgap.reason <> EXCLUDED.reason "
            "OR stats_derivedgap.release_id IS DISTINCT FROM EXCLUDED.release_id",
            [release_id, release_id],
        )
