"""Load the catalogue of the demo data set: code lists, indicators, derived definitions,
targets, and the rows of its figures (the 2023 release, the history, illustrative series).

Idempotent: everything is upserted on its natural keys, so loading twice changes
nothing. The demo's releases and news releases, which publish these rows, are loaded by
publications.demo.loader (``demo_load``).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ..derived import definition_validate
from ..models import (
    Code,
    CodeList,
    DerivedDefinition,
    DerivedInput,
    Indicator,
    Target,
    TextTranslation,
    Topic,
)
from ..periods import parse_period
from ..services import series_get_or_create
from . import catalogue

DATA = Path(__file__).resolve().parent
# The columns of the demo rows, as observations_import reads them.
COLUMNS = [
    "indicator",
    "region",
    "segment",
    "program",
    "period",
    "value",
    "status",
    "note",
    "source",
]


def data_read(name: str) -> list[dict[str, str]]:
    """The rows of one of the demo's CSV files beside this module."""
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def figures_2023() -> list[dict[str, str]]:
    return data_read("figures-2023.csv")


def codelists_load() -> None:
    for record in catalogue.CODELISTS:
        CodeList.objects.update_or_create(id=record["id"], defaults=_fields(record, "id", "codes"))
    national, _ = Code.objects.update_or_create(
        codelist_id="region",
        code="ID",
        defaults={
            "name_id": "Indonesia",
            "name_en": "Indonesia",
            "alt_code": "ID",
            "is_total": True,
            "order": 0,
            **catalogue.REGION_SEARCH_TERMS.get("ID", {}),
        },
    )
    for order, province in enumerate(data_read("provinces.csv"), start=1):
        Code.objects.update_or_create(
            codelist_id="region",
            code=province["bps_code"],
            defaults={
                "name_id": province["name"],
                "name_en": province["name"],
                "alt_code": province["iso_3166_2"],
                "parent": national,
                "order": order,
                **catalogue.REGION_SEARCH_TERMS.get(province["bps_code"], {}),
            },
        )
    for record in catalogue.CODELISTS:
        for order, code in enumerate(record.get("codes", [])):
            Code.objects.update_or_create(
                codelist_id=record["id"],
                code=code["code"],
                defaults={**_fields(code, "code"), "order": order},
            )


def _fields(record: dict, *leave_out: str) -> dict:
    """A catalogue record's model fields: every key but the natural key and nested tables."""
    return {k: v for k, v in record.items() if k not in leave_out}


def indicators_load() -> None:
    for order, topic in enumerate(catalogue.TOPICS):
        Topic.objects.update_or_create(
            code=topic["code"], defaults={**_fields(topic, "code"), "order": order}
        )
    dimensions = list(CodeList.objects.filter(id__in=["region", "segment", "program"]))
    topics = {topic.code: topic for topic in Topic.objects.all()}
    for record in catalogue.INDICATORS:
        indicator, _ = Indicator.objects.update_or_create(
            code=record["code"],
            defaults={
                **_fields(record, "code", "derived", "compare_with"),
                "topic": topics[record["topic"]],
                "source": "BPJS Ketenagakerjaan (press reports)",
            },
        )
        indicator.dimensions.set(dimensions)
    for record in catalogue.INDICATORS:
        if "compare_with" in record:
            Indicator.objects.filter(code=record["code"]).update(
                compare_with=Indicator.objects.get(code=record["compare_with"])
            )


def text_translations_load() -> None:
    """The demo's notes and sources in both languages (stored in English on the rows)."""
    rows = [(text, text_id, text) for text, text_id in catalogue.TEXT_TRANSLATIONS.items()]
    rows += [
        (text, text_id, text_en) for text, (text_id, text_en) in catalogue.LEGACY_TEXTS.items()
    ]
    for text, text_id, text_en in rows:
        TextTranslation.objects.update_or_create(
            text=text, defaults={"text_id": text_id, "text_en": text_en}
        )


def derived_definitions_load() -> None:
    """The demo's derived definitions (upserted; inputs replaced), validated like admin input."""
    for record in catalogue.INDICATORS:
        if "derived" not in record:
            continue
        derived = record["derived"]
        definition, _ = DerivedDefinition.objects.update_or_create(
            indicator=Indicator.objects.get(code=record["code"]),
            defaults={
                "kind": derived["kind"],
                "periods": derived.get("periods", 1),
                "years": derived.get("years", 1),
                "scale": Decimal(derived.get("scale", 1)),
            },
        )
        new_inputs = [
            DerivedInput(
                definition=definition,
                role=term["role"],
                order=order,
                codes=term["codes"],
                indicator=Indicator.objects.get(code=term["indicator"]),
            )
            for order, term in enumerate(derived["inputs"])
        ]
        definition_validate(definition=definition, inputs=new_inputs)
        definition.inputs.all().delete()
        DerivedInput.objects.bulk_create(new_inputs)


def targets_load() -> None:
    for row in data_read("targets.csv"):
        indicator = Indicator.objects.get(code=row["indicator"])
        period = parse_period(row["period"])
        series = series_get_or_create(
            indicator=indicator,
            frequency=period.frequency,
            dimensions={
                "region": row["region"],
                "segment": row["segment"],
                "program": row["program"],
            },
        )
        Target.objects.update_or_create(
            series=series,
            period=period.code,
            defaults={
                "period_start": period.start,
                "value": Decimal(row["value"]),
                "document": row["document"],
                "note": row["note"],
            },
        )


def _year_end(history: list[dict[str, str]], indicator: str) -> dict[int, Decimal]:
    return {
        int(r["period"]): Decimal(r["value"])
        for r in history
        if r["indicator"] == indicator
        and r["segment"] == "_T"
        and r["program"] == "_T"
        and r["region"] == "ID"
    }


def _monthly_path(
    points: dict[dt.date, Decimal], rng: random.Random, first: int, last: int
) -> dict[str, Decimal]:
    """Monthly values through known points (linear between them, small noise between)."""
    anchors = sorted(points.items())
    values = {}
    for year in range(first, last + 1):
        for month in range(1, 13):
            day = dt.date(year, month, 1)
            before = max((a for a in anchors if a[0] <= day), default=anchors[0])
            after = min((a for a in anchors if a[0] >= day), default=anchors[-1])
            if before[0] == after[0]:
                value = before[1]
            else:
                span = (after[0] - before[0]).days
                weight = Decimal((day - before[0]).days) / Decimal(span)
                value = before[1] + (after[1] - before[1]) * weight
                value *= Decimal(1 + rng.uniform(-0.004, 0.004))
            values[f"{year}-{month:02d}"] = value
    return values


def _anchor_points(
    annual: dict[int, Decimal], mid_year: dict[int, Decimal]
) -> dict[dt.date, Decimal]:
    points = {dt.date(year, 12, 1): value for year, value in annual.items()}
    points.update({dt.date(year, 6, 1): value for year, value in mid_year.items()})
    return points


def _split(total: Decimal, weights: dict[str, float]) -> dict[str, int]:
    """Split an integer total by weights so the parts add up exactly (largest remainder)."""
    whole = int(total)
    weight_sum = sum(weights.values())
    raw = {k: whole * w / weight_sum for k, w in weights.items()}
    parts = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - parts[k], reverse=True)[
        : whole - sum(parts.values())
    ]:
        parts[k] += 1
    return parts


def illustrative_rows(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """Monthly national series and an annual provincial split, built around the facts."""
    rng = random.Random(2023)
    rows = []
    note = "illustrative: interpolated between reported figures, not an official value"
    participants = _year_end(history, "ACTIVE_PARTICIPANTS")
    participants = {y: v for y, v in participants.items() if y >= 2017}
    funds = _year_end(history, "FUNDS_UNDER_MANAGEMENT")
    series_specs = (
        ("ACTIVE_PARTICIPANTS", participants, {2023: Decimal(40_000_000)}, 2018, 2024),
        ("FUNDS_UNDER_MANAGEMENT", funds, {2023: Decimal(686_000_000_000_000)}, 2017, 2023),
    )
    for indicator, annual, mid_year, first, last in series_specs:
        path = _monthly_path(_anchor_points(annual, mid_year), rng, first, last)
        for period, value in path.items():
            rounded = value.quantize(
                Decimal(1) if indicator == "ACTIVE_PARTICIPANTS" else Decimal(1_000_000_000),
                rounding=ROUND_HALF_UP,
            )
            rows.append(
                {
                    "indicator": indicator,
                    "region": "ID",
                    "segment": "_T",
                    "program": "_T",
                    "period": period,
                    "value": str(int(rounded)),
                    "status": "estimate",
                    "note": note,
                    "source": catalogue.ILLUSTRATIVE_SOURCE,
                }
            )
    for year, total in sorted(participants.items()):
        if year < 2019:
            continue
        for code, share in _split(total, catalogue.PROVINCE_WEIGHTS).items():
            rows.append(
                {
                    "indicator": "ACTIVE_PARTICIPANTS",
                    "region": code,
                    "segment": "_T",
                    "program": "_T",
                    "period": str(year),
                    "value": str(share),
                    "status": "estimate",
                    "note": "illustrative: national figure split by workforce weights",
                    "source": catalogue.ILLUSTRATIVE_SOURCE,
                }
            )
    return rows
