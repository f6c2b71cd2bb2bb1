"""A client generated from the served schema works against the running site.

openapi-python-client (what a journalist or another portal would use) generates a Python
client from /api/schema/ of a live server holding the demo data; the test imports it and
calls every operation it has, and each answer parses into the documented model: lists,
items, the wide layout, and the errors (400 naming the parameter, 404).
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import subprocess
import sys

import httpx
import pytest
from django.core.cache import cache
from openpyxl import load_workbook

from publications.demo.loader import demo_load
from stats.opendata.xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE

PACKAGE = "angka_api_client"


@pytest.fixture
def generated_client(live_server, transactional_db, tmp_path, monkeypatch):
    cache.clear()
    demo_load()
    schema = httpx.get(f"{live_server.url}/api/schema/", timeout=60)
    assert schema.status_code == 200
    (tmp_path / "schema.yaml").write_bytes(schema.content)
    # No formatting hooks: the generated code is imported, not kept.
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.yaml"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Any warning means a part of the schema the generator could not turn into code.
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    monkeypatch.syspath_prepend(str(tmp_path))
    package = importlib.import_module(PACKAGE)
    yield package, package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    for name in [module for module in sys.modules if module.split(".")[0] == PACKAGE]:
        del sys.modules[name]
    cache.clear()


def _operations(package) -> set[str]:
    api = importlib.import_module(f"{PACKAGE}.api")
    names = set()
    for tag in pkgutil.iter_modules(api.__path__):
        module = importlib.import_module(f"{PACKAGE}.api.{tag.name}")
        names |= {operation.name for operation in pkgutil.iter_modules(module.__path__)}
    return names


def _call(package, operation: str, *args, **kwargs):
    tag = operation.rsplit("_", 1)[0]
    module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
    return module.sync_detailed(*args, **kwargs)


@pytest.mark.slow
def test_a_generated_client_calls_every_operation(generated_client):
    package, client = generated_client
    models = importlib.import_module(f"{PACKAGE}.models")
    called = set()

    def call(operation, *args, **kwargs):
        called.add(operation)
        return _call(package, operation, *args, client=client, **kwargs)

    # Every list, first page, parsed into its page model.
    pages = {}
    for operation in sorted(_operations(package)):
        if operation.endswith("_list"):
            response = call(operation)
            assert response.status_code == 200, (operation, response.content[:300])
            assert type(response.parsed).__name__.startswith("Paginated"), operation
            pages[operation] = response.parsed
    assert pages["observations_list"].results
    # Every item, by the key the lists show.
    keys = {
        "codelists_retrieve": pages["codelists_list"].results[0].id,
        "indicators_retrieve": "ACTIVE_PARTICIPANTS",
        "releases_retrieve": pages["releases_list"].results[0].slug,
        "news_retrieve": pages["news_list"].results[0].slug,
    }
    expected = {
        "codelists_retrieve": models.CodeListDetail,
        "indicators_retrieve": models.IndicatorDetail,
        "releases_retrieve": models.ReleaseDetail,
        "news_retrieve": models.NewsReleaseDetail,
    }
    for operation, key in keys.items():
        response = call(operation, key)
        assert response.status_code == 200, (operation, response.content[:300])
        assert isinstance(response.parsed, expected[operation])
    root = call("root_retrieve")
    assert root.status_code == 200
    assert isinstance(root.parsed, models.ApiRoot)
    assert root.parsed.resources[0].name == "indicators"
    series = pages["series_list"].results[0]
    vintages = call(
        "series_vintages",
        indicator=series.indicator,
        frequency=series.frequency,
        series_key=series.series_key,
    )
    assert vintages.status_code == 200, vintages.content[:300]
    assert isinstance(vintages.parsed, models.SeriesVintages)
    assert vintages.parsed.vintages
    # The demo's scheduled release, by its slug, and one that is not there, parsed.
    (scheduled,) = pages["calendar_list"].results
    entry = call("calendar_retrieve", scheduled.slug)
    assert entry.status_code == 200, entry.content[:300]
    assert isinstance(entry.parsed, models.CalendarEntry)
    assert entry.parsed.slug == scheduled.slug
    missing = call("calendar_retrieve", "no-such-release")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorDetail)
    # Every operation the schema has was called.
    assert called == _operations(package)

    # The wide layout parses into its own model.
    wide = call(
        "observations_list",
        indicator="ACTIVE_PARTICIPANTS",
        frequency="A",
        layout=models.ObservationsListLayout.WIDE,
    )
    assert isinstance(wide.parsed, models.WideTable)
    assert wide.parsed.indicator == "ACTIVE_PARTICIPANTS"
    assert wide.parsed.rows and len(wide.parsed.rows[0].values) == len(wide.parsed.columns)

    # A bad parameter: a 400 naming it, parsed.
    bad = call("observations_list", indicator="NO_SUCH_INDICATOR")
    assert bad.status_code == 400
    assert isinstance(bad.parsed, models.ParameterErrors)
    assert "NO_SUCH_INDICATOR" in bad.parsed.errors["indicator"][0]
    # An unknown key: a 404, parsed.
    missing = call("indicators_retrieve", "NO_SUCH_INDICATOR")
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ErrorDetail)

    # CSV, which the schema declares as text/csv beside the JSON page. The generator
    # parses one media type per answer (the first, JSON), so CSV is read through the
    # generated client's own HTTP session with the documented parameter.
    csv = client.get_httpx_client().get(
        "/api/v1/observations/",
        params={
            "format": models.ObservationsListFormat.CSV.value,
            "indicator": "ACTIVE_PARTICIPANTS",
        },
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines()[0].startswith("indicator,indicator_name,frequency")
    # XLSX, declared as its media type the same way, with its file name.
    workbook = client.get_httpx_client().get(
        "/api/v1/observations/",
        params={
            "format": models.ObservationsListFormat.XLSX.value,
            "indicator": "ACTIVE_PARTICIPANTS",
        },
    )
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == XLSX_MEDIA_TYPE
    assert workbook.headers["content-disposition"] == (
        'attachment; filename="active_participants.xlsx"'
    )
    book = load_workbook(io.BytesIO(workbook.content), read_only=True)
    assert book.sheetnames == ["data", "metadata"]
    assert next(book["data"].iter_rows(values_only=True))[0] == "indicator"

    # A derived value's formula and inputs parse into their models; a base value's are None.
    derived = call("observations_list", indicator="ACTIVE_COVERAGE_ELIGIBLE", frequency="A")
    row = derived.parsed.results[-1]
    assert " = " in row.formula
    assert [item.role for item in row.inputs] == ["a", "b"]
    assert row.inputs[0].indicator == "ACTIVE_PARTICIPANTS" and row.inputs[0].release
    base = call("observations_list", indicator="ACTIVE_PARTICIPANTS", frequency="A")
    assert base.parsed.results[0].formula is None and base.parsed.results[0].inputs is None
