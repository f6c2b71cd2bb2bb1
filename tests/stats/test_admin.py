"""The catalogue admin: every page answers, the forms name the field at fault, Indonesian
by default. The observations' admin (the CSV import) is publications'
(tests/publications/test_admin_observations.py)."""

import pytest
from django.urls import reverse

from stats.models import (
    Code,
    DerivedDefinition,
    Indicator,
    Observation,
    Series,
    SeriesCode,
    Target,
    Topic,
)
from stats.selectors import codes_search
from tests.stats.factories import IndicatorFactory

NATIONAL = "region=ID,segment=_T,program=_T"


def national_series(code="ACTIVE_PARTICIPANTS", frequency="A"):
    return Series.objects.get(indicator__code=code, frequency=frequency, key=NATIONAL)


# -- every page answers ------------------------------------------------------------------

MODELS = [
    "topic",
    "codelist",
    "code",
    "indicator",
    "series",
    "observation",
    "target",
    "deriveddefinition",
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", ["changelist", "add"])
def test_changelist_and_add_page_of_every_stats_model_answer(staff_client, published, model, page):
    response = staff_client.get(reverse(f"admin:stats_{model}_{page}"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["stats_derivedgap", "publications_recomputerequest"])
def test_engine_rows_can_be_listed_but_not_added(staff_client, catalogue, model):
    assert staff_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert staff_client.get(reverse(f"admin:{model}_add")).status_code == 403


def test_change_pages_answer_for_rows_with_data(staff_client, published):
    series = national_series()
    observation = Observation.objects.filter(series=series).first()
    for url in [
        reverse("admin:stats_indicator_change", args=[series.indicator_id]),
        reverse("admin:stats_series_change", args=[series.pk]),
        reverse("admin:stats_observation_change", args=[observation.pk]),
        reverse("admin:stats_codelist_change", args=["region"]),
    ]:
        assert staff_client.get(url).status_code == 200, url


# -- the series, target, indicator and definition forms ---------------------------------


def series_data(indicator, **overrides):
    return {
        "indicator": indicator.pk,
        "frequency": "A",
        "code_region": "31",
        "code_segment": "BPU",
        "code_program": "_T",
        **overrides,
    }


def test_series_form_creates_the_series_with_one_code_per_dimension(staff_client, published):
    indicator = national_series().indicator
    response = staff_client.post(reverse("admin:stats_series_add"), series_data(indicator))
    assert response.status_code == 302
    series = Series.objects.get(indicator=indicator, key="region=31,segment=BPU,program=_T")
    assert series.dimensions == {"region": "31", "segment": "BPU", "program": "_T"}
    assert sorted(
        SeriesCode.objects.filter(series=series).values_list("code__codelist_id", "code__code")
    ) == [("program", "_T"), ("region", "31"), ("segment", "BPU")]


def test_series_form_names_the_missing_code_and_the_wrong_frequency(staff_client, published):
    indicator = national_series().indicator
    response = staff_client.post(
        reverse("admin:stats_series_add"),
        series_data(indicator, code_segment="", frequency="Q"),
    )
    form = response.context["adminform"].form
    assert "code_segment" in form.errors and "frequency" in form.errors
    response = staff_client.post(
        reverse("admin:stats_series_add"),
        series_data(indicator, code_region="ID", code_segment="_T"),
    )
    assert "sudah ada" in response.context["adminform"].form.non_field_errors()[0]
    assert Series.objects.filter(indicator=indicator).count() == 1


def test_series_without_data_can_be_rekeyed_codes_included(staff_client, published):
    indicator = national_series().indicator
    staff_client.post(reverse("admin:stats_series_add"), series_data(indicator))
    series = Series.objects.get(indicator=indicator, key="region=31,segment=BPU,program=_T")
    url = reverse("admin:stats_series_change", args=[series.pk])
    response = staff_client.post(url, series_data(indicator, code_region="32"))
    assert response.status_code == 302
    series.refresh_from_db()
    assert series.key == "region=32,segment=BPU,program=_T"
    assert series.dimensions["region"] == "32"
    assert sorted(series.codes.values_list("codelist_id", "code")) == [
        ("program", "_T"),
        ("region", "32"),
        ("segment", "BPU"),
    ]


def test_series_with_observations_has_a_read_only_key(staff_client, published):
    series = national_series()
    url = reverse("admin:stats_series_change", args=[series.pk])
    html = staff_client.get(url).content.decode()
    assert 'name="indicator"' not in html and 'name="code_region"' not in html
    staff_client.post(url, series_data(series.indicator, code_region="31"))
    series.refresh_from_db()
    assert series.key == NATIONAL


def test_target_form_checks_the_period_and_sets_its_start(staff_client, published):
    series = national_series()
    data = {"series": series.pk, "period": "2026-Q1", "value": "70000000", "document": "RPJMN"}
    response = staff_client.post(reverse("admin:stats_target_add"), data)
    assert "period" in response.context["adminform"].form.errors
    response = staff_client.post(reverse("admin:stats_target_add"), {**data, "period": "2026"})
    assert response.status_code == 302
    assert str(Target.objects.get(series=series).period_start) == "2026-01-01"


def test_indicator_form_validates_frequencies(staff_client, catalogue):
    response = staff_client.post(
        reverse("admin:stats_indicator_add"),
        {
            "code": "NEW_INDICATOR",
            "topic": Topic.objects.first().pk,
            "unit": "persons",
            "measure_kind": "stock",
            "frequencies": "AX",
            "dimensions": ["region"],
            "decimals": 0,
            "name_id": "Baru",
            "name_en": "New",
        },
    )
    assert "A, S, Q, M" in response.context["adminform"].form.errors["frequencies"][0]
    assert not Indicator.objects.filter(code="NEW_INDICATOR").exists()


def definition_data(indicator, inputs, kind="ratio"):
    data = {
        "indicator": indicator.pk,
        "kind": kind,
        "is_active": "on",
        "periods": 1,
        "years": 1,
        "scale": "100",
        "formula_id": "",
        "formula_en": "",
        "inputs-TOTAL_FORMS": len(inputs),
        "inputs-INITIAL_FORMS": 0,
        "inputs-MIN_NUM_FORMS": 1,
        "inputs-MAX_NUM_FORMS": 1000,
    }
    for index, (role, source) in enumerate(inputs):
        data |= {
            f"inputs-{index}-role": role,
            f"inputs-{index}-indicator": source.pk,
            f"inputs-{index}-codes": "{}",
            f"inputs-{index}-order": index,
        }
    return data


def test_derived_definition_inputs_are_checked_against_the_kind(staff_client, catalogue):
    output = IndicatorFactory(unit="percent")
    active = Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    registered = Indicator.objects.get(code="REGISTERED_PARTICIPANTS")
    url = reverse("admin:stats_deriveddefinition_add")
    response = staff_client.post(url, definition_data(output, [("x", active)]))
    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert "ratio needs one input with role a and one with role b" in errors[0]
    assert not DerivedDefinition.objects.filter(indicator=output).exists()
    response = staff_client.post(url, definition_data(output, [("a", active), ("b", registered)]))
    assert response.status_code == 302
    definition = DerivedDefinition.objects.get(indicator=output)
    assert sorted(definition.inputs.values_list("role", flat=True)) == ["a", "b"]


def test_indicator_keeps_the_frequencies_its_series_use(staff_client, published):
    indicator = Indicator.objects.get(code="ACTIVE_PARTICIPANTS")
    url = reverse("admin:stats_indicator_change", args=[indicator.pk])
    data = {
        "topic": indicator.topic_id,
        "unit": indicator.unit,
        "measure_kind": indicator.measure_kind,
        "frequencies": "m",
        "decimals": 0,
        "name_id": indicator.name_id,
        "name_en": indicator.name_en,
    }
    response = staff_client.post(url, data)
    assert "tahunan" in response.context["adminform"].form.errors["frequencies"][0]
    response = staff_client.post(url, {**data, "frequencies": "am"})
    assert response.status_code == 302
    indicator.refresh_from_db()
    assert indicator.frequencies == "AM"


# -- languages -------------------------------------------------------------------------------


def test_admin_is_in_indonesian_by_default(staff_client, catalogue):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Indikator" in html and "Observasi" in html and "Daftar kode" in html
    assert "Indicators" not in html


def test_admin_is_in_english_with_accept_language(staff_client, catalogue):
    html = staff_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Indicators" in html and "Observations" in html


def test_admin_is_in_english_with_the_language_cookie(staff_client, catalogue, settings):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "Indicators" in html and "Indikator" not in html


def test_search_terms_are_edited_in_the_admin_and_searched(staff_client, published):
    national = Code.objects.get(codelist_id="region", code="ID")
    assert codes_search(query="tanah air", limit=5) == []
    response = staff_client.post(
        reverse("admin:stats_code_change", args=[national.pk]),
        {
            "alt_code": "ID",
            "parent": "",
            "is_total": "on",
            "order": 0,
            "name_id": "Indonesia",
            "name_en": "Indonesia",
            "search_terms_id": "tanah air, nasional",
            "search_terms_en": "homeland",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [found.code.code for found in codes_search(query="Tanah Air", limit=5)] == ["ID"]
    assert [found.code.code for found in codes_search(query="homeland", limit=5)] == ["ID"]
    for url in (
        reverse("admin:stats_indicator_change", args=[national_series().indicator_id]),
        reverse("admin:stats_codelist_change", args=["region"]),
    ):
        html = staff_client.get(url).content.decode()
        assert 'name="search_terms_id"' in html and 'name="search_terms_en"' in html
