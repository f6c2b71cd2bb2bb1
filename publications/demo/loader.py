"""Load the demo data set: its catalogue (stats.demo.loader), then its releases and news
releases, through the same import and publish services staff use.

Idempotent: a release that is already published is left alone, so loading twice
changes nothing. Every value goes through ``observations_import`` (so the demo obeys the
same validation as a staff upload) and becomes public through ``release_publish``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db import transaction

from stats.demo import catalogue
from stats.demo.loader import (
    COLUMNS,
    codelists_load,
    data_read,
    derived_definitions_load,
    figures_2023,
    illustrative_rows,
    indicators_load,
    targets_load,
)
from stats.derived import derived_precompute
from stats.models import Indicator
from stats.services import observations_import

from ..choices import ReleaseStatus
from ..models import NewsRelease, Release
from ..services import release_create, release_publish
from .news import NEWS

WIB = ZoneInfo("Asia/Jakarta")


def news_releases_load(*, release: Release) -> None:
    """The demo news releases of ``release``, published with it; a translation after the
    news release it translates."""
    for spec in NEWS.get(release.slug, []):
        original = spec.get("translation_of")
        news, _ = NewsRelease.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "release": release,
                "language": spec["language"],
                "translation_of": (
                    NewsRelease.objects.get(slug=original) if original is not None else None
                ),
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
    history = data_read("history.csv")
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
