"""Synthetic data at scale for the benchmarks: N published observations in one new release.

Values are invented but plausible: counts of persons in the thousands to millions with a
trend and a season, rupiah amounts in the billions and trillions, percentages between 0
and 100, all exact Decimals. They go to clearly named indicators (codes ``SYN_...``,
names saying *sintetis* / *synthetic*) in one release whose source says the figures
are illustrative, so they can never be mistaken for official figures.

Run ``python -m bench.generate --observations N`` (``--help`` for the options), or call
``synthetic_data_generate``. ``monthly_values`` is the value model, shared with the
import benchmark (bench/bench_import.py).

It lives in bench/, not in the apps, so a production deploy carries no command that
writes millions of fake published values. The models are imported inside the functions
that use them: run as a script, this module is imported before Django is set up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from stats.choices import Frequency, MeasureKind, ObservationStatus, Unit
from stats.demo import catalogue
from stats.periods import Period, period_from_parts

if TYPE_CHECKING:
    from publications.models import Release
    from stats.models import Indicator

MAX_OBSERVATIONS = 5_000_000
DEFAULT_RELEASE_SLUG = "synthetic-data"
FIRST_YEAR, LAST_YEAR = 2000, 2025
DIMENSIONS = ("region", "segment", "program")
SYNTHETIC_SOURCE = "Sintetis / synthetic: generated for testing, illustrative only, not official"

# Relative size of each segment and programme in a count or amount (the totals are 1).
SEGMENT_SHARES = {"_T": 1.0, "PU": 0.64, "BPU": 0.19, "JAKON": 0.12, "PMI": 0.05}
PROGRAM_SHARES = {"_T": 1.0, "JKK": 0.97, "JKM": 0.96, "JHT": 0.58, "JP": 0.41, "JKP": 0.33}


class GenerateError(ValueError):
    """Bad input to the generator; ``field`` names the option at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ValueModel:
    """How the monthly values of an indicator move.

    ``level`` is the national total (all segments, all programmes) in January of the
    first year for counts and amounts (``scaled``: split by region, segment and
    programme shares), or the typical value of a rate or an average (not scaled; each
    series gets its own factor around it). ``growth`` is per year: relative for scaled
    models, in points of the value for the others.
    """

    level: float
    growth: float
    seasonal: float
    noise: float
    decimals: int
    scaled: bool
    upper: float | None = None


@dataclass(frozen=True, slots=True)
class SyntheticIndicator:
    code: str
    topic: str
    unit: str
    measure_kind: str
    name_id: str
    name_en: str
    model: ValueModel


def _count(level, growth, seasonal=0.01, noise=0.01):
    return ValueModel(level, growth, seasonal, noise, 0, True)


def _rate(level, growth, decimals=2, upper=100.0, seasonal=0.005, noise=0.02):
    return ValueModel(level, growth, seasonal, noise, decimals, False, upper)


P, R, M, D = Unit.PERSONS, Unit.RUPIAH, MeasureKind.STOCK, MeasureKind.FLOW
SYNTHETIC_INDICATORS = [
    SyntheticIndicator(
        "SYN_ACTIVE_PARTICIPANTS", "kepesertaan", P, M,
        "Peserta aktif (sintetis)", "Active participants (synthetic)",
        _count(12_000_000, 0.055),
    ),
    SyntheticIndicator(
        "SYN_NEW_REGISTRATIONS", "kepesertaan", P, D,
        "Pendaftaran peserta baru (sintetis)", "New registrations (synthetic)",
        _count(260_000, 0.05, seasonal=0.12, noise=0.06),
    ),
    SyntheticIndicator(
        "SYN_COVERAGE_RATE", "kepesertaan", Unit.PERCENT, MeasureKind.RATE,
        "Cakupan kepesertaan (sintetis)", "Membership coverage (synthetic)",
        _rate(22.0, 1.4),
    ),
    SyntheticIndicator(
        "SYN_CONTRIBUTION_COMPLIANCE", "kepesertaan", Unit.PERCENT, MeasureKind.RATE,
        "Kepatuhan pembayaran iuran (sintetis)", "Contribution compliance (synthetic)",
        _rate(78.0, 0.5),
    ),
    SyntheticIndicator(
        "SYN_CONTRIBUTIONS_COLLECTED", "dana", R, D,
        "Iuran yang diterima (sintetis)", "Contributions collected (synthetic)",
        _count(900_000_000_000, 0.11, seasonal=0.04, noise=0.03),
    ),
    SyntheticIndicator(
        "SYN_FUNDS_UNDER_MANAGEMENT", "dana", R, M,
        "Dana kelolaan (sintetis)", "Funds under management (synthetic)",
        _count(45_000_000_000_000, 0.13, seasonal=0.003, noise=0.004),
    ),
    SyntheticIndicator(
        "SYN_INVESTMENT_INCOME", "dana", R, D,
        "Hasil investasi (sintetis)", "Investment income (synthetic)",
        _count(350_000_000_000, 0.12, seasonal=0.05, noise=0.08),
    ),
    SyntheticIndicator(
        "SYN_INVESTMENT_YIELD", "dana", Unit.PERCENT, MeasureKind.RATE,
        "Imbal hasil investasi (sintetis)", "Investment yield (synthetic)",
        _rate(7.2, -0.05, seasonal=0.01, noise=0.05),
    ),
    SyntheticIndicator(
        "SYN_BENEFITS_PAID", "manfaat", R, D,
        "Manfaat yang dibayarkan (sintetis)", "Benefits paid (synthetic)",
        _count(420_000_000_000, 0.12, seasonal=0.1, noise=0.05),
    ),
    SyntheticIndicator(
        "SYN_BENEFICIARIES", "manfaat", P, D,
        "Penerima manfaat (sintetis)", "Beneficiaries (synthetic)",
        _count(95_000, 0.07, seasonal=0.1, noise=0.05),
    ),
    SyntheticIndicator(
        "SYN_CLAIM_CASES", "manfaat", Unit.CASES, D,
        "Kasus klaim (sintetis)", "Claim cases (synthetic)",
        _count(110_000, 0.07, seasonal=0.1, noise=0.05),
    ),
    SyntheticIndicator(
        "SYN_SCHOLARSHIP_RECIPIENTS", "manfaat", Unit.CHILDREN, D,
        "Penerima beasiswa (sintetis)", "Scholarship recipients (synthetic)",
        _count(4_000, 0.09, seasonal=0.3, noise=0.08),
    ),
    SyntheticIndicator(
        "SYN_SCHOLARSHIP_PAID", "manfaat", R, D,
        "Beasiswa yang dibayarkan (sintetis)", "Scholarships paid (synthetic)",
        _count(9_000_000_000, 0.11, seasonal=0.3, noise=0.08),
    ),
    SyntheticIndicator(
        "SYN_AVERAGE_BENEFIT", "manfaat", Unit.RUPIAH_PER_PERSON, MeasureKind.RATE,
        "Rata-rata manfaat per penerima (sintetis)", "Average benefit per recipient (synthetic)",
        _rate(4_400_000, 260_000, decimals=0, upper=None, noise=0.04),
    ),
    SyntheticIndicator(
        "SYN_CLAIM_PROCESSING_TIME", "layanan", Unit.MINUTES, MeasureKind.RATE,
        "Waktu proses klaim (sintetis)", "Claim processing time (synthetic)",
        _rate(95.0, -3.0, decimals=1, upper=None, noise=0.06),
    ),
    SyntheticIndicator(
        "SYN_DIGITAL_CLAIMS_SHARE", "layanan", Unit.PERCENT, MeasureKind.RATE,
        "Klaim melalui kanal digital (sintetis)", "Claims through digital channels (synthetic)",
        _rate(4.0, 3.6, decimals=1),
    ),
]  # fmt: skip

# Value models for indicators that are not synthetic (the benchmark's CSV), by unit.
UNIT_MODELS = {
    Unit.PERSONS: _count(18_000_000, 0.05),
    Unit.CHILDREN: _count(5_000, 0.09, seasonal=0.3, noise=0.08),
    Unit.CASES: _count(110_000, 0.07, seasonal=0.1, noise=0.05),
    Unit.RUPIAH: _count(60_000_000_000_000, 0.12, seasonal=0.003, noise=0.004),
    Unit.RUPIAH_PER_PERSON: _rate(4_400_000, 260_000, decimals=0, upper=None),
    Unit.PERCENT: _rate(40.0, 1.0),
    Unit.PERCENTAGE_POINTS: _rate(1.0, 0.0, upper=None),
    Unit.MINUTES: _rate(95.0, -3.0, decimals=1, upper=None),
    Unit.DAYS: _rate(9.0, -0.2, decimals=1, upper=None),
    Unit.RATIO: _rate(1.2, 0.01, upper=None),
}


def months() -> list[Period]:
    """Every month from January of FIRST_YEAR to December of LAST_YEAR."""
    return [
        period_from_parts(Frequency.MONTHLY, year, month)
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
        for month in range(1, 13)
    ]


def dimension_codes() -> dict[str, list[str]]:
    """The codes of region, segment and program in code-list order (totals first)."""
    from stats.models import Code

    codes: dict[str, list[str]] = {codelist: [] for codelist in DIMENSIONS}
    for codelist, code in Code.objects.filter(codelist_id__in=DIMENSIONS).values_list(
        "codelist_id", "code"
    ):
        codes[codelist].append(code)
    return codes


def combinations(codes: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    return [
        (region, segment, program)
        for region in codes["region"]
        for segment in codes["segment"]
        for program in codes["program"]
    ]


def _national_path(model: ValueModel, count: int) -> list[float]:
    """The national level month by month: trend times season (peak mid-year)."""
    path = []
    for t in range(count):
        years = t / 12
        if model.scaled:
            trend = model.level * (1 + model.growth) ** years
        else:
            trend = max(model.level + model.growth * years, model.level * 0.05)
        season = 1 + model.seasonal * math.sin(2 * math.pi * ((t % 12) - 2) / 12)
        path.append(trend * season)
    return path


def monthly_values(
    model: ValueModel,
    combination: tuple[str, str, str],
    first_month: int,
    count: int,
    rng: random.Random,
) -> Iterator[Decimal]:
    """``count`` exact values of one series from month index ``first_month`` (0 = FIRST_YEAR-01).

    Counts and amounts are the national path times the shares of the region, segment
    and programme; rates and averages the path times a factor of the series. Nothing
    is negative and percentages stay within 0-100.
    """
    region, segment, program = combination
    if model.scaled:
        weights = catalogue.PROVINCE_WEIGHTS
        total = sum(weights.values())
        factor = (
            (1.0 if region == "ID" else weights.get(region, 1.0) / total)
            * SEGMENT_SHARES.get(segment, 0.1)
            * PROGRAM_SHARES.get(program, 0.3)
        )
    else:
        factor = rng.uniform(0.8, 1.2) if (region, segment, program) != ("ID", "_T", "_T") else 1
    path = _national_path(model, first_month + count)
    noise = model.noise * 2
    upper = model.upper
    quantum = 10**model.decimals
    exponent = -model.decimals
    random_ = rng.random
    for t in range(first_month, first_month + count):
        value = path[t] * factor * (1 + noise * (random_() - 0.5))
        if upper is not None and value > upper:
            value = upper - random_() * 0.5
        units = int(value * quantum + 0.5)
        yield Decimal(units) if not exponent else Decimal(units).scaleb(exponent)


def _plan(observations: int, per_indicator: int, month_count: int) -> tuple[int, int]:
    """How many series and synthetic indicators it takes to hold ``observations``."""
    series_needed = -(-observations // month_count)
    indicators = -(-series_needed // per_indicator)
    # A few indicators even for small runs, so every kind of unit is represented.
    indicators = min(len(SYNTHETIC_INDICATORS), max(indicators, min(4, series_needed)))
    return series_needed, indicators


def synthetic_indicators_load(specs: list[SyntheticIndicator]) -> dict[str, Indicator]:
    """Upsert the synthetic indicators (monthly, dimensions region, segment, program)."""
    from stats.models import CodeList, Indicator, Topic

    dimensions = list(CodeList.objects.filter(id__in=DIMENSIONS))
    topics = {topic.code: topic for topic in Topic.objects.all()}
    loaded = {}
    for spec in specs:
        indicator, _ = Indicator.objects.update_or_create(
            code=spec.code,
            defaults={
                "topic": topics[spec.topic],
                "unit": spec.unit,
                "measure_kind": spec.measure_kind,
                "frequencies": Frequency.MONTHLY,
                "decimals": spec.model.decimals,
                "negative_allowed": False,
                "name_id": spec.name_id,
                "name_en": spec.name_en,
                "description_id": "Data sintetis untuk uji beban; bukan angka resmi.",
                "description_en": "Synthetic data for load testing; not an official figure.",
                "source": SYNTHETIC_SOURCE,
            },
        )
        indicator.dimensions.set(dimensions)
        loaded[spec.code] = indicator
    return loaded


def _observations_check(observations: int) -> None:
    """Refuse a number of observations out of bounds, before anything is loaded."""
    if observations <= 0:
        raise GenerateError("observations", f"must be at least 1 (got {observations})")
    if observations > MAX_OBSERVATIONS:
        raise GenerateError(
            "observations", f"at most {MAX_OBSERVATIONS:,} can be generated (got {observations:,})"
        )


def _release_slug_check(release_slug: str) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_slug

    from publications.models import Release

    try:
        validate_slug(release_slug)
    except ValidationError as exc:
        raise GenerateError("release", f"{release_slug!r} is not a valid slug") from exc
    slug_length = Release._meta.get_field("slug").max_length
    assert slug_length is not None  # a SlugField's
    if len(release_slug) > slug_length:
        raise GenerateError("release", "the slug is longer than 120 characters")
    if Release.objects.filter(slug=release_slug).exists():
        raise GenerateError(
            "release", f"a release with slug {release_slug!r} exists already; choose a new slug"
        )


@dataclass(frozen=True, slots=True)
class SyntheticPlan:
    """The series made for ``observations`` values, ready for their observations."""

    observations: int
    specs: list[SyntheticIndicator]
    plan: list[tuple[SyntheticIndicator, tuple[str, str, str]]]
    refs: list[tuple]
    series_ids: dict
    periods: list[Period]
    rng: random.Random


def _series_prepare(observations: int, seed: int) -> SyntheticPlan:
    """Load the catalogue and the synthetic indicators and create the series that will hold
    ``observations`` (checked) values; run it in the transaction that writes them.

    Series are the synthetic indicators times every region, segment and programme,
    monthly from FIRST_YEAR; the last series starts later so the total is exact.
    Refused when the synthetic series already hold data.
    """
    from stats.demo.loader import codelists_load, indicators_load
    from stats.models import Code, Observation, series_key
    from stats.services import series_bulk_create

    rng = random.Random(seed)
    codelists_load()
    indicators_load()
    codes = dimension_codes()
    combos = combinations(codes)
    periods = months()
    series_needed, indicator_count = _plan(observations, len(combos), len(periods))
    capacity = len(SYNTHETIC_INDICATORS) * len(combos) * len(periods)
    if observations > capacity:
        raise GenerateError(
            "observations",
            f"at most {capacity:,} fit the synthetic series (got {observations:,})",
        )
    specs = SYNTHETIC_INDICATORS[:indicator_count]
    indicators = synthetic_indicators_load(specs)
    taken = Observation.objects.filter(series__indicator__in=list(indicators.values()))
    existing = taken.values_list("release__slug", flat=True).first()
    if existing is not None:
        raise GenerateError(
            "release",
            f"the synthetic series already hold data from release {existing!r}; "
            "generate into a fresh database",
        )
    # Series in code order, the indicators interleaved, so a small run has them all.
    plan = [
        (spec, combo)
        for combo in combos
        for spec in specs
    ][:series_needed]  # fmt: skip
    order = list(DIMENSIONS)
    dimensions_by_ref = {}
    refs = []
    for spec, combo in plan:
        dimensions = dict(zip(DIMENSIONS, combo, strict=True))
        ref = (indicators[spec.code].id, Frequency.MONTHLY, series_key(dimensions, order))
        dimensions_by_ref[ref] = dimensions
        refs.append(ref)
    code_ids = {
        (codelist, code): code_id
        for code_id, codelist, code in Code.objects.filter(codelist_id__in=DIMENSIONS).values_list(
            "id", "codelist_id", "code"
        )
    }
    series_ids = series_bulk_create(refs, dimensions_by_ref, code_ids)
    return SyntheticPlan(
        observations=observations,
        specs=specs,
        plan=plan,
        refs=refs,
        series_ids=series_ids,
        periods=periods,
        rng=rng,
    )


def _observations_write(plan: SyntheticPlan, release_id: int, valid_from: dt.datetime) -> int:
    """Write the planned values into ``release_id``, published at ``valid_from`` (the
    release revises nothing, so its rows get ``valid_from`` directly); return the count."""
    from stats.events import public_data_changed
    from stats.services import observations_write

    periods = plan.periods
    series_needed = len(plan.plan)
    last_count = plan.observations - (series_needed - 1) * len(periods)

    def rows() -> Iterator[tuple]:
        normal = ObservationStatus.NORMAL
        for index, (spec, combo) in enumerate(plan.plan):
            count = last_count if index == series_needed - 1 else len(periods)
            first = len(periods) - count
            series_id = plan.series_ids[plan.refs[index]]
            values = monthly_values(spec.model, combo, first, count, plan.rng)
            for period, value in zip(periods[first:], values, strict=True):
                yield (
                    series_id,
                    period.code,
                    period.start,
                    period.end,
                    value,
                    normal,
                    "",
                    "",
                    None,
                )

    written = observations_write(rows=rows(), release_id=release_id, valid_from=valid_from)
    public_data_changed()
    return written


@dataclass(frozen=True, slots=True)
class GenerateResult:
    release: Release
    observations: int
    series: int
    indicators: list[str]
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.observations / self.seconds if self.seconds else float("inf")


def synthetic_data_generate(
    *, observations: int, seed: int = 1, release_slug: str = DEFAULT_RELEASE_SLUG
) -> GenerateResult:
    """Create ``observations`` published synthetic observations in one new release.

    The release revises nothing, so its rows get ``valid_from`` directly, in the same
    transaction that marks it published.
    """
    from django.db import transaction
    from django.utils import timezone

    from publications.choices import ReleaseStatus
    from publications.models import Release
    from publications.services import release_create

    _observations_check(observations)
    _release_slug_check(release_slug)
    started = time.perf_counter()
    with transaction.atomic():
        plan = _series_prepare(observations, seed)
        release = release_create(
            slug=release_slug,
            title_id="Data sintetis (ilustratif)",
            title_en="Synthetic data (illustrative)",
            source=SYNTHETIC_SOURCE,
            summary_id="Seri bulanan sintetis untuk uji beban; bukan angka resmi.",
            summary_en="Synthetic monthly series for load testing; not official figures.",
        )
        published_at = timezone.now()
        Release.objects.filter(pk=release.pk).update(
            status=ReleaseStatus.PUBLISHED, published_at=published_at
        )
        written = _observations_write(plan, release.pk, published_at)
    release.refresh_from_db()
    return GenerateResult(
        release=release,
        observations=written,
        series=len(plan.plan),
        indicators=[spec.code for spec in plan.specs],
        seconds=time.perf_counter() - started,
    )


# -- the command line ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.generate --observations N [--seed S] [--release SLUG]``.

    A bad value exits with ``--<option>: <reason>`` on stderr, nothing written.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=(
            "Create N synthetic observations (indicators SYN_*, every region, segment and "
            "programme, monthly from 2000-01) in one new published release. Illustrative "
            "values only; for load tests and benchmarks."
        ),
    )
    parser.add_argument(
        "--observations",
        type=int,
        required=True,
        help=f"how many observations to create, 1 to {MAX_OBSERVATIONS:,}",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random values (default 1)")
    parser.add_argument(
        "--release",
        default=DEFAULT_RELEASE_SLUG,
        help=f"slug of the new release (default {DEFAULT_RELEASE_SLUG}); must not exist",
    )
    args = parser.parse_args(argv)

    import django
    from django.apps import apps

    # Run as a script Django is not set up yet; under the tests or a benchmark it is, and
    # setting it up again would reconfigure their logging.
    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
    try:
        result = synthetic_data_generate(
            observations=args.observations, seed=args.seed, release_slug=args.release
        )
    except GenerateError as exc:
        raise SystemExit(f"--{exc.field}: {exc.message}") from exc
    published_at = result.release.published_at
    assert published_at is not None  # generated into a published release
    print(
        f"Generated {result.observations:,} observations in {result.series:,} series of "
        f"{len(result.indicators)} synthetic indicator(s) into release "
        f"{result.release.slug} (published {published_at.isoformat()})."
    )
    print(f"{result.seconds:.1f} s, {result.rows_per_second:,.0f} rows/s")


if __name__ == "__main__":
    main()
