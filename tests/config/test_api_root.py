"""The root of the read API lists its resources."""

import pytest

pytestmark = pytest.mark.usefixtures("clear_cache")


def test_the_api_root_lists_every_resource_with_its_url_and_description(client, db):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    names = [resource["name"] for resource in body["resources"]]
    assert names == [
        "indicators",
        "codelists",
        "series",
        "observations",
        "releases",
        "news",
        "calendar",
    ]
    for resource in body["resources"]:
        assert resource["url"] == f"http://testserver/api/v1/{resource['name']}/"
        assert resource["description"]
        assert client.get(resource["url"]).status_code == 200
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["docs"] == "http://testserver/api/docs/"


def test_the_api_root_refuses_parameters_it_does_not_take(client, db):
    response = client.get("/api/v1/", {"page_size": "5"})
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]
