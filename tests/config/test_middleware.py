"""Control characters in a request are a 400 naming where they are, never a 500; and the
API has no detail route for an observation (a row of a series, not a resource)."""

import pytest

PATHS_AND_PARAMETERS = [
    ("/api/v1/indicators/?topic=%00", "topic"),
    ("/api/v1/indicators/?q=a%01b", "q"),
    ("/api/v1/observations/?indicator=FUNDS%7F", "indicator"),
    ("/api/v1/observations/?format=csv&region=%00", "region"),
    ("/api/v1/codelists/x%00/", "path"),
    ("/api/v1/news/x%00/", "path"),
]


@pytest.mark.parametrize(("url", "where"), PATHS_AND_PARAMETERS)
def test_a_control_character_in_the_api_is_a_400_naming_where(client, db, url, where):
    response = client.get(url)
    assert response.status_code == 400
    message = response.json()["errors"][where][0]
    assert "control character (U+00" in message


@pytest.mark.parametrize("url", ["/id/indikator/x%00/", "/en/search/?q=%00", "/id/%0A/"])
def test_a_control_character_in_a_page_request_is_a_400(client, db, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"control character" in response.content


def test_a_percent_sign_that_is_not_a_control_character_passes(client, catalogue):
    response = client.get("/api/v1/indicators/", {"q": "100%25"})
    assert response.status_code == 200


def test_there_is_no_observation_detail_route(client, demo):
    from stats.models import Observation

    observation_id = Observation.objects.published().values_list("id", flat=True).first()
    assert client.get(f"/api/v1/observations/{observation_id}/").status_code == 404
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/observations/" in schema["paths"]
    assert not [path for path in schema["paths"] if path.startswith("/api/v1/observations/{")]


def test_other_detail_routes_still_answer(client, demo):
    assert client.get("/api/v1/indicators/FUNDS_UNDER_MANAGEMENT/").status_code == 200


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
@pytest.mark.parametrize("url", ["/id/", "/api/v1/observations/?bogus=1", "/admin/"])
def test_trace_and_connect_are_refused_everywhere(client, db, method, url):
    response = client.generic(method, url)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_api_checks_the_method_before_the_parameters(client, catalogue, method):
    response = client.generic(method, "/api/v1/observations/?bogus=1")
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_a_get_with_an_unknown_parameter_is_still_a_400(client, catalogue):
    response = client.get("/api/v1/observations/", {"bogus": "1"})
    assert response.status_code == 400
    assert "bogus" in response.json()["errors"]
