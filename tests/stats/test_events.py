"""One "public data changed" event ends the one cache generation: an edit in the admin or
a publication shows at once in the API and on the pages, and a cached page costs no SQL."""

import threading
import time

import pytest
from django.test import Client

from publications.services import release_create, release_publish
from stats.events import (
    bump_after_commit,
    generation,
    generation_memo,
    public_data_changed,
    public_data_changed_subscribe,
    public_data_changed_unsubscribe,
)
from stats.models import Code, DerivedDefinition, Target
from tests.stats.helpers import admin_change, import_rows

PAGE = "/id/indikator/ACTIVE_PARTICIPANTS/"
DETAIL = "/api/v1/indicators/ACTIVE_PARTICIPANTS/"


pytestmark = pytest.mark.usefixtures("clear_cache")


@pytest.fixture
def editor(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def page(client, url=PAGE) -> tuple[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), response["X-Page-Cache"]


def test_a_target_edited_in_the_admin_shows_at_once(client, demo, editor):
    target = Target.objects.get(series__indicator__code="ACTIVE_PARTICIPANTS", period="2026")
    assert client.get(DETAIL).json()["targets"][0]["document"] == target.document
    html, _state = page(client)
    assert target.document in html
    assert page(client)[1] == "hit"  # cached, so what follows proves the cache was left

    admin_change(editor, target, document="Peta Jalan Baru 2026")

    assert [t["document"] for t in client.get(DETAIL).json()["targets"]] == ["Peta Jalan Baru 2026"]
    html, state = page(client)
    assert state == "miss"
    assert "Peta Jalan Baru 2026" in html and target.document not in html


def test_a_code_renamed_in_the_admin_shows_at_once(client, demo, editor):
    code = Code.objects.get(codelist_id="region", code="31")
    query = {"indicator": "ACTIVE_PARTICIPANTS", "region": "31", "lang": "en"}
    rows = client.get("/api/v1/observations/", query).json()["results"]
    assert {row["dimensions"]["region"]["name"] for row in rows} == {code.name_en}
    codes_url = "/api/v1/codelists/region/"
    assert code.name_id in {c["name"] for c in client.get(codes_url).json()["codes"]}
    page(client)

    admin_change(editor, code, name_id="Jakarta Raya", name_en="Greater Jakarta")

    rows = client.get("/api/v1/observations/", query).json()["results"]
    assert rows and {row["dimensions"]["region"]["name"] for row in rows} == {"Greater Jakarta"}
    assert "Jakarta Raya" in {c["name"] for c in client.get(codes_url).json()["codes"]}
    html, state = page(client)
    assert state == "miss" and "Jakarta Raya" in html


def test_a_derived_definition_edited_in_the_admin_shows_at_once(client, demo, editor):
    definition = DerivedDefinition.objects.select_related("indicator").first()
    code = definition.indicator.code
    url = f"/id/indikator/{code}/"
    before = client.get(f"/api/v1/indicators/{code}/").json()["derivation"]["formula"]
    page(client, url)
    assert page(client, url)[1] == "hit"

    admin_change(editor, definition, formula_id="rumus baru = a / b")

    after = client.get(f"/api/v1/indicators/{code}/").json()["derivation"]["formula"]
    assert before != after == "rumus baru = a / b"
    html, state = page(client, url)
    assert state == "miss" and "rumus baru = a / b" in html


def test_a_publication_shows_at_once_in_the_api_and_on_the_pages(client, demo):
    params = {"indicator": "ACTIVE_PARTICIPANTS", "region": "ID", "segment": "_T"}
    params |= {"program": "_T", "period_start": "2030"}
    assert client.get("/api/v1/observations/", params).json()["results"] == []
    page(client)
    assert page(client)[1] == "hit"
    before = generation()

    release = release_create(slug="rilis-2030", title_id="Rilis 2030", title_en="Release 2030")
    import_rows(release, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2030", "77000000")])
    release_publish(release=release)

    assert generation() != before
    rows = client.get("/api/v1/observations/", params).json()["results"]
    assert [(row["period"], row["value"]) for row in rows] == [("2030", "77000000")]
    html, state = page(client)
    assert state == "miss" and "2030" in html


def test_a_cached_page_costs_no_query(client, demo, django_assert_num_queries):
    page(client)
    with django_assert_num_queries(0):
        html, state = page(client)
    assert state == "hit" and "ACTIVE_PARTICIPANTS" in html


def test_the_event_ends_the_generation_of_both_caches(client, demo):
    page(client)
    client.get(DETAIL)
    token = generation()
    public_data_changed()
    assert generation() != token
    assert page(client)[1] == "miss"


def test_a_reaction_unsubscribed_no_longer_runs(db):
    seen = []
    reaction = seen.append
    public_data_changed_subscribe(reaction)
    try:
        bump_after_commit()  # what the commit of a change runs
        public_data_changed_unsubscribe(reaction)
        bump_after_commit()
    finally:
        public_data_changed_unsubscribe(reaction)
    assert len(seen) == 1


def test_a_memo_asked_for_by_many_threads_at_once_is_computed_once():
    calls = []

    def compute():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to ask while it runs
        return object()

    token = "a-generation-of-this-test"
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(generation_memo(token, "slow", compute)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(answers) == 6 and len({id(answer) for answer in answers}) == 1


def test_a_memo_whose_computation_failed_is_computed_by_the_next_asker():
    def fail():
        raise RuntimeError("the database went away")

    token = "another-generation-of-this-test"
    with pytest.raises(RuntimeError):
        generation_memo(token, "flaky", fail)
    assert generation_memo(token, "flaky", lambda: 42) == 42
