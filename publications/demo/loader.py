"""Load the demo data set: its catalogue (stats.demo.loader), then its releases and news
releases, through the same import and publish services staff use.

It shows every stage a release goes through: published releases (one of them a
correction of another), one approved and scheduled two weeks after the day of loading
(its values embargoed until then) and a draft to import the sample CSV into.

Idempotent: a release that is already published (or scheduled, or the draft) is left
alone, so loading twice changes nothing. Every value goes through
``observations_import`` (so the demo obeys the same validation as a staff upload) and
becomes public through ``release_publish``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tomllib
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

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
    text_translations_load,
)
from stats.derived import derived_precompute
from stats.models import Indicator
from stats.services import observations_import

from ..choices import ReleaseStatus
from ..models import NewsRelease, Release
from ..services import (
    release_approve,
    release_create,
    release_publish,
    release_schedule,
    release_submit,
)

WIB = ZoneInfo("Asia/Jakarta")


def _news_read(path: Path) -> dict:
    """One news release file: TOML front matter between ``+++`` lines, then Markdown."""
    _, front, body = path.read_text(encoding="utf-8").split("+++\n", 2)
    return {**tomllib.loads(front), "slug": path.stem, "body": body}


NEWS = sorted(
    (
        _news_read(path)
        for path in (Path(__file__).parent / "news").glob("*.md")
        if path.name != "README.md"
    ),
    key=lambda spec: (spec["release"], spec["order"]),
)


def news_releases_load(*, release: Release) -> None:
    """The demo news releases of ``release``, published with it; a translation after the
    news release it translates."""
    for spec in NEWS:
        if spec["release"] != release.slug:
            continue
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


def _annual(year: int, rows: list[dict[str, str]]) -> dict:
    """The release of a year's annual figures, published in mid-February after it."""
    return {
        "slug": f"angka-tahunan-{year}",
        "title_id": f"Angka tahunan {year}",
        "title_en": f"Annual figures {year}",
        "at": dt.datetime(year + 1, 2, 15, 10, 0, tzinfo=WIB),
        "rows": rows,
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
        plan.append(_annual(year, rows))
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
        plan.append(_annual(year, by_year[year]))
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
    # A correction: the illustrative release's last provincial participants figure is
    # corrected by a later release that names it and says why.
    provincial = [
        r
        for r in illustrative_rows(history)
        if r["indicator"] == "ACTIVE_PARTICIPANTS" and r["region"] != "ID"
    ]
    corrected = max(provincial, key=lambda r: (r["period"], r["region"]))
    plan.append(
        {
            "slug": "ilustrasi-koreksi-provinsi",
            "title_id": "Koreksi: peserta aktif satu provinsi (ilustrasi)",
            "title_en": "Correction: active participants of one province (illustrative)",
            "at": dt.datetime(2025, 3, 10, 10, 0, tzinfo=WIB),
            "corrects": "ilustrasi-bulanan-provinsi",
            "correction_reason": (
                "Illustrative correction: a keying error in one provincial figure."
            ),
            "rows": [
                dict(
                    corrected,
                    value=str(int(corrected["value"]) + 1000),
                    note="illustrative correction of a keying error",
                )
            ],
            "source": catalogue.ILLUSTRATIVE_SOURCE,
        }
    )
    return plan


# The demo's release still to come: national figures of the year after the last one
# published, approved and scheduled (embargoed) two weeks after the day of loading.
UPCOMING_SLUG = "ilustrasi-angka-sementara-2025"
UPCOMING_ROWS = [
    {
        "indicator": "ACTIVE_PARTICIPANTS",
        "region": "ID",
        "segment": "_T",
        "program": "_T",
        "period": "2025",
        "value": "47000000",
        "status": "provisional",
        "note": "illustrative: not a reported figure",
        "source": catalogue.ILLUSTRATIVE_SOURCE,
    }
]
# A draft waiting for its values: staff import static/samples/observations.csv into it
# (the admin's import page links that file).
DRAFT_SLUG = "ilustrasi-draf-impor"
DEMO_CLERK, DEMO_REVIEWER = "demo-entri", "demo-peninjau"


def _demo_user(username: str):
    """A demo account that acts only through the services when the demo loads: it has no
    usable password and is not staff, so nobody can log in with it. A superuser, so that
    the demo does not depend on permission rows (a flushed test database may lack them)."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_superuser": True, "is_staff": False}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def _upcoming_load() -> None:
    """Submit, approve (a second person) and schedule the upcoming release, as staff do."""
    if Release.objects.filter(slug=UPCOMING_SLUG).exists():
        return
    clerk, reviewer = _demo_user(DEMO_CLERK), _demo_user(DEMO_REVIEWER)
    release = release_create(
        slug=UPCOMING_SLUG,
        title_id="Ilustrasi: angka sementara 2025",
        title_en="Illustrative: provisional figures 2025",
        source=catalogue.ILLUSTRATIVE_SOURCE,
        summary_id="Rilis terjadwal untuk demo; angkanya diembargo sampai waktu rilis.",
        summary_en="A scheduled demo release; its figures are embargoed until its time.",
    )
    report = observations_import(stream=_as_csv(UPCOMING_ROWS), release=release, commit=True)
    if not report.ok:
        raise ValueError("demo upcoming release does not validate: " + str(report.errors[:3]))
    release = release_submit(release=release, user=clerk)
    release = release_approve(release=release, user=reviewer)
    day = timezone.localdate(timezone.now(), WIB) + dt.timedelta(days=14)
    release_schedule(
        release=release,
        user=reviewer,
        scheduled_for=dt.datetime.combine(day, dt.time(10, 0), tzinfo=WIB),
    )


def _draft_load() -> None:
    if not Release.objects.filter(slug=DRAFT_SLUG).exists():
        release_create(
            slug=DRAFT_SLUG,
            title_id="Ilustrasi: draf untuk contoh impor CSV",
            title_en="Illustrative: a draft for the sample CSV import",
            source=catalogue.ILLUSTRATIVE_SOURCE,
        )


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
        text_translations_load()
        derived_definitions_load()
        targets_load()
        for spec in _release_plan():
            release = Release.objects.filter(slug=spec["slug"]).first()
            if release is not None and release.status == ReleaseStatus.PUBLISHED:
                continue
            if release is None:
                corrects = spec.get("corrects")
                release = release_create(
                    corrects=Release.objects.get(slug=corrects) if corrects else None,
                    correction_reason=spec.get("correction_reason", ""),
                    slug=spec["slug"],
                    title_id=spec["title_id"],
                    title_en=spec["title_en"],
                    source=spec.get("source", catalogue.PRESS_SOURCE),
                    summary_en=catalogue.SOURCE_NOTE,
                    summary_id=catalogue.SOURCE_NOTE_ID,
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
        _upcoming_load()
        _draft_load()
    return {"releases_published": published}
