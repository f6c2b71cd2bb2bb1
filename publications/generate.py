"""Synthetic data at scale in one new published release: the service behind
``manage.py generate_data``. The series and their invented values are stats'
(stats.generate); this module makes the release that holds them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone

from stats.generate import (
    SYNTHETIC_SOURCE,
    GenerateError,
    synthetic_observations_check,
    synthetic_observations_write,
    synthetic_series_prepare,
)

from .choices import ReleaseStatus
from .models import Release
from .services import release_create

DEFAULT_RELEASE_SLUG = "synthetic-data"


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
    synthetic_observations_check(observations=observations)
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
    started = time.perf_counter()
    with transaction.atomic():
        plan = synthetic_series_prepare(observations=observations, seed=seed)
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
        written = synthetic_observations_write(
            plan=plan, release_id=release.pk, valid_from=published_at
        )
    release.refresh_from_db()
    return GenerateResult(
        release=release,
        observations=written,
        series=len(plan.plan),
        indicators=[spec.code for spec in plan.specs],
        seconds=time.perf_counter() - started,
    )
