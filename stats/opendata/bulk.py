"""The bulk download: every public indicator's CSV and the data package that describes
them, in one zip, rebuilt by a Celery task (``stats.tasks.opendata_bulk_build``) after
public data change, and served with its ETag.

Where it lives: the zip in the default storage (``MEDIA_ROOT/opendata/`` on the file
system), its record (file, ETag, size, the data version it holds) in the database
(``BulkDownload``); the newest record is served, the one before it kept for downloads in
flight, older ones deleted.

Only public data go in: the CSVs are read by the CSV statement (``csv_lines_sql``)
over ``observations_public`` at the instant the build starts, in one REPEATABLE READ
transaction, so the files and the package are one snapshot and a release under embargo
is never in it. A publication (or a catalogue edit) raises ``public_data_changed``,
whose after-commit step asks for a rebuild (``bulk_rebuild_request``); should that
message be lost, the download view asks again when the data version it serves is not
the current one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import zipfile
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone, translation

from stats.api.rows import ObservationRows
from stats.api.statements import csv_lines_sql
from stats.events import PublicDataChange
from stats.filtersets import CatalogueLookups
from stats.models import Indicator, Series
from stats.renderers import series_csv_chunks
from stats.selectors import last_publication_at, observations_public

from .datapackage import package
from .licence import attribution_load
from .models import BulkDownload, OpenDataSettings
from .selectors import coverage_public

logger = logging.getLogger(__name__)

BULK_TASK = "stats.opendata_bulk_build"
# Rebuild requests within this many seconds make one build (a publication raises the
# event more than once; the demo publishes many releases in a row).
BULK_DEBOUNCE_SECONDS = 5
BULK_QUEUED_KEY = "opendata:bulk:queued"
BULK_DIRECTORY = "opendata"
BULK_FILE_NAME = "angka-data.zip"
# Rows sorted by series (one value per series: the COPY path of the CSV statement).
CSV_ORDERING = [("series_id", False), ("period_start", False)]
COPY_CHUNK = 1024 * 1024


def csv_path(indicator: Indicator) -> str:
    """An indicator's CSV inside the zip."""
    return f"data/{indicator.code.lower()}.csv"


def indicator_csv_sql(
    rows: ObservationRows, *, indicator_id: int, at: dt.datetime | None
) -> tuple[str, list]:
    """The CSV lines of one indicator's public values at ``at``, one value per series
    (``csv_lines_sql(per_series=True)``): the statement every CSV download runs.
    ``at``: None for now."""
    values = observations_public(at=at).filter(series__indicator_id=indicator_id)
    series = Series.objects.filter(indicator_id=indicator_id)
    return csv_lines_sql(rows, values, CSV_ORDERING, series, per_series=True)


def _data_state(*, last_published: dt.datetime | None = None) -> tuple[str, dt.datetime | None]:
    """What the bulk download's content depends on (the last publication and the edits
    of the indicators and of the open-data settings; two queries beyond the first): its
    version and the latest of those instants."""
    last_published = last_published or last_publication_at()
    indicators = Indicator.objects.aggregate(latest=Max("updated_at"), count=Count("id"))
    edited = OpenDataSettings.objects.aggregate(latest=Max("updated_at"))["latest"]
    instants = [last_published, indicators["latest"], edited]
    parts = [at.isoformat() if at else "" for at in instants]
    parts.insert(2, str(indicators["count"]))
    version = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return version, max((at for at in instants if at is not None), default=None)


def data_version(*, last_published: dt.datetime | None = None) -> str:
    """The version of the public data the bulk download holds (see ``_data_state``)."""
    return _data_state(last_published=last_published)[0]


def bulk_current() -> BulkDownload | None:
    """The bulk download served now (the newest built)."""
    return BulkDownload.objects.order_by("-built_at", "-id").first()


# Entries' time when no data were ever published (zip's earliest date).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _zip_info(name: str, modified: dt.datetime | None) -> zipfile.ZipInfo:
    # The data's last change, not the build's clock, as the entries' time: the same data
    # give the same bytes (and ETag) whenever they are built.
    stamp = timezone.localtime(modified).timetuple()[:6] if modified else ZIP_EPOCH
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def bulk_write(target, *, at: dt.datetime, modified: dt.datetime | None = None) -> int:
    """Write the zip of the public data at ``at`` to the binary file ``target``, its
    entries dated ``modified`` (the data's last change); returns how many indicators it
    holds. Names in the site's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        language = settings.LANGUAGE_CODE
        coverages = coverage_public(at=at)
        rows = ObservationRows(CatalogueLookups(), read_at=at)
        header = rows.csv_header()
        given = attribution_load()
        document = package(
            coverages,
            rows=rows,
            attribution=given,
            language=language,
            name="angka",
            title=given.title(language),
            description=given.description(language),
            path=csv_path,
        )
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(
                _zip_info("datapackage.json", modified),
                json.dumps(document, ensure_ascii=False, indent=2) + "\n",
            )
            for coverage in coverages:
                sql, params = indicator_csv_sql(rows, indicator_id=coverage.indicator.pk, at=at)
                with archive.open(_zip_info(csv_path(coverage.indicator), modified), "w") as entry:
                    for chunk in series_csv_chunks(
                        header, sql, params, time_zone=settings.TIME_ZONE
                    ):
                        entry.write(chunk)
    return len(coverages)


def bulk_build(*, now: dt.datetime | None = None) -> BulkDownload:
    """Build the bulk download of the public data now and record it (or, when the data
    give the same bytes as the current one, record only that it is up to date)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            # One snapshot for every file (only possible as the transaction's first statement).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        at = now or timezone.now()
        version, modified = _data_state()
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / BULK_FILE_NAME
            with path.open("wb") as target:
                bulk_write(target, at=at, modified=modified)
            digest = hashlib.sha256()
            with path.open("rb") as built:
                while block := built.read(COPY_CHUNK):
                    digest.update(block)
            etag = digest.hexdigest()[:40]
            current = bulk_current()
            if (
                current is not None
                and current.etag == etag
                and default_storage.exists(current.file_name)
            ):
                BulkDownload.objects.filter(pk=current.pk).update(data_version=version, data_at=at)
                current.refresh_from_db()
                return current
            with path.open("rb") as built:
                name = default_storage.save(
                    f"{BULK_DIRECTORY}/angka-{timezone.localtime(at):%Y%m%dT%H%M%S}-{etag[:12]}.zip",
                    File(built),
                )
    record = BulkDownload.objects.create(
        file_name=name, etag=etag, size=default_storage.size(name), data_version=version, data_at=at
    )
    _bulk_prune()
    return record


def _bulk_prune(kept: int = 2) -> None:
    """Delete all but the newest ``kept`` builds (the one before the newest stays for
    downloads that started on it)."""
    for old in BulkDownload.objects.order_by("-built_at", "-id")[kept:]:
        default_storage.delete(old.file_name)
        old.delete()


def bulk_rebuild_request(change: PublicDataChange | None = None) -> None:
    """Ask the worker for a rebuild in a few seconds; requests made meanwhile are the
    same one. A broker outage is logged, never raised (the download view asks again).

    ``change`` (the event's, ``stats.events``) does not narrow it: the download holds
    every public series."""
    try:
        if not cache.add(BULK_QUEUED_KEY, 1, timeout=BULK_DEBOUNCE_SECONDS * 12):
            return
        current_app.tasks[BULK_TASK].apply_async(countdown=BULK_DEBOUNCE_SECONDS)
    except Exception:  # kombu's and redis' connection errors: the publication goes on
        logger.exception("could not ask for a rebuild of the bulk download")
        try:
            cache.delete(BULK_QUEUED_KEY)
        except Exception:
            logger.exception("could not clear the bulk download's rebuild request")


def bulk_rebuild_started() -> None:
    """A build begins: requests from now on need another build after it."""
    cache.delete(BULK_QUEUED_KEY)
