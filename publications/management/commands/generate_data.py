"""Generate synthetic monthly observations at scale into one new published release."""

from django.core.management.base import BaseCommand, CommandError

from publications.generate import DEFAULT_RELEASE_SLUG, synthetic_data_generate
from stats.generate import MAX_OBSERVATIONS, GenerateError


class Command(BaseCommand):
    help = (
        "Create N synthetic observations (indicators SYN_*, every region, segment and "
        "programme, monthly from 2000-01) in one new published release. Illustrative "
        "values only; for load tests and benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--observations",
            type=int,
            required=True,
            help=f"how many observations to create, 1 to {MAX_OBSERVATIONS:,}",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="seed of the random values (default 1)"
        )
        parser.add_argument(
            "--release",
            default=DEFAULT_RELEASE_SLUG,
            help=f"slug of the new release (default {DEFAULT_RELEASE_SLUG}); must not exist",
        )

    def handle(self, *args, observations: int, seed: int, release: str, **options):
        try:
            result = synthetic_data_generate(
                observations=observations, seed=seed, release_slug=release
            )
        except GenerateError as exc:
            raise CommandError(f"--{exc.field}: {exc.message}") from exc
        published_at = result.release.published_at
        assert published_at is not None  # generated into a published release
        self.stdout.write(
            f"Generated {result.observations:,} observations in {result.series:,} series of "
            f"{len(result.indicators)} synthetic indicator(s) into release "
            f"{result.release.slug} (published {published_at.isoformat()})."
        )
        self.stdout.write(f"{result.seconds:.1f} s, {result.rows_per_second:,.0f} rows/s")
