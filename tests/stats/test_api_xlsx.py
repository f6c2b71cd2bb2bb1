"""``format=xlsx`` on the API's lists: the CSV's columns and texts on a data sheet, a
metadata sheet, bounded in size, and nothing under embargo."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from publications.choices import ReleaseStatus
from publications.models import Release
from stats.models import Observation
from stats.opendata import xlsx
from tests.stats.test_api import body

OBSERVATIONS = "/api/v1/observations/"

pytestmark = pytest.mark.usefixtures("clear_cache")


def _sheets(content: bytes) -> tuple[list[list], dict]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    data = [list(row) for row in book["data"].iter_rows(values_only=True)]
    # A row read back ends at its last cell that is not empty.
    data = [row + [None] * (len(data[0]) - len(row)) for row in data]
    metadata = dict(book["metadata"].iter_rows(values_only=True))
    return data, metadata


def _csv(client, path: str, params: dict) -> list[list[str]]:
    response = client.get(path, {**params, "format": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(body(response).decode("utf-8"), newline="")))


def _as_text(cell) -> str:
    """A workbook cell as the CSV writes it."""
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    return str(cell)


def _xlsx(client, path: str, params: dict):
    response = client.get(path, {**params, "format": "xlsx"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == xlsx.MEDIA_TYPE
    return response


@pytest.mark.parametrize("lang", ["id", "en"])
def test_observations_xlsx_holds_the_csv_s_cells_and_exact_values(client, demo, lang):
    params = {"indicator": "ACTIVE_COVERAGE_ELIGIBLE,ACTIVE_PARTICIPANTS", "lang": lang}
    lines = _csv(client, OBSERVATIONS, params)
    data, _metadata = _sheets(_xlsx(client, OBSERVATIONS, params).content)
    header = data[0]
    at = header.index("value")
    assert header[at + 1] == "value_exact"
    assert [*header[: at + 1], *header[at + 2 :]] == lines[0]
    assert len(data) == len(lines) > 100
    for row, line in zip(data[1:], lines[1:], strict=True):
        # The number for calculation, and the exact text beside it.
        assert row[at + 1] == line[at]
        assert row[at] == float(line[at])
        assert [_as_text(cell) for cell in [*row[:at], *row[at + 2 :]]] == [
            *line[:at],
            *line[at + 1 :],
        ]
    # Derived values keep their formula and inputs, as in the CSV.
    formulas = [row[header.index("formula")] for row in data[1:]]
    assert "44.4007858546 = 45200000 / 101800000 × 100" in formulas


def test_observations_xlsx_has_a_metadata_sheet_and_a_file_name(client, demo):
    response = _xlsx(client, OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "lang": "en"})
    assert response["Content-Disposition"] == 'attachment; filename="active_participants.xlsx"'
    assert 'rel="describedby"' in response["Link"] and 'rel="license"' in response["Link"]
    _data, metadata = _sheets(response.content)
    assert metadata["licence"].startswith("Creative Commons Attribution 4.0")
    assert "CC-BY-4.0" in metadata["attribution"]
    assert metadata["publisher"]
    assert metadata["query"].endswith(
        "/api/v1/observations/?indicator=ACTIVE_PARTICIPANTS&lang=en&format=xlsx"
    )
    generated = dt.datetime.fromisoformat(metadata["generated_at"])
    assert abs(dt.datetime.now(dt.UTC) - generated) < dt.timedelta(minutes=5)
    assert metadata["units"] == "lin"


def test_the_xlsx_media_type_in_accept_gives_a_workbook(client, demo):
    response = client.get(
        OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"}, HTTP_ACCEPT=xlsx.MEDIA_TYPE
    )
    assert response.status_code == 200
    assert response["Content-Type"] == xlsx.MEDIA_TYPE
    data, _metadata = _sheets(response.content)
    assert data[0][0] == "indicator"


def test_xlsx_leaves_out_what_is_under_embargo(client, demo):
    scheduled = Release.objects.get(status=ReleaseStatus.SCHEDULED)
    assert Observation.objects.filter(release=scheduled).exists()
    data, _metadata = _sheets(
        _xlsx(client, OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS"}).content
    )
    header = data[0]
    releases = {row[header.index("release")] for row in data[1:]}
    assert scheduled.slug not in releases
    public = Observation.objects.current().filter(series__indicator__code="ACTIVE_PARTICIPANTS")
    assert len(data) - 1 == public.count()


def test_xlsx_past_its_row_limit_is_a_400_naming_the_limit(client, demo, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    response = client.get(OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "format": "xlsx"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    (message,) = response.json()["errors"]["format"]
    assert "at most 3 rows" in message and "format=csv" in message
    small = client.get(
        OBSERVATIONS,
        {"indicator": "ACTIVE_PARTICIPANTS", "format": "xlsx", "period_start": "2024-12"},
    )
    assert small.status_code == 200
    monkeypatch.setattr(xlsx, "MAX_ROWS", 1)
    assert client.get("/api/v1/indicators/", {"format": "xlsx"}).status_code == 400


def test_a_metadata_list_as_xlsx_holds_its_csv_cells(client, demo):
    lines = _csv(client, "/api/v1/indicators/", {"lang": "en"})
    response = _xlsx(client, "/api/v1/indicators/", {"lang": "en"})
    assert response["Content-Disposition"] == 'attachment; filename="indicators.xlsx"'
    data, metadata = _sheets(response.content)
    assert [[_as_text(cell) for cell in row] for row in data] == lines
    assert set(metadata) >= {"licence", "publisher", "attribution", "query", "generated_at"}


def test_xlsx_is_for_lists_and_the_long_layout_only(client, demo):
    item = client.get("/api/v1/indicators/ACTIVE_PARTICIPANTS/", {"format": "xlsx"})
    assert item.status_code == 400
    assert item.json()["errors"]["format"] == ["xlsx is offered for lists only"]
    wide = client.get(
        OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "layout": "wide", "format": "xlsx"}
    )
    assert wide.status_code == 400
    assert "format=csv" in wide.json()["errors"]["layout"][0]
    paged = client.get(
        OBSERVATIONS, {"indicator": "ACTIVE_PARTICIPANTS", "page_size": "5", "format": "xlsx"}
    )
    assert paged.status_code == 400
    assert "not paged" in paged.json()["errors"]["page_size"][0]
