"""The SQL that formats observation rows, generated from their columns (``rows.COLUMNS``):
the JSON page statement and the CSV lines statement.

The JSON page gives, per row, cheap texts that ``rows.ObservationRows.json_rows`` turns
into JSON once per distinct text; the CSV statement gives whole lines, as Python's
``csv`` module would write them. The tests prove both byte for byte against a reference
formatter in Python (tests/stats/oracle.py).
"""

from __future__ import annotations

from stats.derived.provenance import rendered_from
from stats.renderers import FORMULA_STARTS, PLAIN_NUMBER

from .rows import (
    CODE,
    DATE,
    DIMENSIONS,
    EPOCH_DATE,
    EXACT,
    FORMULA,
    FREE_KINDS,
    INPUTS,
    INSTANT,
    RELEASE,
    ROW_PARTS,
    SEGMENTS,
    TRANSLATED,
    Column,
    ObservationRows,
    Segment,
    key_order,
)

# The observation columns a sub-query must give for the statements to read it.
SOURCE_FIELDS = tuple(
    dict.fromkeys(("series_id", "release_id", *(c.field for s in ROW_PARTS for c in s.columns)))
)
EPOCH_DATE_SQL = f"DATE '{EPOCH_DATE.isoformat()}'"
CELL_SEPARATOR = " || ',' || "
LINE_END = "E'\\r\\n'"


# The instant the request reads, joined to every row as ``rd.read_at`` (one parameter,
# the statement's first after its source's): ``Column.until_read``.
READ_AT_JOIN = "CROSS JOIN (SELECT %s::timestamptz AS read_at) rd"


# A derived value's formula and inputs are read from its provenance rendered once per
# row (``rendered_from``), as ``pv.formula`` and ``pv.inputs``: the statement that reads
# them joins it (only where a row has a provenance).
RENDERED_ALIAS = "pv"


def _column(column: Column) -> str:
    if column.until_read:
        return f"(CASE WHEN o.{column.field} <= rd.read_at THEN o.{column.field} END)"
    if column.kind == FORMULA:
        return f"{RENDERED_ALIAS}.formula"
    if column.kind == INPUTS:
        return f"{RENDERED_ALIAS}.inputs"
    return f"o.{column.field}"


def _key_part(column: Column) -> str:
    """A column's part of a key text: text PostgreSQL writes cheaply (dates as days,
    instants as the hex of their binary form, free text after its length)."""
    expression = _column(column)
    if column.kind == DATE:
        return f"COALESCE(({expression} - {EPOCH_DATE_SQL})::text, '')"
    if column.kind == INSTANT:
        return f"COALESCE(encode(timestamptz_send({expression}), 'hex'), '')"
    if column.kind in (INPUTS, FORMULA):
        # Nothing for a null.
        return f"COALESCE(length({expression}) || ' ' || {expression}, '')"
    if column.kind in FREE_KINDS:
        return f"length({expression}) || ' ' || {expression}"
    return f"{expression}::text"


def _usual(column: Column) -> str:
    if column.usual is None:
        return f"o.{column.field} IS NULL"
    return f"{_column(column)} = '{str(column.usual).replace(chr(39), chr(39) * 2)}'"


def key_sql(segment: Segment) -> str:
    """A key segment's text: the always-named columns, then the others only when one of
    them is not usual (``rows.key_order``), separated by spaces."""
    always, optional = key_order(segment)
    text = " || ' ' || ".join(_key_part(column) for column in always)
    if optional:
        usual = " AND ".join(_usual(column) for column in optional)
        rest = " || ' ' || ".join(_key_part(column) for column in optional)
        if any(column.kind in (FORMULA, INPUTS) for column in optional):
            # Rendered only for a row that is not usual (a derived value is not).
            rest = f"(SELECT {rest} FROM {rendered_from('o', RENDERED_ALIAS, compact=False)})"
        text = f"{text} || CASE WHEN {usual} THEN '' ELSE ' ' || {rest} END"
    return text


def json_page_sql(*, source: str, where: list[str], order: str, key_columns: list[str]) -> str:
    """A page of observations: a SELECT over ``source`` (the observation table, or a
    sub-query of its columns ``SOURCE_FIELDS``) aliased ``o``, with the conditions
    ``where``, sorted by ``order`` and limited by a last parameter (the page's size and
    one). Its parameters: the source's, the instant read (``READ_AT_JOIN``), the
    conditions', the limit. Per row: the series id, the value of each sort key
    (``key_columns``), then for each of ``rows.ROW_PARTS`` its key text, or an exact
    value as text."""
    # The sort keys are their own typed columns: psycopg reads them as the cursor holds them.
    conditions = f" WHERE {' AND '.join(where)}" if where else ""
    return (
        f"SELECT o.series_id, {', '.join(key_columns)}, {PARTS_SQL} "
        f"FROM {source} o {READ_AT_JOIN}{conditions} ORDER BY {order} LIMIT %s"
    )


# Each part as text that PostgreSQL writes cheaply: formatting JSON in the statement
# (to_json, date and timestamp output) cost more than the rest of it, for a few hundred
# distinct texts a page.
PARTS_SQL = ", ".join(
    key_sql(segment)
    if segment.source == "key"
    else f"trim_scale({_column(segment.columns[0])})::text"
    for segment in ROW_PARTS
)


# --- CSV ---


_FORMULA_STARTS_SQL = ", ".join(str(ord(character)) for character in FORMULA_STARTS)


def _csv_cell(expression: str) -> str:
    """SQL for one CSV cell of a text ``expression``, as ``renderers.csv_text`` and
    Python's ``csv`` write it: a leading apostrophe on text a spreadsheet would run as a
    formula; quoted (quotes doubled) when it holds a comma, a quote, CR or LF; NULL as an
    empty cell. The apostrophe holds none of those, so the quoting is decided on the text
    itself, and only the branch taken computes the apostrophe."""
    apostrophe = (
        f"CASE WHEN ascii({expression}) IN ({_FORMULA_STARTS_SQL}) "
        f"AND {expression} !~ '^{PLAIN_NUMBER.pattern}$' THEN '''' ELSE '' END"
    )
    return (
        f"COALESCE(CASE WHEN strpos({expression}, ',') > 0 OR strpos({expression}, '\"') > 0 "
        f"OR strpos({expression}, chr(10)) > 0 OR strpos({expression}, chr(13)) > 0 "
        f"THEN '\"' || {apostrophe} || replace({expression}, '\"', '\"\"') || '\"' "
        f"ELSE {apostrophe} || {expression} END, '')"
    )


# isoformat() of the local time: microseconds only when not zero, offset +HH:MM.
_INSTANT_CSV = "replace(to_char({}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', '')"


def _csv_sql(column: Column, texts_language: str | None = None) -> str:
    expression = _column(column)
    if column.name in TRANSLATED and texts_language:
        # Its words in that language (stats.texts), else as stored.
        field = "text_en" if texts_language == "en" else "text_id"
        expression = (
            f"COALESCE((SELECT NULLIF(t.{field}, '') FROM stats_texttranslation t "
            f"WHERE t.text = {expression}), {expression})"
        )
    if column.kind == DATE:
        return f"COALESCE(to_char({expression}, 'YYYY-MM-DD'), '')"
    if column.kind == INSTANT:
        return f"COALESCE({_INSTANT_CSV.format(expression)}, '')"
    if column.kind == EXACT:
        return f"trim_scale({expression})::text"
    if column.kind == RELEASE:
        # Only the public releases are named (see ObservationRows.json_value).
        return f"CASE WHEN {expression} = ANY(%s) THEN {_csv_cell('r.slug')} ELSE '' END"
    if column.kind == CODE:
        return expression
    return _csv_cell(expression)


def _series_csv_cells(
    rows: ObservationRows, column: Column, label
) -> tuple[list[str], list[str], list]:
    """The CSV cells a series column gives (SQL over the series ``s`` and its indicator
    ``i``), and the joins and parameters they need."""
    if column.kind == DIMENSIONS:
        cells, joins, params = [], [], []
        for index, codelist in enumerate(rows.codelists):
            alias = f"c{index}"
            literal = "'" + codelist.replace("'", "''") + "'"
            cells += [_csv_cell(f"(s.dimensions ->> {literal})"), _csv_cell(label(alias))]
            joins.append(
                f"LEFT JOIN stats_code {alias} ON {alias}.codelist_id = %s "
                f"AND {alias}.code = s.dimensions ->> %s"
            )
            params += [codelist, codelist]
        return cells, joins, params
    expression = {
        "indicator_code": "i.code",
        "indicator_name": label("i"),
        "frequency": f"'{rows.frequency}'" if rows.frequency else "s.frequency",
        "key": "s.key",
        "unit": "i.unit",
    }[column.series]
    return [_csv_cell(expression)], [], []


def csv_lines_sql(
    rows: ObservationRows,
    queryset,
    ordering: list[tuple[str, bool]],
    series,
    *,
    per_series: bool = False,
    source: tuple[str, list] | None = None,
) -> tuple[str, list]:
    """A SELECT giving each CSV line (CRLF included) of the rows of ``queryset``
    (observations, filtered, embargo applied) in ``ordering``, in the columns of
    ``rows.csv_header()``: the text Python's ``csv`` module writes. What a line takes
    from its series is formatted once per series, for the series of ``series`` (a
    Series queryset that holds at least those of the rows). Run it in the site's time
    zone (see ``stats.renderers.lines_csv_chunks``).

    ``source``: a SELECT of the columns ``SOURCE_FIELDS`` and its parameters, read
    instead of ``queryset`` (transformed values, ``stats.api.units``).

    ``per_series``: one value per series instead, its lines joined (for an ``ordering``
    that starts with ``series_id``; see ``stats.renderers.series_csv_chunks``).
    """
    if source is None:
        inner = queryset.order_by().values(*SOURCE_FIELDS)
        inner_sql, inner_params = inner.query.get_compiler(using=inner.db).as_sql()
    else:
        inner_sql, inner_params = source
    series_sql, series_params = series.values("pk").query.get_compiler(using=series.db).as_sql()

    def label(table: str) -> str:
        if rows.english:
            return f"COALESCE(NULLIF({table}.name_en, ''), {table}.name_id)"
        return f"{table}.name_id"

    heads: list[str] = []
    cells: list[str] = []
    joins, join_params, line_params = [], [], []
    for segment in SEGMENTS:
        if segment.source == "series":
            texts = []
            for column in segment.columns:
                found, more_joins, params = _series_csv_cells(rows, column, label)
                texts += found
                joins += more_joins
                join_params += params
            name = f"h.part{len(heads)}"
            heads.append(f"{CELL_SEPARATOR.join(texts)} AS part{len(heads)}")
            cells.append(name)
        else:
            rendered: list[str] = []
            for column in segment.columns:
                if column.kind in (FORMULA, INPUTS):
                    rendered.append(_csv_sql(column, rows.texts_language))
                    continue
                cells.append(_csv_sql(column, rows.texts_language))
                if column.kind == RELEASE:
                    line_params.append(list(rows.releases))
            if rendered:
                # Last in a line (rows.COLUMNS); made once, for derived values only. The
                # releases that may be named, a parameter (see ObservationRows.json_value).
                made = rendered_from("o", RENDERED_ALIAS, compact=True, public_releases="%s")
                empty = CELL_SEPARATOR.join("''" for _cell in rendered)
                cells.append(
                    f"CASE WHEN o.provenance IS NULL THEN {empty} ELSE "
                    f"(SELECT {CELL_SEPARATOR.join(rendered)} FROM {made}) END"
                )
                line_params.append(list(rows.releases))
    line = f"{CELL_SEPARATOR.join(cells)} || {LINE_END}"
    order = ", ".join(
        f"o.{field} {'DESC' if descending else 'ASC'}" for field, descending in ordering
    )
    grouping = ""
    if per_series:
        if not ordering or ordering[0][0] != "series_id":
            raise ValueError("per_series needs an ordering that starts with series_id")
        within = ", ".join(
            f"o.{field} {'DESC' if descending else 'ASC'}" for field, descending in ordering[1:]
        )
        line = f"string_agg({line}, ''{f' ORDER BY {within}' if within else ''})"
        grouping = "GROUP BY o.series_id "
        order = f"o.series_id {'DESC' if ordering[0][1] else 'ASC'}"
    sql = (
        f"WITH heads AS MATERIALIZED (SELECT s.id, {', '.join(heads)} "
        "FROM stats_series s JOIN stats_indicator i ON i.id = s.indicator_id "
        f"{' '.join(joins)} WHERE s.id IN ({series_sql})) "
        f"SELECT {line} FROM ({inner_sql}) o "
        "JOIN heads h ON h.id = o.series_id "
        "LEFT JOIN publications_release r ON r.id = o.release_id "
        f"{READ_AT_JOIN} {grouping}ORDER BY {order}"
    )
    return sql, [*join_params, *series_params, *line_params, *inner_params, rows.read_at]
