"""The derived-indicator engine: arithmetic of each kind, gaps, order, cycles, vintages."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from publications.services import release_create, release_publish
from stats.choices import DerivedKind
from stats.demo.loader import derived_definitions_load, targets_load
from stats.derived import (
    DefinitionError,
    definition_validate,
    definitions_in_order,
    derived_confirm,
    derived_precompute,
    derived_recompute_all,
)
from stats.models import DerivedDefinition, DerivedGap, DerivedInput, Indicator, Observation
from stats.selectors import observations_as_of
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
    db, django_capture_on_commit_callbacks
):
    """The recompute each publication enqueues finds the precomputed values right,
    on either database (SQLite keeps 15 significant digits)."""
    from config.celery import app
    from publications.models import Release
    from stats.demo.loader import demo_load
    from stats.models import RecomputeRequest

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            demo_load()
    finally:
        app.conf.task_always_eager = eager
    requests = RecomputeRequest.objects.all()
    assert requests.exists() and {r.status for r in requests} == {"done"}
    assert {r.result["written"] for r in requests} == {0}
    assert not Release.objects.filter(slug__startswith="derived-").exists()
