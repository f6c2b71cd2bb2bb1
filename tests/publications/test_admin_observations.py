"""The admin of observations, the values of releases: the changelist, the CSV import
into a draft release that previews before it writes, published observations that stay
and the observation form that names the field at fault."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from publications.admin import IMPORT_SESSION_KEY
from publications.services import release_create, release_publish
from stats.models import (
    Observation,
    Series,
)
from tests.stats.helpers import csv_text, import_rows

IMPORT_URL = reverse("admin:stats_observation_import")
CONFIRM_URL = reverse("admin:stats_observation_import_confirm")
CHANGELIST_URL = reverse("admin:stats_observation_changelist")
NATIONAL = "region=ID,segment=_T,program=_T"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def draft(catalogue):
    return release_create(slug="revisi", title_id="Revisi", title_en="Revision")


def national_series(code="ACTIVE_PARTICIPANTS", frequency="A"):
    return Series.objects.get(indicator__code=code, frequency=frequency, key=NATIONAL)


def upload(client, release, text, name="angka.csv"):
    return client.post(
        IMPORT_URL,
        {"release": release.pk, "file": SimpleUploadedFile(name, text.encode(), "text/csv")},
    )


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_observation_changelist_filters_and_searches(staff_client, published, draft):
    import_rows(draft, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000")])
    response = staff_client.get(CHANGELIST_URL, {"published": "no"})
    assert [o.period for o in response.context["cl"].result_list] == ["2024"]
    response = staff_client.get(CHANGELIST_URL, {"release__id__exact": published.pk})
    assert sorted(o.period for o in response.context["cl"].result_list) == ["2022", "2023"]
    response = staff_client.get(CHANGELIST_URL, {"q": "ACTIVE_PARTICIPANTS 2023"})
    assert [o.period for o in response.context["cl"].result_list] == ["2023"]
    assert IMPORT_URL.encode() in response.content


def test_observation_changelist_query_count_does_not_grow_with_rows(
    staff_client, published, draft, django_assert_max_num_queries
):
    rows = [
        ("ACTIVE_PARTICIPANTS", region, "_T", "_T", "2024", "1000")
        for region in ["11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32"]
    ]
    import_rows(draft, rows)
    with django_assert_max_num_queries(10):
        response = staff_client.get(CHANGELIST_URL)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 14


# -- the CSV import ------------------------------------------------------------------------


def test_import_preview_shows_revised_rows_with_old_and_new_value_and_change(
    staff_client, published, draft, media_root, settings, django_assert_max_num_queries
):
    settings.ANGKA_REVISION_WARNING_PERCENT = 10
    text = csv_text(
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "36000000"),  # +1.98 %
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "47000000"),  # +13.09 %, warning
            ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2023", "25000000"),  # new
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2021", "30000000.50"),  # new, decimals
        ]
    )
    with django_assert_max_num_queries(16):
        response = upload(staff_client, draft, text)
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.new, report.revised, report.unchanged, report.error_count) == (2, 2, 0, 0)
    revised = {row["period"]: row for row in response.context["revised_rows"]}
    assert (revised["2022"]["old_value"], revised["2022"]["new_value"]) == ("35300000", "36000000")
    assert revised["2022"]["change_percent"] == "+1.98" and not revised["2022"]["warning"]
    assert revised["2023"]["change_percent"] == "+13.09" and revised["2023"]["warning"]
    html = response.content.decode()
    for text_shown in ["35300000", "36000000", "+1.98", "41560000", "47000000", "+13.09"]:
        assert text_shown in html
    assert html.count('class="revision-warning"') == 1
    assert "30000000.5" in html  # new rows shown exactly
    assert 'name="token"' in html
    assert not Observation.objects.filter(release=draft).exists()
    assert len(list((media_root / "imports").iterdir())) == 1


def test_import_file_with_errors_lists_every_error_and_writes_nothing(
    staff_client, published, draft, media_root
):
    text = csv_text(
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000"),
            ("NO_SUCH_INDICATOR", "ID", "_T", "_T", "2024", "1"),
            ("ACTIVE_PARTICIPANTS", "99", "_T", "_T", "2024", "1"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024-Q1", "1"),
            ("ACTIVE_PARTICIPANTS", "ID", "PU", "_T", "2024", "-5"),
        ]
    )
    response = upload(staff_client, draft, text)
    assert response.status_code == 200
    errors = response.context["report"].errors
    assert [(e.line, e.column) for e in errors] == [
        (3, "indicator"),
        (4, "region"),
        (5, "period"),
        (6, "value"),
    ]
    html = response.content.decode()
    for error in errors:
        assert f'<tr><td class="number">{error.line}</td><td>{error.column}</td>' in html
    assert 'name="token"' not in html
    assert (
        IMPORT_SESSION_KEY not in staff_client.session
        or not staff_client.session[IMPORT_SESSION_KEY]
    )
    assert not Observation.objects.filter(release=draft).exists()
    assert list((media_root / "imports").iterdir()) == []


def test_confirm_writes_the_rows_and_removes_the_file(staff_client, published, draft, media_root):
    text = csv_text(
        [
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2022", "36000000"),
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2023", "41560000"),  # unchanged
            ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000"),
        ]
    )
    token = upload(staff_client, draft, text).context["token"]
    response = staff_client.post(CONFIRM_URL, {"token": token})
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST_URL}?release__id__exact={draft.pk}"
    written = Observation.objects.filter(release=draft).order_by("period")
    assert [(o.period, o.value, o.valid_from) for o in written] == [
        ("2022", Decimal(36000000), None),
        ("2024", Decimal(45200000), None),
    ]
    assert any("2 observasi ditulis ke rilis revisi" in m for m in messages_of(response))
    assert list((media_root / "imports").iterdir()) == []
    assert token not in staff_client.session[IMPORT_SESSION_KEY]
    # The same token cannot be confirmed twice.
    again = staff_client.post(CONFIRM_URL, {"token": token})
    assert again.status_code == 302 and again["Location"] == IMPORT_URL
    assert Observation.objects.filter(release=draft).count() == 2


def test_confirm_rejects_an_unknown_token(staff_client, published, draft, media_root):
    upload(staff_client, draft, csv_text([GOOD_2024]))
    response = staff_client.post(CONFIRM_URL, {"token": "not-a-token-of-this-session-x"})
    assert response.status_code == 302 and response["Location"] == IMPORT_URL
    assert any("tidak dikenal" in m for m in messages_of(response))
    assert not Observation.objects.filter(release=draft).exists()


GOOD_2024 = ("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024", "45200000")


def test_import_refuses_a_release_that_is_not_a_draft(staff_client, published, media_root):
    response = upload(staff_client, published, csv_text([GOOD_2024]))
    assert response.status_code == 200
    assert "release" in response.context["form"].errors
    assert not Observation.objects.filter(period="2024").exists()


def test_confirm_after_the_release_left_draft_is_refused(staff_client, draft, media_root):
    token = upload(staff_client, draft, csv_text([GOOD_2024])).context["token"]
    release_publish(release=draft)
    response = staff_client.post(CONFIRM_URL, {"token": token})
    assert response.status_code == 302
    assert any("only a draft can be changed" in m for m in messages_of(response))
    assert not Observation.objects.exists()
    assert list((media_root / "imports").iterdir()) == []


def test_import_form_preselects_the_release_from_the_query(staff_client, draft):
    response = staff_client.get(IMPORT_URL, {"release": draft.pk})
    assert response.context["form"]["release"].value() == draft.pk


def test_import_needs_the_add_observation_permission(client, django_user_model, draft):
    clerk = django_user_model.objects.create_user(username="tamu", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_observation"))
    client.force_login(clerk)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(CONFIRM_URL, {"token": "x" * 32}).status_code == 403


# -- published observations stay -------------------------------------------------------------


def test_published_observation_cannot_be_deleted_from_its_delete_page(staff_client, published):
    observation = Observation.objects.published().first()
    url = reverse("admin:stats_observation_delete", args=[observation.pk])
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert Observation.objects.filter(pk=observation.pk).exists()


def test_bulk_delete_refuses_a_selection_with_published_rows(staff_client, published, draft):
    import_rows(draft, [GOOD_2024])
    selected = list(Observation.objects.values_list("pk", flat=True))
    response = staff_client.post(
        CHANGELIST_URL, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )
    assert response.status_code == 302
    assert any("Tidak ada yang dihapus" in m for m in messages_of(response))
    assert Observation.objects.count() == 3


def test_bulk_delete_removes_unpublished_rows_of_a_draft(staff_client, published, draft):
    import_rows(draft, [GOOD_2024])
    draft_row = Observation.objects.get(release=draft)
    response = staff_client.post(
        CHANGELIST_URL,
        {"action": "delete_selected", "_selected_action": [draft_row.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Observation.objects.filter(pk=draft_row.pk).exists()
    assert Observation.objects.published().count() == 2


def test_published_observation_change_page_is_read_only(staff_client, published):
    observation = Observation.objects.published().first()
    url = reverse("admin:stats_observation_change", args=[observation.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    assert 'name="value"' not in response.content.decode()
    assert staff_client.post(url, {"value": "1"}).status_code == 403
    observation.refresh_from_db()
    assert observation.value == Decimal(35300000)


# -- the observation form --------------------------------------------------------------------


def observation_data(series, release, **overrides):
    return {
        "series": series.pk,
        "release": release.pk,
        "period": "2024",
        "value": "45200000",
        "status": "normal",
        "note": "",
        "source": "",
        "reference_date": "",
        **overrides,
    }


def post_observation(client, data, **headers):
    response = client.post(reverse("admin:stats_observation_add"), data, **headers)
    form = response.context["adminform"].form if response.status_code == 200 else None
    return response, form


def test_observation_form_rejects_a_period_that_does_not_fit_the_frequency(
    staff_client, published, draft
):
    response, form = post_observation(
        staff_client, observation_data(national_series(), draft, period="2024-Q3")
    )
    assert response.status_code == 200
    assert "2024-Q3 berfrekuensi triwulanan" in form.errors["period"][0]
    response, form = post_observation(
        staff_client, observation_data(national_series(), draft, period="2024-07")
    )
    assert "seri ini berfrekuensi tahunan" in form.errors["period"][0]
    response, form = post_observation(
        staff_client, observation_data(national_series(), draft, period="24")
    )
    assert "is not a period" in form.errors["period"][0]
    _, form = post_observation(
        staff_client,
        observation_data(national_series(), draft, period="2024-Q3"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (
        "2024-Q3 is quarterly; ACTIVE_PARTICIPANTS is published at annual, monthly"
        in (form.errors["period"][0])
    )
    assert not Observation.objects.filter(release=draft).exists()


def test_observation_form_rejects_a_negative_count_and_too_many_decimals(
    staff_client, published, draft
):
    _, form = post_observation(staff_client, observation_data(national_series(), draft, value="-5"))
    assert "tidak boleh negatif" in form.errors["value"][0]
    _, form = post_observation(
        staff_client, observation_data(national_series(), draft, value="1.12345678901")
    )
    assert list(form.errors) == ["value"]
    assert not Observation.objects.filter(release=draft).exists()


def test_observation_form_only_takes_a_draft_release(staff_client, published):
    _, form = post_observation(staff_client, observation_data(national_series(), published))
    assert "berstatus draf" in form.errors["release"][0]
    assert not Observation.objects.filter(period="2024").exists()


def test_observation_form_sets_the_period_dates(staff_client, published, draft):
    import_rows(draft, [("ACTIVE_PARTICIPANTS", "ID", "_T", "_T", "2024-01", "45000000")])
    series = national_series(frequency="M")
    response, _ = post_observation(staff_client, observation_data(series, draft, period="2024-02"))
    assert response.status_code == 302
    observation = Observation.objects.get(release=draft, period="2024-02")
    assert (str(observation.period_start), str(observation.period_end)) == (
        "2024-02-01",
        "2024-02-29",
    )
    assert observation.valid_from is None


def test_import_page_is_translated(staff_client, draft):
    assert "Impor observasi" in staff_client.get(IMPORT_URL).content.decode()
    english = staff_client.get(IMPORT_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Import observations" in english
