import importlib

from django.db import migrations

# The inputs of a compact provenance (0011), one row each in the head's order, with what
# every reader shows of them: the one place that finds them. An SQL function of one
# SELECT, not STRICT: PostgreSQL inlines it into the statement that reads it in FROM, so
# a page of a thousand values pays no function call per value (0011's stats_provenance,
# called per row, cost more than the rest of the API's page statement). Per input:
# ``n`` (1, 2, ...), ``role``, ``indicator``, ``series_key`` (jsonb, from the head),
# ``observation`` (jsonb: its id, null for an input computed in the same run), the
# ``period`` and exact ``value`` (text) of the row used, ``release``: that row's release
# when found by id (else null: the API names the value's own release), and
# ``expression``, the whole "value = a / b x 100" text (the same on every row). An input
# computed in the same run has no id: it is the row of its series, at the head's months
# back, that the value's own release wrote, else (it was computed unchanged, so not
# written) the row current when the value was published (now, for a draft). ``p``,
# ``v``, ``rel``, ``vf``, ``ps``: the provenance, value, release, valid_from and
# period_start of the observation; no row for a provenance that is not compact.
INPUTS = """
CREATE FUNCTION stats_provenance_inputs(p jsonb, v numeric, rel bigint, vf timestamptz, ps date)
RETURNS TABLE (n bigint, role jsonb, indicator jsonb, series_key jsonb, observation jsonb,
    period text, value text, release bigint, expression text)
LANGUAGE sql STABLE AS $$
SELECT e.n, e.e -> 'role', e.e -> 'indicator', e.e -> 'series_key',
    p -> 'inputs' -> (e.n::int - 1), f.period, trim_scale(f.value)::text, f.release_id,
    trim_scale(v)::text || ' = ' || (h.head -> 'pieces' ->> 0) || string_agg(
        trim_scale(f.value)::text || (h.head -> 'pieces' ->> e.n::int), ''
    ) OVER (ORDER BY e.n ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
FROM stats_provenancehead h
CROSS JOIN LATERAL jsonb_array_elements(h.head -> 'inputs') WITH ORDINALITY e(e, n)
LEFT JOIN LATERAL (
    SELECT o.period, o.value, o.release_id FROM stats_observation o
    WHERE o.id = (p -> 'inputs' ->> (e.n::int - 1))::bigint
    UNION ALL (
        SELECT o.period, o.value, NULL FROM stats_observation o
        WHERE jsonb_typeof(p -> 'inputs' -> (e.n::int - 1)) = 'null'
        AND o.series_id = (e.e ->> 'series')::bigint
        AND o.period_start = (ps - make_interval(months => (e.e ->> 'back')::int))::date
        AND (o.release_id = rel OR (o.valid_from <= COALESCE(vf, 'infinity')
            AND (o.valid_to IS NULL OR o.valid_to > COALESCE(vf, 'infinity'))))
        ORDER BY o.release_id = rel DESC LIMIT 1)
) f ON true
WHERE p ? 'head' AND h.id = (p ->> 'head')::bigint
$$;
"""

# 0011's stats_provenance (the full Provenance JSON, for the pages and the admin), now
# made of stats_provenance_inputs: the same JSON as before.
RENDER = """
CREATE OR REPLACE FUNCTION stats_provenance(
    p jsonb, v numeric, rel bigint, vf timestamptz, ps date
) RETURNS jsonb LANGUAGE sql STABLE AS $$
SELECT CASE WHEN p IS NULL OR NOT p ? 'head' THEN p ELSE (
    SELECT jsonb_build_object(
        'kind', h.head -> 'kind', 'formula', h.head -> 'formula',
        'formula_id', h.head -> 'formula_id', 'expression', i.expression, 'inputs', i.inputs)
    FROM stats_provenancehead h
    CROSS JOIN (
        SELECT min(i.expression) AS expression, jsonb_agg(jsonb_build_object(
            'role', i.role, 'indicator', i.indicator, 'series_key', i.series_key,
            'period', i.period, 'value', i.value, 'observation', i.observation
        ) ORDER BY i.n) AS inputs
        FROM stats_provenance_inputs(p, v, rel, vf, ps) i
        HAVING count(*) > 0
    ) i
    WHERE h.id = (p ->> 'head')::bigint
) END
$$;
"""


def _render_0011() -> str:
    previous = importlib.import_module("stats.migrations.0011_compact_provenance")
    return previous.RENDER.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0012_vintages_published_only"),
    ]

    operations = [
        migrations.RunSQL(
            INPUTS,
            "DROP FUNCTION stats_provenance_inputs(jsonb, numeric, bigint, timestamptz, date);",
        ),
        migrations.RunSQL(RENDER, _render_0011()),
    ]
