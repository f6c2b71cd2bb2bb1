"""The filter sets' series index (stats.filtersets.SeriesIndex), built from the series
table as PostgreSQL groups it."""

import pytest

from stats.filtersets import SeriesIndex
from stats.models import Series

from .factories import IndicatorFactory

# (indicator, frequency, dimensions) of each series, by a name the tests use.
SERIES = {
    "a": (0, "A", {"region": "ID", "segment": "_T"}),
    "b": (0, "A", {"region": "31", "segment": "_T"}),
    "c": (0, "M", {"region": "31", "segment": "BPU"}),
    "d": (1, "A", {"region": "31", "segment": "_T"}),
}


@pytest.fixture
def index(catalogue):
    indicators = [IndicatorFactory(), IndicatorFactory()]
    ids = {
        name: Series.objects.create(
            indicator=indicators[which],
            frequency=frequency,
            key=",".join(f"{k}={v}" for k, v in dimensions.items()),
            dimensions=dimensions,
        ).pk
        for name, (which, frequency, dimensions) in SERIES.items()
    }
    others = set(Series.objects.values_list("pk", flat=True)) - set(ids.values())
    return SeriesIndex.from_database(), ids, [indicator.pk for indicator in indicators], others


def test_every_condition_must_hold_and_any_value_of_one_will_do(index):
    index, ids, (first, second), others = index
    assert not others  # the catalogue has indicators but no series yet
    assert index.ids([("indicator_id", [first])]) == {ids["a"], ids["b"], ids["c"]}
    assert index.ids([("indicator_id", [first]), ("dimensions", [("region", "31")])]) == {
        ids["b"],
        ids["c"],
    }
    assert index.ids(
        [
            ("indicator_id", [first, second]),
            ("dimensions", [("region", "31")]),
            ("frequency", ["A"]),
        ]
    ) == {ids["b"], ids["d"]}
    assert index.ids([("dimensions", [("segment", "BPU"), ("region", "ID")])]) == {
        ids["a"],
        ids["c"],
    }


def test_no_match_is_an_empty_set(index):
    index, _ids, (_first, second), _others = index
    assert index.ids([("indicator_id", [second + 1000])]) == set()
    assert index.ids([("indicator_id", [second]), ("frequency", ["M"])]) == set()
    # A code of one code list is not a code of another.
    assert index.ids([("dimensions", [("segment", "31")])]) == set()
    assert index.ids([]) == set()


def test_the_index_is_read_in_one_statement(index, django_assert_num_queries):
    with django_assert_num_queries(1):
        SeriesIndex.from_database()
