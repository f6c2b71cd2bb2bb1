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
from typing import TypeVar

from django.db.models import Model

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

M = TypeVar("M", bound=Model)
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
    _upsert(CodeList, ["id"], [_fields(record, "codes") for record in catalogue.CODELISTS])
    (national,) = _upsert(
        Code,
        ["codelist", "code"],
        [
            {
                "codelist_id": "region",
                "code": "ID",
                "name_id": "Indonesia",
                "name_en": "Indonesia",
                "alt_code": "ID",
                "is_total": True,
                "order": 0,
                **catalogue.REGION_SEARCH_TERMS.get("ID", {}),
            }
        ],
    )
    provinces = [
        {
            "codelist_id": "region",
            "code": province["bps_code"],
            "name_id": province["name"],
            "name_en": province["name"],
            "alt_code": province["iso_3166_2"],
            "parent": national,
            "order": order,
            **catalogue.REGION_SEARCH_TERMS.get(province["bps_code"], {}),
        }
        for order, province in enumerate(data_read("provinces.csv"), start=1)
    ]
    codes = [
        {"codelist_id": record["id"], **code, "order": order}
        for record in catalogue.CODELISTS
        for order, code in enumerate(record.get("codes", []))
    ]
    _upsert(Code, ["codelist", "code"], provinces + codes)


def _fields(record: dict, *leave_out: str) -> dict:
    """A catalogue record's model fields: every key but the nested tables and derived data."""
    return {k: v for k, v in record.items() if k not in leave_out}


def _upsert(model: type[M], unique_fields: list[str], records: list[dict]) -> list[M]:
    """``update_or_create`` of many records on their natural key (``unique_fields``), one
    INSERT ... ON CONFLICT per set of fields given: a field a record leaves out keeps
    its stored value, as with ``update_or_create``. Returns the rows in no set order.

    Why not ``update_or_create`` in a loop: the catalogue is loaded by most tests, and
    two to four statements per code made it most of their set-up time."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for record in records:
        groups.setdefault(tuple(sorted(record)), []).append(record)
    # Saved like update_or_create saves: auto_now fields (updated_at) move on an update.
    touched = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    rows: list[M] = []
    for names, group in groups.items():
        # get_field knows a foreign key by its name and by its column (codelist_id).
        given = [model._meta.get_field(name).name for name in names]
        rows += model._default_manager.bulk_create(
            [model(**record) for record in group],
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=[name for name in given if name not in unique_fields] + touched,
        )
    return rows


def indicators_load() -> None:
    topics = {
        topic.code: topic
        for topic in _upsert(
            Topic,
            ["code"],
            [{**topic, "order": order} for order, topic in enumerate(catalogue.TOPICS)],
        )
    }
    indicators = {
        indicator.code: indicator
        for indicator in _upsert(
            Indicator,
            ["code"],
            [
                {
                    **_fields(record, "derived", "compare_with"),
                    "topic": topics[record["topic"]],
                    "source": "BPJS Ketenagakerjaan (press reports)",
                }
                for record in catalogue.INDICATORS
            ],
        )
    }
    # Every demo indicator has the three dimensions, and only them (``dimensions.set``).
    dimensions = ["region", "segment", "program"]
    through = Indicator.dimensions.through
    ids = [indicator.pk for indicator in indicators.values()]
    through.objects.filter(indicator_id__in=ids).exclude(codelist_id__in=dimensions).delete()
    through.objects.bulk_create(
        [through(indicator_id=i, codelist_id=d) for i in ids for d in dimensions],
        ignore_conflicts=True,
    )
    for record in catalogue.INDICATORS:
        if "compare_with" in record:
            Indicator.objects.filter(code=record["code"]).update(
                compare_with=indicators[record["compare_with"]]
            )


def text_translations_load() -> None:
    """The demo's notes and sources in both languages (stored in English on the rows)."""
    rows = [(text, text_id, text) for text, text_id in catalogue.TEXT_TRANSLATIONS.items()]
    rows += [
        (text, text_id, text_en) for text, (text_id, text_en) in catalogue.LEGACY_TEXTS.items()
    ]
    _upsert(
        TextTranslation,
        ["text"],
        [{"text": text, "text_id": text_id, "text_en": text_en} for text, text_id, text_en in rows],
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
