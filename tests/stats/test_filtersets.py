"""The filter sets' series index (stats.filtersets.SeriesIndex)."""

from stats.filtersets import SeriesIndex

ROWS = [
    (1, 10, "A", {"region": "ID", "segment": "_T"}),
    (2, 10, "A", {"region": "31", "segment": "_T"}),
    (3, 10, "M", {"region": "31", "segment": "BPU"}),
    (4, 11, "A", {"region": "31", "segment": "_T"}),
]


def test_every_condition_must_hold_and_any_value_of_one_will_do():
    index = SeriesIndex(ROWS)
    assert index.ids([("indicator_id", [10])]) == {1, 2, 3}
    assert index.ids([("indicator_id", [10]), ("dimensions", [("region", "31")])]) == {2, 3}
    assert index.ids(
        [("indicator_id", [10, 11]), ("dimensions", [("region", "31")]), ("frequency", ["A"])]
    ) == {2, 4}
    assert index.ids([("dimensions", [("segment", "BPU"), ("region", "ID")])]) == {1, 3}


def test_no_match_is_an_empty_set():
    index = SeriesIndex(ROWS)
    assert index.ids([("indicator_id", [99])]) == set()
    assert index.ids([("indicator_id", [11]), ("frequency", ["M"])]) == set()
    # A code of one code list is not a code of another.
    assert index.ids([("dimensions", [("segment", "31")])]) == set()
    assert index.ids([]) == set()
