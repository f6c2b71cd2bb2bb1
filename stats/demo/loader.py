"""Load the demo data set through the same import and publish services staff use.

Idempotent: code lists, indicators and targets are upserted on their natural keys,
and a release that is already published is left alone, so loading twice changes
nothing. Every value goes through ``observations_import`` (so the demo obeys the
same validation as a staff upload) and becomes public through ``release_publish``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction

from publications.choices import ReleaseStatus
from publications.models import NewsRelease, Release
from publications.services import release_create, release_publish

from ..derived import definition_validate, derived_precompute
from ..models import Code, CodeList, DerivedDefinition, DerivedInput, Indicator, Target, Topic
from ..periods import parse_period
from ..services import observations_import, series_get_or_create
from . import catalogue
from .news import NEWS

DATA = Path(__file__).resolve().parent
WIB = ZoneInfo("Asia/Jakarta")
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


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def figures_2023() -> list[dict[str, str]]:
    return _read("figures-2023.csv")


def codelists_load() -> None:
    for codelist_id, name_id, name_en, order in catalogue.CODELISTS:
        CodeList.objects.update_or_create(
            id=codelist_id, defaults={"name_id": name_id, "name_en": name_en, "order": order}
        )
    national, _ = Code.objects.update_or_create(
        codelist_id="region",
        code="ID",
        defaults={
            "name_id": "Indonesia",
            "name_en": "Indonesia",
            "alt_code": "ID",
            "is_total": True,
            "order": 0,
        },
    )
    for order, province in enumerate(_read("provinces.csv"), start=1):
        Code.objects.update_or_create(
            codelist_id="region",
            code=province["bps_code"],
            defaults={
                "name_id": province["name"],
                "name_en": province["name"],
                "alt_code": province["iso_3166_2"],
                "parent": national,
                "order": order,
            },
        )
    for codelist_id, codes in (("segment", catalogue.SEGMENTS), ("program", catalogue.PROGRAMS)):
        for order, (code, name_id, name_en, is_total) in enumerate(codes):
            Code.objects.update_or_create(
                codelist_id=codelist_id,
                code=code,
                defaults={
                    "name_id": name_id,
                    "name_en": name_en,
                    "is_total": is_total,
                    "order": order,
                },
            )


def indicators_load() -> None:
    for order, (code, name_id, name_en, description_id, description_en) in enumerate(
        catalogue.TOPICS
    ):
        Topic.objects.update_or_create(
            code=code,
            defaults={
                "name_id": name_id,
                "name_en": name_en,
                "order": order,
                "description_id": description_id,
                "description_en": description_en,
            },
        )
    dimensions = list(CodeList.objects.filter(id__in=["region", "segment", "program"]))
    for (
        code,
        topic,
        unit,
        measure,
        frequencies,
        decimals,
        negative,
        name_id,
        name_en,
        description_id,
        description_en,
    ) in catalogue.INDICATORS + catalogue.DERIVED_INDICATORS:
        indicator, _ = Indicator.objects.update_or_create(
            code=code,
            defaults={
                "topic": Topic.objects.get(code=topic),
                "unit": unit,
                "measure_kind": measure,
                "frequencies": frequencies,
                "decimals": decimals,
                "negative_allowed": negative,
                "name_id": name_id,
                "name_en": name_en,
                "description_id": description_id,
                "description_en": description_en,
                "source": "BPJS Ketenagakerjaan (press reports)",
            },
        )
        indicator.dimensions.set(dimensions)


def derived_definitions_load() -> None:
    """The demo's derived definitions (upserted; inputs replaced), validated like admin input."""
    for code, kind, parameters, inputs in catalogue.DERIVED:
        indicator = Indicator.objects.get(code=code)
        definition, _ = DerivedDefinition.objects.update_or_create(
            indicator=indicator,
            defaults={
                "kind": kind,
                "periods": parameters.get("periods", 1),
                "years": parameters.get("years", 1),
                "scale": Decimal(parameters.get("scale", 1)),
            },
        )
        new_inputs = [
            DerivedInput(
                definition=definition,
                role=role,
                order=order,
                codes=codes,
                indicator=Indicator.objects.get(code=input_code),
            )
            for order, (role, input_code, codes) in enumerate(inputs)
        ]
        definition_validate(definition=definition, inputs=new_inputs)
        definition.inputs.all().delete()
        DerivedInput.objects.bulk_create(new_inputs)


def targets_load() -> None:
    for row in _read("targets.csv"):
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


def news_releases_load(*, release: Release) -> None:
    """The demo news releases of ``release``, published with it."""
    for spec in NEWS.get(release.slug, []):
        news, _ = NewsRelease.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "release": release,
                "language": spec["language"],
                "title": spec["title"],
                "lead": spec["lead"],
                "body": spec["body"],
            },
        )
        news.indicators.set(Indicator.objects.filter(code__in=spec["indicators"]))


def _history_row(row: dict[str, str]) -> dict[str, str]:
    confidence = row["confidence"]
    note = row["note"]
    if confidence == "low":
        note = (
            f"{note}; low confidence (secondary report)"
            if note
            else "low confidence (secondary report)"
        )
    return {
        "indicator": row["indicator"],
        "region": row["region"],
        "segment": row["segment"],
        "program": row["program"],
        "period": row["period"],
        "value": row["value"],
        "status": "provisional" if confidence == "low" else "normal",
        "note": note,
        "source": row["source"],
    }


def _release_plan() -> list[dict]:
    """The demo releases in publication order, each with its rows."""
    history = _read("history.csv")
    by_year: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in history:
        by_year[int(row["period"][:4])].append(_history_row(row))
    plan = []
    for year in sorted(y for y in by_year if y <= 2022):
        rows = by_year[year]
        if year == 2021:
            # The 2021 funds figure was first reported unaudited (Rp553.5 trillion), then
            # audited (Rp554.21 trillion): the demo keeps both as vintages.
            rows = [
                dict(
                    r,
                    value="553500000000000",
                    status="provisional",
                    note="unaudited; later revised by the audited figure",
                )
                if r["indicator"] == "FUNDS_UNDER_MANAGEMENT" and r["program"] == "_T"
                else r
                for r in rows
            ]
        plan.append(
            {
                "slug": f"angka-tahunan-{year}",
                "title_id": f"Angka tahunan {year}",
                "title_en": f"Annual figures {year}",
                "at": dt.datetime(year + 1, 2, 15, 10, 0, tzinfo=WIB),
                "rows": rows,
            }
        )
        if year == 2021:
            audited = [
                r
                for r in by_year[2021]
                if r["indicator"] == "FUNDS_UNDER_MANAGEMENT" and r["program"] == "_T"
            ]
            plan.append(
                {
                    "slug": "dana-kelolaan-2021-audit",
                    "title_id": "Dana kelolaan 2021 (angka audit)",
                    "title_en": "Funds under management 2021 (audited)",
                    "at": dt.datetime(2022, 6, 30, 10, 0, tzinfo=WIB),
                    "rows": [
                        dict(
                            r,
                            status="normal",
                            note="audited; replaces the unaudited Rp553.5 trillion",
                        )
                        for r in audited
                    ],
                }
            )
    figures = [{k: row[k] for k in COLUMNS} for row in figures_2023()]
    # The release states 40 million members as "40 percent" of eligible workers: the
    # denominator it implies is carried as an estimate so coverage can be recomputed.
    figures.append(
        {
            "indicator": "ELIGIBLE_WORKERS",
            "region": "ID",
            "segment": "_T",
            "program": "_T",
            "period": "2023",
            "value": "100000000",
            "status": "estimate",
            "note": "implied by the release: 40 million members stated as 40 percent",
            "source": "ANTARA 2023 (implied)",
        }
    )
    plan.append(
        {
            "slug": "antara-2023-ikn",
            "title_id": "Rilis BPJAMSOSTEK 2023: peletakan batu pertama gedung di IKN",
            "title_en": "BPJAMSOSTEK 2023 release: groundbreaking of the IKN building",
            "at": dt.datetime(2023, 12, 15, 10, 0, tzinfo=WIB),
            "rows": figures,
        }
    )
    for year in (2023, 2024):
        plan.append(
            {
                "slug": f"angka-tahunan-{year}",
                "title_id": f"Angka tahunan {year}",
                "title_en": f"Annual figures {year}",
                "at": dt.datetime(year + 1, 2, 15, 10, 0, tzinfo=WIB),
                "rows": by_year[year],
            }
        )
    plan.append(
        {
            "slug": "ilustrasi-bulanan-provinsi",
            "title_id": "Ilustrasi: seri bulanan dan provinsi",
            "title_en": "Illustrative monthly and provincial series",
            "at": dt.datetime(2025, 3, 3, 10, 0, tzinfo=WIB),
            "rows": illustrative_rows(history),
            "source": catalogue.ILLUSTRATIVE_SOURCE,
        }
    )
    return plan


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
        for code, value in _split(total, catalogue.PROVINCE_WEIGHTS).items():
            rows.append(
                {
                    "indicator": "ACTIVE_PARTICIPANTS",
                    "region": code,
                    "segment": "_T",
                    "program": "_T",
                    "period": str(year),
                    "value": str(value),
                    "status": "estimate",
                    "note": "illustrative: national figure split by workforce weights",
                    "source": catalogue.ILLUSTRATIVE_SOURCE,
                }
            )
    return rows


def _as_csv(rows: list[dict[str, str]]) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    buffer.seek(0)
    return buffer


def demo_load() -> dict[str, int]:
    """Load everything; return how many releases were published by this call.

    One transaction: the releases are published in their historical order, and the
    derived-value confirmations their publication enqueues run (eagerly, without a
    broker) only once all of them are in, so none can publish a value "now" that a
    later demo release of the past would then have to revise.
    """
    published = 0
    with transaction.atomic():
        codelists_load()
        indicators_load()
        derived_definitions_load()
        targets_load()
        for spec in _release_plan():
            release = Release.objects.filter(slug=spec["slug"]).first()
            if release is not None and release.status == ReleaseStatus.PUBLISHED:
                continue
            if release is None:
                release = release_create(
                    slug=spec["slug"],
                    title_id=spec["title_id"],
                    title_en=spec["title_en"],
                    source=spec.get("source", "Press reports compiled for the demo"),
                    summary_en=catalogue.SOURCE_NOTE,
                    summary_id=(
                        "Dihimpun dari pemberitaan untuk data demo; tanggal rilis ilustratif."
                    ),
                )
            report = observations_import(stream=_as_csv(spec["rows"]), release=release, commit=True)
            if not report.ok:
                raise ValueError(
                    f"demo release {spec['slug']} does not validate: "
                    + "; ".join(str(e) for e in report.errors[:10])
                )
            news_releases_load(release=release)
            derived_precompute(release=release)
            release_publish(release=release, at=spec["at"])
            published += 1
    return {"releases_published": published}
