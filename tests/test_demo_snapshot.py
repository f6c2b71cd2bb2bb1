"""The demo copied back by ``tests.demo_snapshot`` is the demo ``demo_load`` writes."""

from django.db import transaction

from tests import demo_snapshot


def test_a_restored_demo_has_the_rows_of_the_load_it_copies(db, monkeypatch):
    monkeypatch.setattr(demo_snapshot, "_snapshots", {})
    loads = []
    real_load = demo_snapshot.demo_load
    monkeypatch.setattr(demo_snapshot, "demo_load", lambda: loads.append(1) or real_load())
    tables = demo_snapshot._tables()
    contents = []
    for _ in range(2):
        with transaction.atomic():
            demo_snapshot.demo_restore()
            contents.append(demo_snapshot._state(tables))
            transaction.set_rollback(True)
    assert loads == [1]  # the second call copied, it did not load
    loaded, restored = contents
    assert loaded["stats_observation"].count > 500
    assert loaded == restored  # every table: its row count, last id and every row
