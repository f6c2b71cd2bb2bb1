"""The SDMX 2.1 REST service, driven by the sdmx1 client against a live server, and by
HTTP for what a client library hides (status codes, media types, the embargo).

Data: active participants, annual 2022-2023 at the national total and for two segments,
monthly 2023-01..2023-06 at the national total; 2023's national value revised by a later
release; a release with 2024 under embargo (scheduled), which also holds the only values
of another indicator.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sdmx
from django.core.cache import cache
from django.utils import timezone
from lxml import etree

from publications.services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)
from stats.demo.loader import codelists_load, indicators_load
from stats.events import public_data_changed
from stats.models import Indicator
from tests.publications.conftest import clerk, make_user, reviewer, roles  # noqa: F401
from tests.stats.helpers import import_rows

FLOW = "ACTIVE_PARTICIPANTS"
SECRET = "99999999"  # the scheduled release's 2024 value
GENERIC = "application/vnd.sdmx.genericdata+xml; version=2.1"
SPECIFIC = "application/vnd.sdmx.structurespecificdata+xml; version=2.1"
JSON = "application/vnd.sdmx.data+json; version=1.0.0"
CSV = "application/vnd.sdmx.data+csv; version=1.0.0"
STRUCTURE = "application/vnd.sdmx.structure+xml; version=2.1"
MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STRUCTURE_SPECIFIC = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"


@pytest.fixture
def site(transactional_db, live_server, clerk, reviewer):  # noqa: F811
    """The data above, committed for the live server; the times of the two publications."""
    cache.clear()
    codelists_load()
    indicators_load()
    first = release_create(slug="awal", title_id="Awal", title_en="First")
    import_rows(
        first,
        [
            (FLOW, "ID", "_T", "_T", "2022", "35300000"),
            (FLOW, "ID", "_T", "_T", "2023", "41560000", "provisional"),
            (FLOW, "ID", "BPU", "_T", "2022", "2500000"),
            (FLOW, "ID", "BPU", "_T", "2023", "7600000.5"),
            (FLOW, "ID", "PU", "_T", "2023", "30000000"),
            *[(FLOW, "ID", "_T", "_T", f"2023-{m:02d}", str(40000000 + m)) for m in range(1, 7)],
            ("FUNDS_UNDER_MANAGEMENT", "ID", "_T", "_T", "2023", "686000000000000"),
        ],
    )
    first_at = timezone.now() - dt.timedelta(days=2)
    release_publish(release=first, at=first_at)
    revision = release_create(slug="revisi", title_id="Revisi", title_en="Revision")
    import_rows(revision, [(FLOW, "ID", "_T", "_T", "2023", "41600000")])
    revision_at = timezone.now() - dt.timedelta(days=1)
    release_publish(release=revision, at=revision_at)
    scheduled = release_create(slug="rahasia", title_id="Rahasia", title_en="Secret", user=clerk)
    import_rows(
        scheduled,
        [
            (FLOW, "ID", "_T", "_T", "2024", SECRET),
            ("BENEFITS_PAID", "ID", "_T", "_T", "2024", SECRET),
        ],
    )
    release_submit(release=scheduled, user=clerk)
    release_approve(release=scheduled, user=reviewer)
    release_schedule(
        release=scheduled, user=reviewer, scheduled_for=timezone.now() + dt.timedelta(days=5)
    )
    cache.clear()
    yield {"url": live_server.url, "first_at": first_at, "revision_at": revision_at}
    cache.clear()


@pytest.fixture
def client_sdmx(site):
    sdmx.add_source({"id": "ANGKA", "url": f"{site['url']}/sdmx", "name": "angka"}, override=True)
    return sdmx.Client("ANGKA")


def api_csv(client, query: str) -> list[dict]:
    response = client.get(f"/api/v1/observations/?{query}&format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- structures through sdmx1 ---


def test_dataflows_are_the_public_indicators(client_sdmx):
    message = client_sdmx.dataflow()
    flows = set(message.dataflow)
    assert {FLOW, "FUNDS_UNDER_MANAGEMENT"} == flows
    # BENEFITS_PAID has values only in the scheduled release: not announced.
    assert "BENEFITS_PAID" not in flows
    assert str(message.dataflow[FLOW].name.localizations["en"]) == "Active participants"
    assert message.dataflow[FLOW].name.localizations["id"] == "Peserta aktif"


def test_dataflow_with_references_all_brings_its_structure_code_lists_and_concepts(client_sdmx):
    message = client_sdmx.dataflow(FLOW, params={"references": "all"})
    dsd = message.structure[FLOW]
    assert [d.id for d in dsd.dimensions.components] == [
        "FREQ",
        "REGION",
        "SEGMENT",
        "PROGRAM",
        "TIME_PERIOD",
    ]
    assert {a.id for a in dsd.attributes.components} == {"UNIT_MEASURE", "DECIMALS", "OBS_STATUS"}
    assert dsd.measures.components[0].id == "OBS_VALUE"
    assert set(message.codelist) == {
        "CL_FREQ",
        "CL_REGION",
        "CL_SEGMENT",
        "CL_PROGRAM",
        "CL_UNIT_MEASURE",
        "CL_OBS_STATUS",
    }
    assert len(message.codelist["CL_REGION"]) == 39  # ID and the 38 provinces
    assert "BPU" in message.codelist["CL_SEGMENT"]
    assert "TIME_PERIOD" in message.concept_scheme["CS_ANGKA"]


def test_datastructure_codelist_and_concept_scheme_queries(client_sdmx):
    structure = client_sdmx.datastructure(FLOW, params={"references": "none"})
    assert list(structure.structure) == [FLOW]
    assert len(structure.codelist["CL_SEGMENT"]) == 0  # referred to, not included
    children = client_sdmx.datastructure(FLOW, params={"references": "children"})
    assert len(children.codelist["CL_SEGMENT"]) == 5 and "CS_ANGKA" in children.concept_scheme
    codelist = client_sdmx.codelist("CL_OBS_STATUS")
    assert sorted(codelist.codelist["CL_OBS_STATUS"].items) == ["A", "B", "E", "P"]
    parents = client_sdmx.codelist("CL_SEGMENT", params={"references": "parents"})
    assert set(parents.structure) == {FLOW, "FUNDS_UNDER_MANAGEMENT"}
    concepts = client_sdmx.conceptscheme()
    assert "OBS_STATUS" in concepts.concept_scheme["CS_ANGKA"]


# --- data through sdmx1 ---


def test_data_to_pandas_equals_the_api_csv(client_sdmx, client):
    message = client_sdmx.data(FLOW, key="A.ID._T+BPU+PU._T")
    frame = sdmx.to_pandas(message, dtype=None)
    ours = {
        (key[2], key[3], key[0]): str(value)
        for key, value in frame.items()  # (TIME_PERIOD, FREQ, REGION, SEGMENT, PROGRAM)
    }
    rows = api_csv(client, f"indicator={FLOW}&frequency=A&region=ID&segment=_T,BPU,PU")
    theirs = {(row["region"], row["segment"], row["period"]): row["value"] for row in rows}
    assert ours == theirs
    assert ours[("ID", "BPU", "2023")] == "7600000.5"  # exact text, not a float
    assert ours[("ID", "_T", "2023")] == "41600000"  # the current vintage


def test_structure_specific_data_through_sdmx1(client_sdmx):
    # A key given as a dict: sdmx1 validates it against the structure, which it fetches
    # with the dataflow (references=all), and reads the data with it.
    message = client_sdmx.data(
        FLOW,
        key={"FREQ": "A", "REGION": "ID", "SEGMENT": "BPU", "PROGRAM": "_T"},
        headers={"Accept": SPECIFIC},
    )
    assert message.response.headers["Content-Type"] == SPECIFIC
    series = message.data[0].series
    (key,) = series
    assert key.get_values() == ("A", "ID", "BPU", "_T")
    values = {obs.dim.get_values()[0]: obs.value for obs in series[key]}
    assert values == {"2022": "2500000", "2023": "7600000.5"}
    assert key.attrib["UNIT_MEASURE"].value == "persons"


def test_sdmx_json_data_through_sdmx1(client_sdmx):
    message = client_sdmx.data(FLOW, key="A.ID._T._T", headers={"Accept": JSON})
    assert message.response.headers["Content-Type"] == JSON
    (observations,) = message.data[0].series.values()
    values = {obs.dim.get_values()[0]: obs.value for obs in observations}
    assert values == {"2022": "35300000", "2023": "41600000"}
    statuses = {
        obs.dim.get_values()[0]: obs.attached_attribute["OBS_STATUS"].value.id
        for obs in observations
    }
    assert statuses == {"2022": "A", "2023": "A"}


def test_wildcards_and_alternatives_in_the_key(client_sdmx):
    monthly = sdmx.to_pandas(client_sdmx.data(FLOW, key="M..._T"), dtype=None)
    # Index: (TIME_PERIOD, FREQ, REGION, SEGMENT, PROGRAM)
    assert sorted({key[0] for key in monthly.index}) == [f"2023-{m:02d}" for m in range(1, 7)]
    assert {key[1] for key in monthly.index} == {"M"}
    every = sdmx.to_pandas(client_sdmx.data(FLOW, key="all"), dtype=None)
    assert {key[3] for key in every.index} == {"_T", "BPU", "PU"}
    assert {key[1] for key in every.index} == {"A", "M"}
    two = sdmx.to_pandas(client_sdmx.data(FLOW, key="A..BPU+PU."), dtype=None)
    assert {key[3] for key in two.index} == {"BPU", "PU"}


def test_unsupported_queries_raise_not_implemented_in_sdmx1(client_sdmx):
    with pytest.raises(NotImplementedError):
        client_sdmx.get("categoryscheme", force=True)


# --- the history of the data (includeHistory) ---


def _local(instant: dt.datetime) -> str:
    return timezone.localtime(instant).isoformat()


def _values(dataset) -> dict[tuple[str, str], str]:
    """(segment, period) -> value of a data set read by sdmx1."""
    return {
        (key.get_values()[2], obs.dim.get_values()[0]): obs.value
        for key, observations in dataset.series.items()
        for obs in observations
    }


def test_the_history_is_one_data_set_per_dissemination_through_sdmx1(client_sdmx):
    message = client_sdmx.data(FLOW, key="A.ID._T._T", params={"includeHistory": True})
    assert [_values(dataset) for dataset in message.data] == [
        {("_T", "2022"): "35300000", ("_T", "2023"): "41560000"},
        {("_T", "2023"): "41600000"},
    ]


def test_the_history_in_sdmx_json_dates_each_data_set_through_sdmx1(client_sdmx, site):
    message = client_sdmx.data(
        FLOW, key="A.ID._T._T", params={"includeHistory": True}, headers={"Accept": JSON}
    )
    assert [(d.action.name, d.valid_from) for d in message.data] == [
        ("replace", _local(site["first_at"])),
        ("replace", _local(site["revision_at"])),
    ]
    assert [_values(dataset) for dataset in message.data] == [
        {("_T", "2022"): "35300000", ("_T", "2023"): "41560000"},
        {("_T", "2023"): "41600000"},
    ]


@pytest.mark.parametrize("accept", [GENERIC, SPECIFIC])
def test_the_history_in_sdmx_ml_replaces_from_each_dissemination(site, client, accept):
    response = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", accept, includeHistory="true")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    datasets = root.findall(f"{{{MESSAGE}}}DataSet")
    # Structure-specific data qualifies the data set's attributes.
    prefix = "" if accept == GENERIC else f"{{{STRUCTURE_SPECIFIC}}}"
    assert [(d.get(f"{prefix}action"), d.get(f"{prefix}validFromDate")) for d in datasets] == [
        ("Replace", _local(site["first_at"])),
        ("Replace", _local(site["revision_at"])),
    ]
    # Published values are never deleted: no data set closes any.
    assert all(d.get(f"{prefix}validToDate") is None for d in datasets)


def test_the_history_as_of_an_instant_ends_there(site, client):
    before = _iso(site["revision_at"] - dt.timedelta(hours=1))
    response = _get(
        client, f"/sdmx/data/{FLOW}/A.ID._T._T", JSON, includeHistory="true", as_of=before
    )
    body = response.json()
    assert [d["validFrom"] for d in body["dataSets"]] == [_local(site["first_at"])]


def test_the_history_since_an_instant_gives_the_later_disseminations(site, client):
    since = _iso(site["first_at"] + dt.timedelta(hours=1))
    response = _get(
        client, f"/sdmx/data/{FLOW}/all", JSON, includeHistory="true", updatedAfter=since
    )
    body = response.json()
    assert [(d["action"], d["validFrom"]) for d in body["dataSets"]] == [
        ("Replace", _local(site["revision_at"]))
    ]


def test_the_history_never_shows_an_embargoed_release(site, client):
    for accept in (GENERIC, SPECIFIC, JSON):
        response = _get(client, f"/sdmx/data/{FLOW}/all", accept, includeHistory="true")
        assert response.status_code == 200
        assert SECRET.encode() not in response.content
        # Two disseminations so far; the scheduled one is not among them.
        if accept == JSON:
            assert len(response.json()["dataSets"]) == 2
        else:
            root = etree.fromstring(response.content)
            assert len(root.findall(f"{{{MESSAGE}}}DataSet")) == 2
    assert _get(client, "/sdmx/data/BENEFITS_PAID/all", includeHistory="true").status_code == 404


def test_sdmx_csv_has_no_history_and_says_so(site, client):
    response = _get(client, f"/sdmx/data/{FLOW}/all", CSV, includeHistory="true")
    assert response.status_code == 501
    assert b"SDMX-CSV" in response.content
    # Without history, the same query is answered.
    assert _get(client, f"/sdmx/data/{FLOW}/all", CSV, includeHistory="false").status_code == 200


# --- HTTP: status codes, formats, parameters ---


def _get(client, path: str, accept: str | None = None, **params):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    return client.get(path, params, **headers)


@pytest.mark.parametrize(
    ("accept", "format_param", "media_type"),
    [
        (None, None, GENERIC),
        ("application/xml", None, GENERIC),
        ("application/vnd.sdmx.genericdata+xml;version=2.1", None, GENERIC),
        ("application/vnd.sdmx.structurespecificdata+xml;version=2.1", None, SPECIFIC),
        ("application/vnd.sdmx.data+json;version=1.0.0", None, JSON),
        ("application/json", None, JSON),
        ("application/vnd.sdmx.data+csv;version=1.0.0", None, CSV),
        ("text/csv", None, CSV),
        (None, "csvdata", CSV),
        (None, "jsondata", JSON),
        (None, "structurespecificdata", SPECIFIC),
        ("application/json", "genericdata", GENERIC),
    ],
)
def test_each_format_has_its_media_type(site, client, accept, format_param, media_type):
    params = {"format": format_param} if format_param else {}
    response = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", accept, **params)
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert b"41600000" in response.content


def test_sdmx_csv_has_one_line_per_observation_with_exact_values(site, client):
    response = _get(client, f"/sdmx/data/{FLOW}/A.ID.BPU._T", format="csvdata")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["TIME_PERIOD"], row["OBS_VALUE"]) for row in rows] == [
        ("2022", "2500000"),
        ("2023", "7600000.5"),
    ]
    assert rows[0]["DATAFLOW"] == "ANGKA:ACTIVE_PARTICIPANTS(1.0)"
    assert rows[0]["UNIT_MEASURE"] == "persons" and rows[0]["OBS_STATUS"] == "A"


def test_observation_status_is_mapped_to_the_sdmx_codes(site, client):
    response = _get(
        client,
        f"/sdmx/data/{FLOW}/A.ID._T._T",
        format="csvdata",
        as_of=_iso(site["first_at"] + dt.timedelta(hours=1)),
    )
    rows = {
        row["TIME_PERIOD"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))
    }
    assert rows["2023"]["OBS_STATUS"] == "P" and rows["2022"]["OBS_STATUS"] == "A"


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat()


def _periods(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["TIME_PERIOD"] for row in csv.DictReader(io.StringIO(response.content.decode()))]


def test_last_and_first_n_observations_per_series(site, client):
    path = f"/sdmx/data/{FLOW}/M.ID._T._T"
    assert _periods(_get(client, path, format="csvdata", lastNObservations="2")) == [
        "2023-05",
        "2023-06",
    ]
    assert _periods(_get(client, path, format="csvdata", firstNObservations="1")) == ["2023-01"]


def test_start_and_end_period(site, client):
    path = f"/sdmx/data/{FLOW}/M.ID._T._T"
    found = _get(client, path, format="csvdata", startPeriod="2023-02", endPeriod="2023-Q1")
    assert _periods(found) == ["2023-02", "2023-03"]
    assert _periods(_get(client, path, format="csvdata", startPeriod="2023-M06")) == ["2023-06"]
    annual = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", format="csvdata", endPeriod="2022")
    assert _periods(annual) == ["2022"]


def test_updated_after_gives_the_values_published_since(site, client):
    between = site["first_at"] + dt.timedelta(hours=1)
    response = _get(client, f"/sdmx/data/{FLOW}/all", format="csvdata", updatedAfter=_iso(between))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["SEGMENT"], row["TIME_PERIOD"], row["OBS_VALUE"]) for row in rows] == [
        ("_T", "2023", "41600000")
    ]
    later = site["revision_at"] + dt.timedelta(hours=1)
    nothing = _get(client, f"/sdmx/data/{FLOW}/all", updatedAfter=_iso(later))
    assert nothing.status_code == 404


def test_as_of_gives_the_vintage_shown_then(site, client):
    before = site["revision_at"] - dt.timedelta(hours=1)
    response = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", format="csvdata", as_of=_iso(before))
    rows = {
        r["TIME_PERIOD"]: r["OBS_VALUE"]
        for r in csv.DictReader(io.StringIO(response.content.decode()))
    }
    assert rows == {"2022": "35300000", "2023": "41560000"}


def test_a_key_names_a_region_by_its_alternative_code_too(site, client):
    """The national total by its ISO code in any case (``id``), as the read API takes it
    (``DimensionFilter.canonical``); the answer carries the code itself."""
    by_code = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", format="csvdata")
    for key in ("A.id._T._T", "A.Id+ID._T._T"):
        by_alias = _get(client, f"/sdmx/data/{FLOW}/{key}", format="csvdata")
        assert by_alias.status_code == 200, key
        assert by_alias.content == by_code.content
    assert _get(client, f"/sdmx/data/{FLOW}/A.ID-XX._T._T").status_code == 404


def test_no_match_is_404_with_an_sdmx_error_message(site, client):
    for path in (
        f"/sdmx/data/{FLOW}/A.XX._T._T",
        "/sdmx/data/NO_SUCH_FLOW/all",
        f"/sdmx/data/{FLOW}/A.ID._T._T?startPeriod=2030",
        "/sdmx/dataflow/OTHER_AGENCY/all/latest",
        "/sdmx/codelist/ANGKA/CL_NOTHING/latest",
        "/sdmx/dataflow/ANGKA/all/2.0",
        "/sdmx/nothing-here",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b'code="100"' in response.content, path


def test_unsupported_queries_are_501(site, client):
    for path in (
        "/sdmx/categoryscheme/ANGKA/all/latest",
        f"/sdmx/data/{FLOW}/all?includeHistory=true&format=csvdata",
        f"/sdmx/data/{FLOW}/all?dimensionAtObservation=AllDimensions",
        "/sdmx/dataflow/ANGKA/all/latest?detail=allstubs",
        "/sdmx/codelist/ANGKA/CL_SEGMENT/latest/BPU",
    ):
        response = client.get(path)
        assert response.status_code == 501, path
        assert b'code="501"' in response.content


def test_bad_queries_are_400_naming_the_problem(site, client):
    cases = {
        f"/sdmx/data/{FLOW}/A.ID._T": b"has 3 dimensions",
        f"/sdmx/data/{FLOW}/all?startPeriod=2023-13": b"startPeriod",
        f"/sdmx/data/{FLOW}/all?lastNObservations=0": b"lastNObservations",
        f"/sdmx/data/{FLOW}/all?updatedAfter=yesterday": b"updatedAfter",
        f"/sdmx/data/{FLOW}/all?colour=red": b"unknown parameter",
        f"/sdmx/data/{FLOW}/all?includeHistory=maybe": b"includeHistory",
        "/sdmx/dataflow/ANGKA/all/latest?references=everything": b"references",
    }
    for path, reason in cases.items():
        response = client.get(path)
        assert response.status_code == 400, path
        assert reason in response.content, path


def test_a_format_not_offered_is_406(site, client):
    response = _get(
        client, f"/sdmx/data/{FLOW}/all", "application/vnd.sdmx.data+json;version=2.0.0"
    )
    assert response.status_code == 406
    assert _get(client, f"/sdmx/data/{FLOW}/all", format="xlsx").status_code == 406


def test_embargoed_values_never_appear(site, client):
    paths = [
        f"/sdmx/data/{FLOW}/all",
        f"/sdmx/data/{FLOW}/all?startPeriod=2024",
        f"/sdmx/data/{FLOW}/A.ID._T+PU._T?lastNObservations=1",
        "/sdmx/data/BENEFITS_PAID/all",
        "/sdmx/dataflow/ANGKA/all/latest?references=all",
    ]
    for path in paths:
        for accept in (GENERIC, SPECIFIC, JSON, CSV):
            response = _get(client, path, accept)
            assert SECRET.encode() not in response.content, (path, accept)
            assert b"BENEFITS_PAID" not in response.content or response.status_code == 404
    last = _get(client, f"/sdmx/data/{FLOW}/A.ID._T._T", format="csvdata", lastNObservations="1")
    assert _periods(last) == ["2023"]


def test_answers_carry_an_etag_and_a_conditional_request_is_304(site, client):
    path = f"/sdmx/data/{FLOW}/A.ID._T._T"
    first = client.get(path)
    assert first.status_code == 200 and first["ETag"].startswith('W/"')
    assert "Last-Modified" in first and "public" in first["Cache-Control"]
    again = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    other = client.get(path, HTTP_ACCEPT=CSV)
    assert other["ETag"] != first["ETag"]


def test_a_cached_answer_is_served_without_a_query(site, client, django_assert_num_queries):
    path = f"/sdmx/data/{FLOW}/A.ID._T._T?format=jsondata"
    first = client.get(path)
    with django_assert_num_queries(0):
        second = client.get(path)
    assert second.content == first.content and second["ETag"] == first["ETag"]


def test_only_get_and_head_are_answered(site, client):
    assert client.post(f"/sdmx/data/{FLOW}/all").status_code == 405
    assert client.head(f"/sdmx/data/{FLOW}/A.ID._T._T").status_code == 200


def test_an_edit_of_the_catalogue_changes_the_etag_of_structures(site, client):
    path = f"/sdmx/dataflow/ANGKA/{FLOW}/latest"
    before = client.get(path)
    Indicator.objects.filter(code=FLOW).update(name_en="Active members")
    public_data_changed()  # as the admin raises it
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and b"Active members" in after.content
