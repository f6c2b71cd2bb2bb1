"""Import observations from a CSV file into a draft release (all rows or none)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from publications.models import Release
from publications.services import release_observations_import
from stats.models import exact_text
from stats.services import ImportRefused


class Command(BaseCommand):
    help = (
        "Validate a CSV of observations (columns: indicator, one per dimension code list, "
        "period, value, status, note) and, unless --dry-run, write it into a draft release. "
        "If any row fails, nothing is written and every failing row is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the CSV file (UTF-8), or - for standard input")
        parser.add_argument("--release", required=True, help="slug of the draft release")
        parser.add_argument("--dry-run", action="store_true", help="validate and preview only")
        parser.add_argument(
            "--show", type=int, default=20, help="how many new and revised rows to list"
        )

    def handle(self, *args, file: str, release: str, dry_run: bool, show: int, **options):
        target = Release.objects.filter(slug=release).first()
        if target is None:
            raise CommandError(f"--release: no release with slug {release!r}")
        try:
            stream = (
                sys.stdin if file == "-" else open(file, encoding="utf-8-sig", newline="")  # noqa: SIM115
            )
        except OSError as exc:
            raise CommandError(f"file: cannot open {file!r}: {exc.strerror}") from exc
        try:
            report = release_observations_import(stream=stream, release=target, commit=not dry_run)
        except ImportRefused as exc:
            raise CommandError(f"--release: {exc}") from exc
        finally:
            if stream is not sys.stdin:
                stream.close()
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            if report.error_count > len(report.errors):
                self.stderr.write(f"... and {report.error_count - len(report.errors)} more")
            raise CommandError(
                f"{report.error_count} error(s) in {report.rows} row(s); nothing was written"
            )
        self.stdout.write(
            f"{report.rows} rows: {report.new} new, {report.revised} revised "
            f"({report.warnings} with a large change), {report.unchanged} unchanged"
        )
        for change in report.revised_sample[:show]:
            assert change.old_value is not None  # a revision replaces a stored value
            percent = "n/a" if change.change_percent is None else f"{change.change_percent}%"
            flag = "  WARNING" if change.warning else ""
            self.stdout.write(
                f"  revised line {change.line}: {change.indicator} {change.series_key} "
                f"{change.period}: {exact_text(change.old_value)} -> "
                f"{exact_text(change.new_value)} ({percent}){flag}"
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(f"Written: {report.written} observation(s) into {target.slug}.")
