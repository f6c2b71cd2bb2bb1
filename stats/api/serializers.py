"""Serializers of the statistics API: explicit fields, names in the language asked for.

Observation rows are not serialized here: their columns are declared in ``rows`` and
written by the statements of ``statements``; ``ObservationSerializer`` describes them
for the schema. Values are exact text (``exact_text``): "12.9", "1001000000000000",
never a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.urls import reverse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stats.derived.provenance import definition_formula
from stats.models import Code, CodeList, Indicator, Series, Target, Topic, exact_text
from stats.selectors import (
    codes_in_use,
    derived_indicators_public,
    indicator_next_release,
    lookalikes_public,
    series_with_latest_public,
    total_codes,
)

from .rows import COLUMNS, DATE, DIMENSIONS, FORMULA, INPUTS, INSTANT, Column, instant_text

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class LatestAnnotations(TypedDict):
    """What ``series_with_latest_public`` annotates a series with."""

    latest_period: str | None
    latest_value: Decimal
    latest_status: str
    latest_published_at: dt.datetime


@extend_schema_field(OpenApiTypes.URI)
class ResourceUrlField(serializers.Field):
    """The absolute URL of a resource, without the format of the current request
    (DRF's hyperlinked fields would carry ``?format=csv`` into every link)."""

    def __init__(self, view_name: str, lookup_field: str = "pk", **kwargs):
        self.view_name = view_name
        self.lookup_field = lookup_field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        url = reverse(self.view_name, args=[getattr(value, self.lookup_field)])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class DimensionCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ProvenanceInputSerializer(serializers.Serializer):
    api_description = "One input a derived value was computed from, as it was used."

    role = serializers.CharField(help_text="Its role in the formula: x, a, b or term.")
    indicator = serializers.CharField(help_text="Indicator code.")
    series_key = serializers.CharField(help_text="e.g. region=ID,segment=_T,program=_T")
    period = serializers.CharField()
    value = serializers.CharField(help_text="The exact value used, as text with a dot decimal.")
    release = serializers.CharField(
        allow_null=True, help_text="Slug of the release that published the value used."
    )


def _observation_field(column: Column) -> serializers.Field:
    if column.kind == FORMULA:
        return serializers.CharField(allow_null=True, help_text=column.help_text)
    if column.kind == INPUTS:
        return serializers.ListField(
            child=ProvenanceInputSerializer(), allow_null=True, help_text=column.help_text
        )
    if column.kind == DIMENSIONS:
        return serializers.DictField(child=DimensionCodeSerializer(), help_text=column.help_text)
    if column.kind == DATE:
        return serializers.DateField(allow_null=column.usual is None, help_text=column.help_text)
    if column.kind == INSTANT:
        return serializers.DateTimeField(
            allow_null=column.usual is None, help_text=column.help_text
        )
    return serializers.CharField(help_text=column.help_text)


# One published value, for the schema: the columns of ``rows.COLUMNS`` (the statements
# in ``stats.api.statements`` write the rows).
ObservationSerializer = type(
    "ObservationSerializer",
    (serializers.Serializer,),
    {column.name: _observation_field(column) for column in COLUMNS},
)


class WideColumnSerializer(serializers.Serializer):
    series_key = serializers.CharField()
    dimensions = serializers.DictField(child=DimensionCodeSerializer())


class WideRowSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    values = serializers.ListField(
        child=serializers.CharField(allow_null=True), help_text="One per column, null if none."
    )


class WideTableSerializer(serializers.Serializer):
    """``layout=wide``: one indicator, periods as rows and series as columns."""

    api_description = (
        "layout=wide: one indicator as a table, its periods as rows and its series as "
        "columns (`values` in the order of `columns`, null where a series has no value)."
    )

    indicator = serializers.CharField()
    frequency = serializers.CharField()
    unit = serializers.CharField()
    columns = WideColumnSerializer(many=True)
    rows = WideRowSerializer(many=True)


class TopicSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Topic
        fields = ["code", "name", "name_id", "name_en"]


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()
    topic = TopicSerializer(read_only=True)
    frequencies = serializers.SerializerMethodField()
    frequency = serializers.CharField(read_only=True, help_text="The main frequency.")
    derived = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    url = ResourceUrlField("stats-api:indicator-detail", lookup_field="code")

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "name_id",
            "name_en",
            "description",
            "topic",
            "unit",
            "measure_kind",
            "frequency",
            "frequencies",
            "decimals",
            "source",
            "derived",
            "dimensions",
            "url",
        ]

    def get_description(self, indicator: Indicator) -> str:
        return indicator.localized("description")

    def get_frequencies(self, indicator: Indicator) -> list[str]:
        return list(indicator.frequencies)

    def get_derived(self, indicator: Indicator) -> bool:
        return getattr(indicator, "derivation", None) is not None

    def get_dimensions(self, indicator: Indicator) -> list[str]:
        return [codelist.id for codelist in indicator.dimensions.all()]


class CodeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    # A declared field that DRF's metaclass takes out of the class; the stubs see the
    # serializer's own ``parent`` (the enclosing serializer) in its name.
    parent: serializers.SlugRelatedField[Code] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="The code this one belongs to, or null.",
    )

    class Meta:
        model = Code
        fields = ["code", "name", "name_id", "name_en", "alt_code", "parent", "is_total", "order"]


class TargetSerializer(serializers.ModelSerializer):
    series_key = serializers.CharField(source="series.key", read_only=True)
    frequency = serializers.CharField(source="series.frequency", read_only=True)
    # Not get_value: that is the method by which a serializer used as a field reads input.
    value = serializers.SerializerMethodField(method_name="get_value_text")

    class Meta:
        model = Target
        fields = ["series_key", "frequency", "period", "value", "document", "note"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_value_text(self, target: Target) -> str:
        return exact_text(target.value)


class LatestValueSerializer(serializers.Serializer):
    period = serializers.CharField()
    value = serializers.CharField()
    status = serializers.CharField()
    published_at = serializers.DateTimeField()


class SeriesSerializer(serializers.ModelSerializer):
    """A series with its latest public value (annotated by ``series_with_latest_public``)."""

    api_description = (
        "One indicator at one frequency and one code per code list, with its latest public "
        "value (null if it has none yet)."
    )

    indicator = serializers.CharField(source="indicator.code", read_only=True)
    series_key = serializers.CharField(source="key", read_only=True)
    dimensions = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField()

    class Meta:
        model = Series
        fields = ["indicator", "frequency", "series_key", "dimensions", "latest"]

    @extend_schema_field(serializers.DictField(child=DimensionCodeSerializer()))
    def get_dimensions(self, series: Series) -> dict:
        return self.context["rows"].dimensions(series.dimensions)

    @extend_schema_field(LatestValueSerializer(allow_null=True))
    def get_latest(self, series: WithAnnotations[Series, LatestAnnotations]) -> dict | None:
        if getattr(series, "latest_period", None) is None:
            return None
        return {
            "period": series.latest_period,
            "value": exact_text(series.latest_value),
            "status": series.latest_status,
            "published_at": instant_text(series.latest_published_at),
        }


class DimensionInUseSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    codes = CodeSerializer(many=True)


class DerivationInputSerializer(serializers.Serializer):
    role = serializers.CharField()
    indicator = serializers.CharField()
    codes = serializers.DictField(child=serializers.CharField())


class DerivationSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_name = serializers.CharField()
    periods = serializers.IntegerField()
    years = serializers.IntegerField()
    scale = serializers.CharField()
    formula = serializers.CharField()
    inputs = DerivationInputSerializer(many=True)


class LookalikeSerializer(serializers.Serializer):
    api_description = (
        "An indicator readers may take for this one (reported and computed, another "
        "denominator), as its page shows it: both national annual values at the latest "
        "year both have, and why they differ."
    )

    indicator = serializers.CharField(help_text="Its code.")
    name = serializers.CharField()
    url = serializers.URLField(help_text="Its resource in this API.")
    period = serializers.CharField(
        allow_null=True, help_text="The latest year both have a national value for, or null."
    )
    value = serializers.CharField(
        allow_null=True, help_text="This indicator's value then, exact text; null if none."
    )
    other_value = serializers.CharField(
        allow_null=True, help_text="The other indicator's value then, exact text; null if none."
    )
    note = serializers.CharField(help_text="Why the two differ, in the language asked for.")


class NextReleaseSerializer(serializers.Serializer):
    api_description = "The release scheduled to update the indicator next."

    slug = serializers.CharField(help_text="Its slug, as in the calendar.")
    scheduled_for = serializers.DateTimeField(help_text="Its release time.")
    url = serializers.URLField(help_text="Its page, public from its release time.")


class IndicatorDetailSerializer(IndicatorSerializer):
    methodology = serializers.SerializerMethodField(
        help_text="How it is measured, in the language asked for (the Indonesian text when "
        "there is no English one), as the methodology page shows it; empty if none."
    )
    methodology_url = serializers.SerializerMethodField()
    compare_with = serializers.SerializerMethodField()
    used_by = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    series = serializers.SerializerMethodField()
    targets = TargetSerializer(many=True, source="public_targets", read_only=True)
    derivation = serializers.SerializerMethodField()
    next_release = serializers.SerializerMethodField()

    class Meta(IndicatorSerializer.Meta):
        fields = [
            *IndicatorSerializer.Meta.fields,
            "description_id",
            "description_en",
            "methodology",
            "methodology_id",
            "methodology_en",
            "methodology_url",
            "compare_with",
            "used_by",
            "series",
            "targets",
            "derivation",
            "next_release",
        ]

    @extend_schema_field(NextReleaseSerializer(allow_null=True))
    def get_next_release(self, indicator: Indicator) -> dict | None:
        """The soonest scheduled release with values of it, or null."""
        scheduled = indicator_next_release(indicator=indicator)
        if scheduled is None:
            return None
        request = self.context.get("request")
        path = scheduled.path
        return {
            "slug": scheduled.slug,
            "scheduled_for": serializers.DateTimeField().to_representation(scheduled.scheduled_for),
            "url": request.build_absolute_uri(path) if request is not None else path,
        }

    def get_methodology(self, indicator: Indicator) -> str:
        return indicator.localized("methodology")

    @extend_schema_field(OpenApiTypes.URI)
    def get_methodology_url(self, indicator: Indicator) -> str:
        """Its definition on the methodology page of its topic, in the language asked for."""
        path = reverse("stats:methodology-topic", args=[indicator.topic.code])
        request = self.context.get("request")
        url = request.build_absolute_uri(path) if request is not None else path
        return f"{url}#def-{indicator.code}"

    @extend_schema_field(LookalikeSerializer(many=True))
    def get_compare_with(self, indicator: Indicator) -> list[dict]:
        found = lookalikes_public(
            indicator=indicator,
            totals=total_codes(codelist_ids=[c.id for c in indicator.dimensions.all()]),
        )
        return [
            {
                "indicator": item["other"].code,
                "name": item["other"].name,
                "url": self._indicator_url(item["other"]),
                "period": item["period"],
                "value": exact_text(item["value"]) if item["value"] is not None else None,
                "other_value": (
                    exact_text(item["other_value"]) if item["other_value"] is not None else None
                ),
                "note": item["note"],
            }
            for item in found
        ]

    @extend_schema_field(
        serializers.ListField(
            child=serializers.CharField(),
            help_text="Codes of the public derived indicators computed from this one.",
        )
    )
    def get_used_by(self, indicator: Indicator) -> list[str]:
        return list(derived_indicators_public(indicator=indicator).values_list("code", flat=True))

    def _indicator_url(self, indicator: Indicator) -> str:
        path = reverse("stats-api:indicator-detail", args=[indicator.code])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    # The detail redeclares the ``dimensions`` method field, with richer rows.
    @extend_schema_field(DimensionInUseSerializer(many=True))
    def get_dimensions(self, indicator: Indicator) -> list[dict]:  # type: ignore[override]
        """Each code list of the key with the codes that public series use."""
        in_use: dict[str, list[Code]] = {}
        for code in codes_in_use(indicator_id=indicator.pk).select_related("parent"):
            in_use.setdefault(code.codelist_id, []).append(code)
        return [
            {
                "id": codelist.id,
                "name": codelist.name,
                "codes": CodeSerializer(in_use.get(codelist.id, []), many=True).data,
            }
            for codelist in indicator.dimensions.all()
        ]

    @extend_schema_field(SeriesSerializer(many=True))
    def get_series(self, indicator: Indicator) -> list[dict]:
        from stats.selectors import series_public

        queryset = series_with_latest_public(
            queryset=series_public().filter(indicator=indicator).select_related("indicator")
        ).order_by("frequency", "key")
        # many=True makes a ListSerializer, whose data is a list; the stubs give the
        # child's type (a dict).
        return SeriesSerializer(  # type: ignore[return-value]
            queryset, many=True, context=self.context
        ).data

    @extend_schema_field(DerivationSerializer(allow_null=True))
    def get_derivation(self, indicator: Indicator) -> dict | None:
        derivation = getattr(indicator, "derivation", None)
        if derivation is None:
            return None
        return {
            "kind": derivation.kind,
            "kind_name": str(derivation.get_kind_display()),
            "periods": derivation.periods,
            "years": derivation.years,
            "scale": exact_text(derivation.scale),
            "formula": definition_formula(derivation, language=translation.get_language() or "id"),
            "inputs": [
                {"role": item.role, "indicator": item.indicator.code, "codes": item.codes}
                for item in derivation.inputs.select_related("indicator")
            ],
        }


class CodeListSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()
    code_count = serializers.IntegerField(read_only=True)
    url = ResourceUrlField("stats-api:codelist-detail")

    class Meta:
        model = CodeList
        fields = ["id", "name", "name_id", "name_en", "description", "code_count", "url"]

    def get_description(self, codelist: CodeList) -> str:
        return codelist.localized("description")


class CodeListDetailSerializer(CodeListSerializer):
    codes = CodeSerializer(many=True, read_only=True)

    class Meta(CodeListSerializer.Meta):
        fields = [*CodeListSerializer.Meta.fields, "description_id", "description_en", "codes"]


class VintageSerializer(serializers.Serializer):
    api_description = "One vintage of a series: an instant at which some of its values "
    "became public."

    published_at = serializers.DateTimeField(help_text="When these values became public.")
    release = serializers.CharField(
        allow_null=True, help_text="Slug of the release that published them."
    )


class SeriesVintagesSerializer(serializers.Serializer):
    api_description = (
        "The vintage dates of one series (ALFRED's vintages): each instant at which some of "
        "its values were published or revised, oldest first."
    )

    indicator = serializers.CharField(help_text="Indicator code.")
    frequency = serializers.CharField(help_text="A, S, Q or M.")
    series_key = serializers.CharField(help_text="e.g. region=ID,segment=_T,program=_T")
    observations = serializers.URLField(
        help_text="Its values, as published now; add `as_of` with a vintage's instant "
        "for the values of that vintage."
    )
    vintages = VintageSerializer(many=True)
