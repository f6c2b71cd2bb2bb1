"""Open data: the licence on every answer, the DCAT-AP catalogue, the Frictionless data
packages, each indicator's CSV and its metadata, the page's schema.org markup and the
bulk download; none of them shows a value under embargo."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone
from frictionless import Package, validate
from rdflib import RDF, Graph, Namespace, URIRef

from publications.services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)
from stats.events import bump_after_commit
from stats.models import Indicator
from stats.opendata.bulk import bulk_build, bulk_current
from stats.opendata.models import DEFAULT_LICENCE_URL, BulkDownload, OpenDataSettings
from stats.opendata.selectors import coverage_indicator_public, coverage_public
from stats.selectors import indicators_public, observations_public
from tests.stats.helpers import import_rows

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
CC_BY = DEFAULT_LICENCE_URL
LICENCE_LINK = f'<{CC_BY}>; rel="license"'
SECRET_VALUE = "45200000"

pytestmark = pytest.mark.usefixtures("clear_cache")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _publish(slug: str, rows) -> None:
    release = release_create(slug=slug, title_id=slug, title_en=slug)
    import_rows(release, rows)
    release_publish(release=release)


@pytest.fixture
def data(published):
    """Active participants 2022-2023, funds under management and a decimal coverage rate."""
    _publish(
        "dana",
        [
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2022", "607800000000000"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686000000000000"),
            ("COVERAGE_ELIGIBLE", "ID", "_T", "_T", "2023", "40.5"),
            ("COVERAGE_ELIGIBLE", "31", "_T", "_T", "2023", "0.0000000001"),
        ],
    )


@pytest.fixture
def embargoed(data):
    """A release scheduled for tomorrow: a new value of a public indicator (2024) and the
    only values of another indicator (benefits paid)."""
    users = get_user_model().objects
    clerk = users.create_user(username="klerk", password="x" * 12, is_superuser=True)
    reviewer = users.create_user(username="penelaah", password="x" * 12, is_superuser=True)
    release = release_create(slug="rahasia", title_id="Rahasia", title_en="Secret", user=clerk)
    import_rows(
        release,
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", SECRET_VALUE),
            ("BENEFITS_PAID", "ID", "_T", "_T", "2024", "99000000000000"),
        ],
    )
    release_submit(release=release, user=clerk)
    release_approve(release=release, user=reviewer)
    release_schedule(
        release=release, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(days=1)
    )
    return release


def _public_codes() -> set[str]:
    return set(indicators_public().values_list("code", flat=True))


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- the licence on every answer ---


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS",
        "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&format=csv",
        "/api/v1/indicators/",
        "/api/v1/indicators/ACTIVE_PARTICIPANTS/",
        "/api/v1/series/",
        "/api/v1/releases/",
    ],
)
def test_every_api_answer_names_the_licence(client, data, url):
    first = client.get(url)
    again = client.get(url)  # JSON: replayed from the response cache
    assert first.status_code == again.status_code == 200
    assert LICENCE_LINK in first["Link"]
    assert LICENCE_LINK in again["Link"]
    assert (
        "Link" in client.get(url, HTTP_ORIGIN="https://x.example")["Access-Control-Expose-Headers"]
    )


def test_a_304_of_the_api_names_the_licence_too(client, data):
    url = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS"
    etag = client.get(url)["ETag"]
    unchanged = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert LICENCE_LINK in unchanged["Link"]


def test_the_licence_staff_set_is_the_one_every_answer_names(client, data, staff_client):
    url = "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS"
    client.get(url)
    other = "https://creativecommons.org/publicdomain/zero/1.0/"
    response = staff_client.post(
        "/admin/stats/opendatasettings/add/",
        {
            **{
                field.name: getattr(OpenDataSettings(), field.name)
                for field in OpenDataSettings._meta.fields
                if field.editable and field.name != "id"
            },
            "licence_id": "CC0-1.0",
            "licence_title": "CC0 1.0 Universal",
            "licence_url": other,
        },
    )
    assert response.status_code == 302, response.content
    # The admin's save ended the generation: cached answers are not served again.
    assert f'<{other}>; rel="license"' in client.get(url)["Link"]
    catalogue = client.get("/catalog.jsonld").json()
    assert catalogue["dct:license"] == {"@id": other}
    package = client.get("/datapackage.json").json()
    assert package["licenses"] == [{"name": "CC0-1.0", "path": other, "title": "CC0 1.0 Universal"}]


# --- an indicator's CSV and its metadata ---


def test_the_api_csv_links_the_metadata_that_describes_it(client, data):
    response = client.get(
        "/api/v1/observations/", {"indicator": "COVERAGE_ELIGIBLE", "format": "csv"}
    )
    header = next(csv.reader(io.StringIO(_body(response).decode())))
    found = re.search(r'<([^>]+)>; rel="describedby"', response["Link"])
    assert found
    assert found.group(1) == "http://testserver/data/COVERAGE_ELIGIBLE.metadata.json"
    metadata = client.get(found.group(1))
    assert metadata.status_code == 200
    document = metadata.json()
    assert [column["name"] for column in document["columns"]] == header
    assert document["licence"] == {
        "name": "CC-BY-4.0",
        "path": CC_BY,
        "title": "Creative Commons Attribution 4.0 International",
    }
    assert document["publisher"]["name"] == "BPJS Ketenagakerjaan (BPJAMSOSTEK)"
    assert document["contact"]["url"].startswith("https://")
    assert document["citation"].endswith("http://testserver/id/indikator/COVERAGE_ELIGIBLE/")
    assert "CC-BY-4.0" in document["attribution"]
    assert document["temporal_coverage"] == {"start": "2023-01-01", "end": "2023-12-31"}
    assert document["links"]["csv"] == "http://testserver/data/COVERAGE_ELIGIBLE.csv"
    value = next(column for column in document["columns"] if column["name"] == "value")
    assert value["type"] == "number"


def test_a_csv_of_several_indicators_is_described_by_the_site_package(client, data):
    response = client.get(
        "/api/v1/observations/",
        {"indicator": "COVERAGE_ELIGIBLE,ACTIVE_PARTICIPANTS", "format": "csv"},
    )
    assert '<http://testserver/datapackage.json>; rel="describedby"' in response["Link"]


def test_the_indicator_csv_is_the_api_csv_of_the_indicator(client, data):
    download = client.get("/data/FUNDS_UNDER_MANAGEMENT.csv")
    api = client.get(
        "/api/v1/observations/", {"indicator": "FUNDS_UNDER_MANAGEMENT", "format": "csv"}
    )
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    body = _body(download)
    assert body == _body(api)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [row["value"] for row in rows] == ["607800000000000", "686000000000000"]
    assert LICENCE_LINK in download["Link"]
    assert (
        '<http://testserver/data/FUNDS_UNDER_MANAGEMENT.metadata.json>; rel="describedby"'
        in download["Link"]
    )


def test_metadata_follows_the_language_asked_for(client, data):
    english = client.get("/data/FUNDS_UNDER_MANAGEMENT.metadata.json", {"lang": "en"}).json()
    indonesian = client.get("/data/FUNDS_UNDER_MANAGEMENT.metadata.json").json()
    assert english["title"] == "Funds under management"
    assert indonesian["title"] != english["title"]
    assert english["attribution"].startswith("Source: ")
    assert indonesian["attribution"].startswith("Sumber: ")


# --- the page's schema.org markup ---


def _json_ld(html: str) -> dict:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found, "no JSON-LD script on the page"
    return json.loads(found.group(1))


def test_the_indicator_page_describes_its_dataset_in_json_ld(client, data):
    html = client.get("/en/indikator/FUNDS_UNDER_MANAGEMENT/").content.decode()
    dataset = _json_ld(html)
    assert dataset["@context"] == "https://schema.org"
    assert dataset["@type"] == "Dataset"
    assert dataset["name"] == "Funds under management"
    assert dataset["license"] == CC_BY
    assert dataset["publisher"]["name"] == "BPJS Ketenagakerjaan (BPJAMSOSTEK)"
    assert dataset["temporalCoverage"] == "2022-01-01/2023-12-31"
    assert dataset["url"] == "http://testserver/en/indikator/FUNDS_UNDER_MANAGEMENT/"
    assert dataset["creditText"].startswith("Source: BPJS Ketenagakerjaan")
    assert {d["contentUrl"] for d in dataset["distribution"]} >= {
        "http://testserver/data/FUNDS_UNDER_MANAGEMENT.csv"
    }
    assert f'rel="license" href="{CC_BY}"' in html


def test_json_ld_cannot_close_its_script_element(client, data):
    from stats.models import Indicator

    Indicator.objects.filter(code="FUNDS_UNDER_MANAGEMENT").update(
        name_en="Funds </script><script>alert(1)</script>"
    )
    html = client.get("/en/indikator/FUNDS_UNDER_MANAGEMENT/").content.decode()
    assert "<script>alert(1)" not in html
    assert _json_ld(html)["name"] == "Funds </script><script>alert(1)</script>"


# --- the DCAT-AP catalogue ---


def _graph(client) -> Graph:
    response = client.get("/catalog.jsonld")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    return Graph().parse(data=response.content, format="json-ld")


def test_the_catalogue_has_the_dcat_ap_properties(client, data):
    graph = _graph(client)
    (catalogue,) = graph.subjects(RDF.type, DCAT.Catalog)
    for required in (DCT.title, DCT.description, DCT.publisher, DCAT.dataset):
        assert graph.value(catalogue, required) is not None, required
    assert graph.value(catalogue, DCT.license) == URIRef(CC_BY)
    publisher = graph.value(catalogue, DCT.publisher)
    assert str(graph.value(publisher, FOAF.name)) == "BPJS Ketenagakerjaan (BPJAMSOSTEK)"
    datasets = set(graph.objects(catalogue, DCAT.dataset))
    assert datasets == set(graph.subjects(RDF.type, DCAT.Dataset))
    codes = {str(graph.value(dataset, DCT.identifier)) for dataset in datasets}
    assert (
        codes
        == _public_codes()
        == {
            "ACTIVE_PARTICIPANTS",
            "FUNDS_UNDER_MANAGEMENT",
            "COVERAGE_ELIGIBLE",
        }
    )
    for dataset in datasets:
        titles = {title.language: str(title) for title in graph.objects(dataset, DCT.title)}
        assert set(titles) == {"id", "en"}
        assert graph.value(dataset, DCT.description) is not None
        assert graph.value(dataset, DCT.license) == URIRef(CC_BY)
        contact = graph.value(dataset, DCAT.contactPoint)
        assert graph.value(contact, VCARD.fn) is not None
        assert graph.value(dataset, DCT.publisher) is not None
        assert graph.value(dataset, DCT.spatial) is not None
        temporal = graph.value(dataset, DCT.temporal)
        assert graph.value(temporal, DCAT.startDate) is not None
        assert graph.value(temporal, DCAT.endDate) is not None
        assert graph.value(dataset, DCT.modified) is not None
        distributions = list(graph.objects(dataset, DCAT.distribution))
        assert len(distributions) == 5
        media_types = {str(graph.value(d, DCAT.mediaType)) for d in distributions}
        assert (
            "https://www.iana.org/assignments/media-types/"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ) in media_types
        for distribution in distributions:
            assert graph.value(distribution, DCAT.accessURL) is not None
            assert graph.value(distribution, DCT.license) == URIRef(CC_BY)


def test_each_dataset_names_its_coverage_downloads_and_last_release(client, data):
    graph = _graph(client)
    dataset = next(
        d
        for d in graph.subjects(RDF.type, DCAT.Dataset)
        if str(graph.value(d, DCT.identifier)) == "FUNDS_UNDER_MANAGEMENT"
    )
    temporal = graph.value(dataset, DCT.temporal)
    assert graph.value(temporal, DCAT.startDate).toPython() == dt.date(2022, 1, 1)
    assert graph.value(temporal, DCAT.endDate).toPython() == dt.date(2023, 12, 31)
    from stats.models import Observation

    last = (
        Observation.objects.filter(series__indicator__code="FUNDS_UNDER_MANAGEMENT")
        .order_by("-valid_from")
        .values_list("valid_from", flat=True)
        .first()
    )
    assert graph.value(dataset, DCT.modified).toPython() == last
    urls = {str(graph.value(d, DCAT.accessURL)) for d in graph.objects(dataset, DCAT.distribution)}
    assert urls == {
        "http://testserver/data/FUNDS_UNDER_MANAGEMENT.csv",
        "http://testserver/api/v1/observations/?indicator=FUNDS_UNDER_MANAGEMENT",
        "http://testserver/api/v1/observations/?indicator=FUNDS_UNDER_MANAGEMENT&format=xlsx",
        "http://testserver/sdmx/data/FUNDS_UNDER_MANAGEMENT/all",
        "http://testserver/data/FUNDS_UNDER_MANAGEMENT/datapackage.json",
    }
    for url in urls - {"http://testserver/sdmx/data/FUNDS_UNDER_MANAGEMENT/all"}:
        assert client.get(url.removeprefix("http://testserver")).status_code == 200, url


def test_the_catalogue_costs_a_bounded_number_of_queries(
    client, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        assert client.get("/catalog.jsonld").status_code == 200
    with django_assert_max_num_queries(0):
        cached = client.get("/catalog.jsonld")
    assert cached["X-Page-Cache"] == "hit"
    assert LICENCE_LINK in cached["Link"]


def test_a_json_document_answers_304_to_its_etag(client, data):
    first = client.get("/datapackage.json")
    unchanged = client.get("/datapackage.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == first["ETag"]


# --- the data packages ---


def test_every_package_served_is_valid_under_frictionless(
    live_server, transactional_db, media_root, celery_eager
):
    from stats.demo.loader import codelists_load, indicators_load

    codelists_load()
    indicators_load()
    assert bulk_current() is None
    _publish(
        "paket",
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),
            ("ACTIVE_PARTICIPANTS", "ID", "BPU", "_T", "2023", "7600000"),
            ("COVERAGE_ELIGIBLE", "ID", "_T", "_T", "2023", "40.5"),
            ("COVERAGE_ELIGIBLE", "31", "_T", "_T", "2023", "-0.0000000001"),
        ],
    )
    site = f"{live_server.url}/datapackage.json"
    report = validate(site)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    resources = Package(site).resources
    assert {resource.name for resource in resources} == {
        "active_participants",
        "coverage_eligible",
    }
    for code in ("ACTIVE_PARTICIPANTS", "COVERAGE_ELIGIBLE"):
        report = validate(f"{live_server.url}/data/{code}/datapackage.json")
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    coverage = next(resource for resource in resources if resource.name == "coverage_eligible")
    values = sorted(row["value"] for row in coverage.read_rows())
    # Exact decimals, read as decimals: never a float, never an integer.
    assert values == [Decimal("-0.0000000001"), Decimal("40.5")]
    # The publication committed: the bulk download was built after it, in a snapshot of
    # its own (REPEATABLE READ), and holds what the package describes.
    record = bulk_current()
    assert record is not None
    with default_storage.open(record.file_name) as stored, zipfile.ZipFile(stored) as archive:
        assert sorted(archive.namelist()) == [
            "data/active_participants.csv",
            "data/coverage_eligible.csv",
            "datapackage.json",
        ]


def test_the_value_column_is_a_number_and_the_key_unique(client, data):
    package = client.get("/data/COVERAGE_ELIGIBLE/datapackage.json").json()
    (resource,) = package["resources"]
    fields = {field["name"]: field for field in resource["schema"]["fields"]}
    assert fields["value"]["type"] == "number"
    assert fields["period_start"]["type"] == "date"
    assert fields["published_at"]["type"] == "datetime"
    assert resource["schema"]["primaryKey"] == ["indicator", "frequency", "series_key", "period"]
    header = next(csv.reader(io.StringIO(_body(client.get(resource["path"])).decode())))
    assert list(fields) == header
    assert package["licenses"][0]["path"] == CC_BY
    assert package["contributors"][0]["role"] == "publisher"


# --- the bulk download ---


def test_the_bulk_download_is_a_valid_package_of_every_public_indicator(
    client, data, media_root, tmp_path
):
    record = bulk_build()
    response = client.get("/data/angka-data.zip")
    assert response.status_code == 200
    assert response["ETag"] == f'"{record.etag}"'
    assert LICENCE_LINK in response["Link"]
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(io.BytesIO(_body(response))) as archive:
        archive.extractall(folder)
    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    names = {path.stem.upper() for path in (folder / "data").iterdir()}
    assert names == _public_codes()
    funds = (folder / "data" / "funds_under_management.csv").read_bytes()
    api = client.get(
        "/api/v1/observations/", {"indicator": "FUNDS_UNDER_MANAGEMENT", "format": "csv"}
    )
    assert funds == _body(api)


def test_the_bulk_download_is_rebuilt_on_publication_and_answers_304(
    client, data, media_root, celery_eager
):
    first = bulk_build()
    etag = client.get("/data/angka-data.zip")["ETag"]
    unchanged = client.get("/data/angka-data.zip", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    _publish("baru", [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000")])
    assert bulk_current() == first
    assert any(entry[1] is bump_after_commit for entry in connection.run_on_commit)
    bump_after_commit()  # what the commit runs (the test's transaction never commits)
    rebuilt = bulk_current()
    assert rebuilt is not None and rebuilt.pk != first.pk and rebuilt.etag != first.etag
    response = client.get("/data/angka-data.zip", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] == f'"{rebuilt.etag}"'
    with zipfile.ZipFile(io.BytesIO(_body(response))) as archive:
        rows = list(
            csv.DictReader(io.StringIO(archive.read("data/active_participants.csv").decode()))
        )
    assert "45200000" in [row["value"] for row in rows]


def test_the_same_data_give_the_same_bulk_download(data, media_root):
    first = bulk_build()
    # Minutes later, as a rebuild asked for by a lost message would run: the entries
    # are dated by the data's last change, not by the build's clock.
    second = bulk_build(now=timezone.now() + dt.timedelta(minutes=3))
    assert second.pk == first.pk and second.etag == first.etag
    assert BulkDownload.objects.count() == 1


def test_old_bulk_downloads_are_pruned(data, media_root):
    built = [bulk_build()]
    for year in ("2025", "2026"):
        _publish(f"rilis-{year}", [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", year, "1")])
        built.append(bulk_build())
    kept = list(BulkDownload.objects.order_by("built_at", "id"))
    assert kept == built[1:]
    assert not default_storage.exists(built[0].file_name)
    assert all(default_storage.exists(record.file_name) for record in kept)


def test_before_the_first_build_the_download_asks_for_one(client, data, media_root, celery_eager):
    response = client.get("/data/angka-data.zip")
    # The request for a build ran at once (eager); until then: 503 with Retry-After.
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert bulk_current() is not None
    assert client.get("/data/angka-data.zip").status_code == 200


# --- parameters and embargo ---


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/catalog.jsonld?lang=en", "lang"),
        ("/datapackage.json?lang=fr", "lang"),
        ("/datapackage.json?lang=en&lang=id", "lang"),
        ("/data/ACTIVE_PARTICIPANTS.csv?indicator=X", "indicator"),
        ("/data/ACTIVE_PARTICIPANTS.metadata.json?lang=", "lang"),
        ("/data/angka-data.zip?v=1", "v"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, data, url, parameter):
    response = client.get(url)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [parameter]


def test_only_get_and_head_are_answered(client, data):
    assert client.post("/catalog.jsonld").status_code == 405
    assert client.head("/datapackage.json").status_code == 200


EMBARGO_URLS = [
    "/catalog.jsonld",
    "/datapackage.json",
    "/data/ACTIVE_PARTICIPANTS.csv",
    "/data/ACTIVE_PARTICIPANTS.metadata.json",
    "/data/ACTIVE_PARTICIPANTS/datapackage.json",
    "/id/indikator/ACTIVE_PARTICIPANTS/",
]


def test_nothing_under_embargo_shows_on_any_route(client, embargoed, media_root):
    assert "BENEFITS_PAID" not in _public_codes()
    for url in EMBARGO_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        text = _body(response).decode()
        assert SECRET_VALUE not in text, url
        assert "BENEFITS_PAID" not in text, url
        assert "2024-12-31" not in text, url  # the coverage ends at the public 2023
    for url in (
        "/data/BENEFITS_PAID.csv",
        "/data/BENEFITS_PAID.metadata.json",
        "/data/BENEFITS_PAID/datapackage.json",
    ):
        assert client.get(url).status_code == 404, url
    bulk_build()
    with zipfile.ZipFile(io.BytesIO(_body(client.get("/data/angka-data.zip")))) as archive:
        assert "data/benefits_paid.csv" not in archive.namelist()
        assert SECRET_VALUE not in archive.read("data/active_participants.csv").decode()
        assert "benefits_paid" not in archive.read("datapackage.json").decode()


def _coverage_by_aggregates(at: dt.datetime) -> dict[str, tuple]:
    """The coverage the plain way, a pass over every public value: the reference the
    index probes of ``coverage_public`` must agree with."""
    found: dict[str, tuple] = {}
    for row in (
        observations_public(at=at)
        .order_by()
        .values("series__indicator__code")
        .annotate(start=Min("period_start"), end=Max("period_end"), modified=Max("valid_from"))
    ):
        found[row["series__indicator__code"]] = (row["start"], row["end"], row["modified"])
    return found


def test_the_coverage_read_by_index_probes_agrees_with_a_pass_over_every_value(embargoed):
    before_revision = timezone.now()
    # A revision of an old period (its newest instant is not its last period's) and a
    # monthly value next to the yearly ones.
    _publish(
        "revisi",
        [
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2022", "607900000000000"),
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2024-01", "690000000000000"),
        ],
    )
    for at in (before_revision, timezone.now()):
        expected = _coverage_by_aggregates(at)
        covered = {c.indicator.code: c for c in coverage_public(at=at)}
        assert {code: (c.start, c.end, c.modified) for code, c in covered.items()} == expected
        for coverage in covered.values():
            assert coverage_indicator_public(indicator=coverage.indicator, at=at) == coverage
    funds = coverage_indicator_public(
        indicator=Indicator.objects.get(code="FUNDS_UNDER_MANAGEMENT")
    )
    assert funds is not None and funds.frequencies == "AM"
    assert funds.end == dt.date(2024, 1, 31)
    assert "BENEFITS_PAID" not in covered  # embargoed: its only values are tomorrow's


def test_the_coverage_ends_at_the_last_public_period(client, embargoed):
    metadata = client.get("/data/ACTIVE_PARTICIPANTS.metadata.json").json()
    assert metadata["temporal_coverage"]["end"] == "2023-12-31"
