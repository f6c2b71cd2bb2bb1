"""The derived-indicator engine: arithmetic of each kind, gaps, order, cycles, vintages."""

import datetime as dt
import json
import re
from decimal import Decimal
from random import Random
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import JSONField
from django.db.models.expressions import RawSQL

from config.dbrole import database_owner
from publications.derived import derived_confirm, derived_recompute_all
from publications.services import release_create, release_publish
from stats.choices import DerivedKind
from stats.demo.loader import derived_definitions_load, targets_load
from stats.derived import (
    DefinitionError,
    definition_validate,
    definitions_in_order,
    derived_precompute,
)
from stats.derived.provenance import provenance_render, provenance_sql
from stats.models import (
    DerivedDefinition,
    DerivedGap,
    DerivedInput,
    Indicator,
    Observation,
    Series,
    Target,
)
from stats.periods import parse_period
from stats.selectors import observations_as_of
from stats.services import series_get_or_create
from tests.stats import derived_oracle as oracle
from tests.stats.factories import IndicatorFactory
from tests.stats.helpers import import_rows

WIB = ZoneInfo("Asia/Jakarta")
NATIONAL = ("ID", "_T", "_T")


def define(code, kind, inputs, unit="percent", **parameters):
    """A derived indicator ``code`` of ``kind`` over [(role, indicator code, codes)]."""
    indicator = IndicatorFactory(code=code, unit=unit, frequencies="AM")
    definition = DerivedDefinition.objects.create(indicator=indicator, kind=kind, **parameters)
    items = [
        DerivedInput(
            definition=definition,
            role=role,
            indicator=Indicator.objects.get(code=c),
            codes=codes,
            order=i,
        )
        for i, (role, c, codes) in enumerate(inputs)
    ]
    definition_validate(definition=definition, inputs=items)
    DerivedInput.objects.bulk_create(items)
    return definition


def publish(rows, slug, at=None):
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, rows)
    derived_precompute(release=release)
    return release_publish(release=release, at=at)


def derived_value(code, period, key="region=ID,segment=_T,program=_T"):
    observation = Observation.objects.current().get(
        series__indicator__code=code, series__key=key, period=period
    )
    provenance_render([observation])
    return observation.value, observation.provenance


def rows(indicator, values, dims=NATIONAL):
    return [(indicator, *dims, period, value) for period, value in values.items()]


@pytest.mark.parametrize(
    ("kind", "parameters", "expected"),
    [
        (DerivedKind.CHANGE, {"periods": 1}, Decimal("500")),
        (DerivedKind.PERCENT_CHANGE, {"periods": 1}, Decimal("25")),
        (DerivedKind.PERCENT_CHANGE, {"periods": 0, "years": 1}, Decimal("25")),
        (DerivedKind.MULTIPLE, {"years": 2}, Decimal("2.5")),
        (DerivedKind.CAGR, {"years": 2}, Decimal("58.1138830084")),
    ],
)
def test_arithmetic_of_the_kinds_over_time(catalogue, kind, parameters, expected):
    define("OUT", kind, [("x", "ACTIVE_PARTICIPANTS", {})], **parameters)
    publish(rows("ACTIVE_PARTICIPANTS", {"2021": "1000", "2022": "2000", "2023": "2500"}), "r")
    value, provenance = derived_value("OUT", "2023")
    assert value == expected
    assert provenance["kind"] == kind
    assert provenance["inputs"][0]["value"] == "2500"


@pytest.mark.parametrize(
    ("kind", "parameters", "expected", "expression"),
    [
        (DerivedKind.RATIO, {"scale": 100}, Decimal(40), "40 = 40000000 / 100000000 × 100"),
        (DerivedKind.SHARE, {}, Decimal(40), "40 = 40000000 / 100000000 × 100"),
        (DerivedKind.PER_UNIT, {}, Decimal("0.4"), "0.4 = 40000000 / 100000000"),
        (DerivedKind.DIFFERENCE, {}, Decimal(-60000000), "-60000000 = 40000000 - 100000000"),
    ],
)
def test_arithmetic_of_the_kinds_over_two_inputs(catalogue, kind, parameters, expected, expression):
    define(
        "OUT", kind, [("a", "ACTIVE_PARTICIPANTS", {}), ("b", "ELIGIBLE_WORKERS", {})], **parameters
    )
    publish(
        rows("ACTIVE_PARTICIPANTS", {"2023": "40000000"})
        + rows("ELIGIBLE_WORKERS", {"2023": "100000000"}),
        "r",
    )
    value, provenance = derived_value("OUT", "2023")
    assert value == expected
    assert provenance["expression"] == expression
    assert [(i["role"], i["indicator"], i["value"]) for i in provenance["inputs"]] == [
        ("a", "ACTIVE_PARTICIPANTS", "40000000"),
        ("b", "ELIGIBLE_WORKERS", "100000000"),
    ]


def test_sum_of_terms(catalogue):
    define(
        "OUT",
        DerivedKind.SUM,
        [
            ("term", "BENEFITS_PAID", {"program": "JHT"}),
            ("term", "BENEFITS_PAID", {"program": "JP"}),
        ],
        unit="rupiah",
    )
    publish(
        rows("BENEFITS_PAID", {"2023": "44850000000000"}, ("ID", "_T", "JHT"))
        + rows("BENEFITS_PAID", {"2023": "1260000000000"}, ("ID", "_T", "JP")),
        "r",
    )
    value, _ = derived_value("OUT", "2023", "region=ID,segment=_T,program=JHT")
    assert value == Decimal("46110000000000")


def test_progress_and_required_growth_use_the_series_target(catalogue):
    targets_load()
    define("PROGRESS", DerivedKind.PROGRESS_TO_TARGET, [("x", "ACTIVE_PARTICIPANTS", {})])
    define("REQUIRED", DerivedKind.REQUIRED_GROWTH, [("x", "ACTIVE_PARTICIPANTS", {})])
    publish(rows("ACTIVE_PARTICIPANTS", {"2023": "40000000"}), "r")
    assert derived_value("PROGRESS", "2023")[0] == Decimal("57.1428571429")
    # (70/40)^(1/3) - 1 = 20.5071132...%
    assert derived_value("REQUIRED", "2023")[0] == Decimal("20.5071132088")


def test_share_maps_over_a_dimension(catalogue):
    define(
        "SHARE",
        DerivedKind.SHARE,
        [
            ("a", "ACTIVE_PARTICIPANTS", {"segment": "*"}),
            ("b", "ACTIVE_PARTICIPANTS", {"segment": "_T"}),
        ],
    )
    publish(
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "40"),
            ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2023", "30"),
            ("ACTIVE_PARTICIPANTS", "ID", "BPU", "_T", "2023", "10"),
            ("ACTIVE_PARTICIPANTS", "31", "_T", "_T", "2023", "8"),
            ("ACTIVE_PARTICIPANTS", "31", "PU", "_T", "2023", "2"),
        ],
        "r",
    )
    shares = dict(
        Observation.objects.current()
        .filter(series__indicator__code="SHARE")
        .values_list("series__key", "value")
    )
    assert shares == {
        "region=ID,segment=PU,program=_T": Decimal(75),
        "region=ID,segment=BPU,program=_T": Decimal(25),
        "region=31,segment=PU,program=_T": Decimal(25),
    }


def test_zero_denominator_and_missing_input_give_no_value_and_a_reason(catalogue):
    define(
        "OUT",
        DerivedKind.RATIO,
        [("a", "ACTIVE_PARTICIPANTS", {}), ("b", "ELIGIBLE_WORKERS", {})],
        scale=100,
    )
    publish(
        rows("ACTIVE_PARTICIPANTS", {"2022": "5", "2023": "40"})
        + rows("ELIGIBLE_WORKERS", {"2023": "0"}),
        "r",
    )
    assert not Observation.objects.filter(series__indicator__code="OUT").exists()
    reasons = dict(DerivedGap.objects.values_list("period", "reason"))
    assert "zero" in reasons["2023"]
    assert "no value of ELIGIBLE_WORKERS" in reasons["2022"]


def test_a_missing_series_is_named_in_the_reason(catalogue):
    define(
        "OUT", DerivedKind.RATIO, [("a", "ACTIVE_PARTICIPANTS", {}), ("b", "ELIGIBLE_WORKERS", {})]
    )
    publish(rows("ACTIVE_PARTICIPANTS", {"2023": "40"}), "r")
    assert DerivedGap.objects.get().reason == (
        "there is no series ELIGIBLE_WORKERS region=ID,segment=_T,program=_T"
    )


def test_a_derived_indicator_of_a_derived_indicator_is_computed_after_it(catalogue):
    first = define(
        "GROWTH",
        DerivedKind.CHANGE,
        [("x", "ACTIVE_PARTICIPANTS", {})],
        unit="persons",
    )
    second = define("GROWTH_CHANGE", DerivedKind.CHANGE, [("x", "GROWTH", {})], unit="persons")
    order = [d.pk for d in definitions_in_order()]
    assert order.index(first.pk) < order.index(second.pk)
    publish(rows("ACTIVE_PARTICIPANTS", {"2021": "10", "2022": "15", "2023": "30"}), "r")
    assert derived_value("GROWTH", "2023")[0] == Decimal(15)
    assert derived_value("GROWTH_CHANGE", "2023")[0] == Decimal(10)


def test_an_input_computed_unchanged_in_the_same_run_is_shown_with_its_value(catalogue):
    """A derived input computed in the run has no observation id when its reader is
    computed; left unchanged, it is not written either: the provenance shows the value
    and period of its stored row, with no observation, as the run saw them."""
    define("GROWTH", DerivedKind.CHANGE, [("x", "ACTIVE_PARTICIPANTS", {})], unit="persons")
    define(
        "GROWTH_RATIO",
        DerivedKind.RATIO,
        [("a", "GROWTH", {}), ("b", "ELIGIBLE_WORKERS", {})],
        scale=100,
    )
    publish(
        rows("ACTIVE_PARTICIPANTS", {"2022": "15", "2023": "30"})
        + rows("ELIGIBLE_WORKERS", {"2023": "60"}),
        "r",
    )
    correction = release_create(slug="c", title_id="c", title_en="c")
    import_rows(correction, rows("ELIGIBLE_WORKERS", {"2023": "75"}))
    release_publish(release=correction)
    derived_recompute_all()
    value, provenance = derived_value("GROWTH_RATIO", "2023")
    assert value == Decimal(20)
    assert provenance["expression"] == "20 = 15 / 75 × 100"
    assert [(i["role"], i["indicator"], i["period"], i["value"]) for i in provenance["inputs"]] == [
        ("a", "GROWTH", "2023", "15"),
        ("b", "ELIGIBLE_WORKERS", "2023", "75"),
    ]
    assert provenance["inputs"][0]["observation"] is None
    assert provenance["inputs"][1]["observation"] is not None
    current = Observation.objects.current()
    growth = current.get(series__indicator__code="GROWTH", period="2023")
    ratio = current.get(series__indicator__code="GROWTH_RATIO", period="2023")
    assert growth.release_id != ratio.release_id  # computed unchanged: not written again


def test_a_cycle_is_refused_when_the_definition_is_saved(catalogue):
    define("STEP_ONE", DerivedKind.CHANGE, [("x", "ACTIVE_PARTICIPANTS", {})], unit="persons")
    second = define("STEP_TWO", DerivedKind.CHANGE, [("x", "STEP_ONE", {})], unit="persons")
    first = DerivedDefinition.objects.get(indicator__code="STEP_ONE")
    back = DerivedInput(definition=first, role="x", indicator=second.indicator, codes={})
    with pytest.raises(DefinitionError, match="cycle"):
        definition_validate(definition=first, inputs=[back])


def test_a_definition_with_the_wrong_roles_is_refused(catalogue):
    indicator = IndicatorFactory(code="BAD", unit="percent")
    definition = DerivedDefinition(indicator=indicator, kind=DerivedKind.RATIO)
    only_a = [DerivedInput(role="a", indicator=Indicator.objects.get(code="ACTIVE_PARTICIPANTS"))]
    with pytest.raises(DefinitionError, match="role a and one with role b"):
        definition_validate(definition=definition, inputs=only_a)


def test_derived_values_follow_the_vintages_of_their_inputs(catalogue):
    define("OUT", DerivedKind.MULTIPLE, [("x", "ACTIVE_PARTICIPANTS", {})], years=3)
    t1 = dt.datetime(2023, 12, 15, 10, tzinfo=WIB)
    t2 = dt.datetime(2024, 2, 15, 10, tzinfo=WIB)
    publish(rows("ACTIVE_PARTICIPANTS", {"2020": "2500000", "2023": "7600000"}), "first", t1)
    publish(rows("ACTIVE_PARTICIPANTS", {"2023": "9190000"}), "second", t2)
    series = Observation.objects.filter(series__indicator__code="OUT").values("series")
    then = observations_as_of(at=t1 + dt.timedelta(days=1), series=series).get()
    now = observations_as_of(at=t2 + dt.timedelta(days=1), series=series).get()
    assert (then.value, now.value) == (Decimal("3.04"), Decimal("3.676"))
    assert then.release.slug == "first" and now.release.slug == "second"


def test_recompute_is_idempotent(catalogue):
    define("OUT", DerivedKind.PERCENT_CHANGE, [("x", "ACTIVE_PARTICIPANTS", {})], periods=1)
    release = publish(rows("ACTIVE_PARTICIPANTS", {"2022": "100", "2023": "110"}), "r")
    before = list(Observation.objects.order_by("pk").values_list("pk", "value", "valid_to"))
    assert derived_confirm(release=release).written == 0
    assert derived_recompute_all().written == 0
    derived_precompute(release=release)  # a published release: nothing to precompute
    after = list(Observation.objects.order_by("pk").values_list("pk", "value", "valid_to"))
    assert after == before


def test_confirm_publishes_what_changed_after_the_precompute(catalogue):
    define(
        "OUT",
        DerivedKind.RATIO,
        [("a", "ACTIVE_PARTICIPANTS", {}), ("b", "ELIGIBLE_WORKERS", {})],
        scale=100,
    )
    first = release_create(slug="a", title_id="a", title_en="a")
    import_rows(first, rows("ACTIVE_PARTICIPANTS", {"2023": "40"}))
    derived_precompute(release=first)
    publish(rows("ELIGIBLE_WORKERS", {"2023": "100"}), "b")  # published in between
    release_publish(release=first)
    summary = derived_confirm(release=first)
    assert summary.written == 1
    assert derived_value("OUT", "2023")[0] == Decimal(40)
    assert derived_confirm(release=first).written == 0


def test_precomputed_values_stay_unpublished_with_their_release(catalogue):
    define("OUT", DerivedKind.PERCENT_CHANGE, [("x", "ACTIVE_PARTICIPANTS", {})], periods=1)
    publish(rows("ACTIVE_PARTICIPANTS", {"2022": "100"}), "earlier")
    draft = release_create(slug="draft", title_id="d", title_en="d")
    import_rows(draft, rows("ACTIVE_PARTICIPANTS", {"2023": "120"}))
    summary = derived_precompute(release=draft)
    assert summary.written == 1
    precomputed = Observation.objects.get(series__indicator__code="OUT")
    assert precomputed.release == draft and precomputed.valid_from is None
    assert not Observation.objects.current().filter(series__indicator__code="OUT").exists()
    release_publish(release=draft)
    assert derived_value("OUT", "2023")[0] == Decimal(20)


@pytest.fixture
def demo_definitions(catalogue):
    targets_load()
    derived_definitions_load()


def test_demo_definitions_are_all_valid_and_ordered(demo_definitions):
    assert len(definitions_in_order()) == DerivedDefinition.objects.count() == 12


def test_confirming_the_demo_after_publication_changes_nothing(
    db, celery_eager, django_capture_on_commit_callbacks
):
    """The recompute each publication enqueues finds the precomputed values right."""
    from publications.demo.loader import demo_load
    from publications.models import RecomputeRequest, Release

    with django_capture_on_commit_callbacks(execute=True):
        demo_load()
    requests = RecomputeRequest.objects.all()
    assert requests.exists() and {r.status for r in requests} == {"done"}
    assert {r.result["written"] for r in requests} == {0}
    assert not Release.objects.filter(slug__startswith="derived-").exists()


# -- the set-based engine (PostgreSQL) against the Python engine ----------------------------

_STAMP = re.compile(r"-\d{20}$")


def _release_label(slug):
    """A system release's slug without its creation stamp (it differs between runs)."""
    return None if slug is None else _STAMP.sub("", slug)


def derived_snapshot(*, exact_vintages: bool = False):
    """Every derived row, derived series and gap, in a form both runs can be compared by:
    each row's vintage as whether it is published and closed, or with ``exact_vintages``
    as its instants (runs given the same publication instant)."""
    derived = list(DerivedDefinition.objects.values_list("indicator_id", flat=True))
    # The provenance as read (the engine's compact form rendered, the oracle's JSON as is).
    shown = RawSQL(provenance_sql("stats_observation"), [], output_field=JSONField())
    rows = (
        Observation.objects.filter(series__indicator_id__in=derived)
        .annotate(shown=shown)
        .values_list(
            "series__indicator__code",
            "series__key",
            "series__frequency",
            "period",
            "period_start",
            "period_end",
            "value",
            "status",
            "shown",
            "release__slug",
            "valid_from",
            "valid_to",
            "note",
            "source",
        )
    )
    observations = sorted(
        (
            *row[:8],
            json.dumps(row[8], sort_keys=True),
            _release_label(row[9]),
            *(row[10:12] if exact_vintages else (row[10] is not None, row[11] is not None)),
            *row[12:],
        )
        for row in rows
    )
    series = sorted(
        Series.objects.filter(indicator_id__in=derived).values_list(
            "indicator__code", "key", "frequency"
        )
    )
    gaps = sorted(
        (code, key, period, reason, _release_label(slug))
        for code, key, period, reason, slug in DerivedGap.objects.values_list(
            "definition__indicator__code", "series_key", "period", "reason", "release__slug"
        )
    )
    return observations, series, gaps


def same_on_both_engines(action):
    """Run ``action(engine)`` with the reference (tests/stats/derived_oracle.py), roll
    back, run it with the engine; assert both leave the same rows and report the same
    counts. Keeps the second."""
    point = transaction.savepoint()
    python = action("oracle")
    expected = derived_snapshot()
    transaction.savepoint_rollback(point)
    sql = action("sql")
    found = derived_snapshot()
    assert found[0] == expected[0]
    assert found[1:] == expected[1:]

    def counts(summary):
        return (summary.computed, summary.written, summary.unchanged, summary.gaps)

    assert counts(sql) == counts(python)
    assert sql.definitions == python.definitions
    return sql


def _derived_rows_delete():
    """Remove the stored derived values and gaps (the guard trigger off for this statement,
    which only the tables' owner may do)."""
    with database_owner(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stats_observation DISABLE TRIGGER stats_observation_guard")
        cursor.execute("DELETE FROM stats_observation WHERE provenance IS NOT NULL")
        cursor.execute("ALTER TABLE stats_observation ENABLE TRIGGER stats_observation_guard")
    DerivedGap.objects.all().delete()


def test_both_engines_agree_on_the_demo(demo):
    assert Observation.objects.filter(provenance__isnull=False).exists()
    summary = same_on_both_engines(lambda engine: oracle.recompute_all(engine))
    assert summary.written == 0 and summary.computed > 0
    published = derived_value("BPU_PARTICIPANTS_MULTIPLE_3Y", "2023", BPU)
    _derived_rows_delete()
    summary = same_on_both_engines(lambda engine: oracle.recompute_all(engine))
    assert summary.written == summary.computed - summary.gaps > 0
    assert derived_value("BPU_PARTICIPANTS_MULTIPLE_3Y", "2023", BPU) == published


BPU = "region=ID,segment=BPU,program=_T"
KEYS = [("ID", "_T"), ("ID", "PU"), ("ID", "BPU"), ("31", "_T"), ("31", "PU"), ("32", "_T")]
STATUSES = ["normal"] * 7 + ["provisional", "estimate", "break"]


def _generated_rows(random, months, *, skip=0.1):
    """Monthly and annual values of IN_A and IN_B with gaps, zeros, negatives, many
    decimals, mixed statuses; IN_B has no series 31/PU (a missing denominator series)."""
    out = []
    for code in ("IN_A", "IN_B"):
        for region, segment in KEYS:
            if code == "IN_B" and (region, segment) == ("31", "PU"):
                continue
            periods = months + sorted({m[:4] for m in months})
            for period in periods:
                if random.random() < skip:
                    continue
                draw = random.random()
                if draw < 0.06:
                    value = "0"
                elif draw < 0.12:
                    value = str(-random.randint(1, 500))
                else:
                    value = str(Decimal(random.randint(1, 10**9)).scaleb(-random.randint(0, 6)))
                out.append((code, region, segment, "_T", period, value, random.choice(STATUSES)))
    # Quotients exactly half-way at the 11th decimal: rounded half to even.
    out += [
        ("IN_A", "32", "_T", "_T", "2030-01", "0.0001", "normal"),
        ("IN_B", "32", "_T", "_T", "2030-01", "2000000", "normal"),
        ("IN_A", "32", "_T", "_T", "2030-02", "0.0003", "normal"),
        ("IN_B", "32", "_T", "_T", "2030-02", "2000000", "normal"),
        # ... and with a scale that has decimals (D_TINY: a / b × 0.000001).
        ("IN_A", "32", "_T", "_T", "2030-03", "0.00005", "normal"),
        ("IN_B", "32", "_T", "_T", "2030-03", "1", "normal"),
        ("IN_A", "32", "_T", "_T", "2030-04", "0.00015", "normal"),
        ("IN_B", "32", "_T", "_T", "2030-04", "1", "normal"),
    ]
    return out


# Targets of IN_A series (region, segment, period, value): two of the annual ID/_T (the
# later one counts), a zero one, one giving quotients exactly half-way at the 11th
# decimal in 2030 (0.0001 * 100 / 200000000 = 0.00000000005), one of a series with no
# values (region 11: progress is computed for the few and the many series of
# test_the_set_based_engine_runs_as_many_queries_...); the other series have none.
GENERATED_TARGETS = [
    ("ID", "_T", "2025", "500000000"),
    ("ID", "_T", "2030", "123456789.0123456789"),
    ("ID", "_T", "2026-12", "7"),
    ("ID", "PU", "2026", "0"),
    ("31", "_T", "2026-06", "-3.3"),
    ("32", "_T", "2031-01", "200000000"),
    ("11", "_T", "2026-12", "100"),
]


@pytest.fixture
def generated(catalogue):
    """Two inputs and a graph of definitions of every kind, chained across both engines."""
    for code in ("IN_A", "IN_B"):
        IndicatorFactory(code=code, frequencies="AM", negative_allowed=True)
    in_a = Indicator.objects.get(code="IN_A")
    for region, segment, period, value in GENERATED_TARGETS:
        parsed = parse_period(period)
        series = series_get_or_create(
            indicator=in_a,
            frequency=parsed.frequency,
            dimensions={"region": region, "segment": segment, "program": "_T"},
        )
        Target.objects.create(
            series=series,
            period=period,
            period_start=parsed.start,
            value=Decimal(value),
            document="test",
        )
    x = [("x", "IN_A", {})]
    ab = [("a", "IN_A", {}), ("b", "IN_B", {})]
    define("D_CHANGE", DerivedKind.CHANGE, x, periods=1)
    define("D_YOY", DerivedKind.PERCENT_CHANGE, x, periods=0, years=1)
    define("D_MULTIPLE", DerivedKind.MULTIPLE, x, years=1)
    define("D_RATIO", DerivedKind.RATIO, ab, scale=1000)
    define("D_TINY", DerivedKind.RATIO, ab, scale=Decimal("0.000001"))
    define(
        "D_SHARE",
        DerivedKind.SHARE,
        [("a", "IN_A", {"segment": "*"}), ("b", "IN_A", {"segment": "_T"})],
    )
    define("D_PER", DerivedKind.PER_UNIT, ab)
    define("D_DIFF", DerivedKind.DIFFERENCE, ab)
    define("D_SUM", DerivedKind.SUM, [("term", "IN_A", {}), ("term", "IN_B", {})])
    # Three terms: one computed in the same run, one with no series for regions 31, 32.
    define(
        "D_SUM3",
        DerivedKind.SUM,
        [("term", "IN_A", {}), ("term", "D_DIFF", {}), ("term", "IN_B", {"segment": "PU"})],
    )
    define("D_PROGRESS", DerivedKind.PROGRESS_TO_TARGET, x)
    define("D_CAGR_OF_PER", DerivedKind.CAGR, [("x", "D_PER", {})], years=1)  # Python <- SQL
    define("D_CHANGE_OF_SUM", DerivedKind.CHANGE, [("x", "D_SUM", {})], periods=1)
    define("D_CHANGE_OF_CAGR", DerivedKind.CHANGE, [("x", "D_CAGR_OF_PER", {})], periods=1)
    define("D_YOY_OF_RATIO", DerivedKind.PERCENT_CHANGE, [("x", "D_RATIO", {})], periods=1)


def test_both_engines_agree_on_generated_data_with_gaps_zeros_and_revisions(generated):
    random = Random(20261202)
    months = [f"{year}-{month:02d}" for year in (2021, 2022, 2023) for month in range(1, 13)]
    # A first release published without precompute: the full recompute finds nothing stored.
    first = release_create(slug="first", title_id="first", title_en="first")
    import_rows(first, _generated_rows(random, months))
    release_publish(release=first, at=dt.datetime(2024, 1, 10, 10, tzinfo=WIB))
    cold = same_on_both_engines(lambda engine: oracle.recompute_all(engine))
    assert cold.written > 1000 and cold.gaps > 100
    assert derived_value("D_PER", "2030-01", "region=32,segment=_T,program=_T")[0] == 0
    assert derived_value("D_PER", "2030-02", "region=32,segment=_T,program=_T")[0] == Decimal(
        "0.0000000002"
    )
    tiny = "region=32,segment=_T,program=_T"
    assert derived_value("D_TINY", "2030-03", tiny)[0] == 0
    assert derived_value("D_TINY", "2030-04", tiny)[0] == Decimal("0.0000000002")
    reasons = set(DerivedGap.objects.values_list("reason", flat=True))
    assert any(r.startswith("there is no series IN_B") for r in reasons)
    assert "there is no series IN_B region=32,segment=PU,program=_T" in reasons
    assert any(r.startswith("no value of D_DIFF") for r in reasons)
    assert any(r.endswith("is zero") for r in reasons)
    assert "the target is zero" in reasons
    # Progress to the later target of the series, rounded half to even.
    assert derived_value("D_PROGRESS", "2030-01", tiny)[0] == 0
    assert derived_value("D_PROGRESS", "2030-02", tiny)[0] == Decimal("0.0000000002")
    progress = list(Observation.objects.current().filter(series__indicator__code="D_PROGRESS"))
    provenance_render(progress)
    assert {o.provenance["expression"].split(" (target ")[1] for o in progress} == {
        "2030) × 100",
        "2026-12) × 100",
        "2026-06) × 100",
        "2031-01) × 100",
    }
    # A revision of part of the data (zeros become values, values become zeros) and a new
    # month, precomputed as drafts of its release by each engine.
    revision = release_create(slug="revision", title_id="revision", title_en="revision")
    import_rows(revision, _generated_rows(random, [*months[-14:], "2024-01"], skip=0.6))
    precomputed = same_on_both_engines(lambda engine: oracle.precompute(revision, engine))
    assert precomputed.written > 0
    release_publish(release=revision)
    # The confirmation and a nightly recompute find the precomputed values right.
    confirmed = same_on_both_engines(lambda engine: oracle.confirm(revision, engine))
    assert confirmed.written == 0 and confirmed.computed > 0
    warm = same_on_both_engines(lambda engine: oracle.recompute_all(engine))
    assert warm.written == 0 and warm.unchanged == warm.computed - warm.gaps
    # A correction published without precompute (its confirmation not run yet): the
    # nightly recompute publishes what changed and drops the gaps that were filled.
    gaps_before = DerivedGap.objects.count()
    correction = release_create(slug="correction", title_id="c", title_en="c")
    import_rows(
        correction,
        [
            ("IN_B", region, segment, "_T", period, "7", "normal")
            for region, segment in KEYS
            if (region, segment) != ("31", "PU")
            for period in ("2021", "2021-01", "2022-01", "2023-01")
        ],
    )
    release_publish(release=correction)
    nightly = same_on_both_engines(lambda engine: oracle.recompute_all(engine))
    assert nightly.written > 0
    assert DerivedGap.objects.count() < gaps_before
    # The earlier vintages stay, closed at the revision.
    assert Observation.objects.filter(
        series__indicator__code="D_RATIO", valid_to__isnull=False
    ).exists()


def test_the_set_based_engine_runs_as_many_queries_for_many_series_as_for_few(generated):
    """Statements per definition, not per value: ten times the series, the same queries."""
    from django.test.utils import CaptureQueriesContext

    def confirm_queries(regions):
        release = release_create(slug=f"r{len(regions)}", title_id="r", title_en="r")
        import_rows(
            release,
            [
                (code, region, "_T", "_T", month, str(index + 1))
                for index, month in enumerate(["2023-01", "2024-01"])
                for code in ("IN_A", "IN_B")
                for region in regions
            ],
        )
        derived_precompute(release=release)
        release_publish(release=release)
        with CaptureQueriesContext(connection) as queries:
            summary = derived_confirm(release=release)
        assert summary.written == 0 and summary.computed > 0
        return len(queries)

    few = confirm_queries(["11"])
    many = confirm_queries(["12", "13", "14", "15", "16", "17", "18", "19", "21", "31"])
    assert many == few
