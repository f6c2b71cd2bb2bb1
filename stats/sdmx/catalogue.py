"""The site's catalogue as SDMX artefacts, all maintained by one agency at one version.

One dataflow, and one data structure (DSD) of the same id, per public indicator: a
series of an indicator is one frequency and one code of each of the indicator's code
lists, so its SDMX key is ``FREQ`` followed by those code lists in code-list order
(``A.ID.BPU._T`` for frequency A, region ID, segment BPU, program _T), the key an
SDMX user expects from a statistics office. A dataflow per topic would need an
indicator dimension, and its indicators differ in unit, decimals and, as the catalogue
grows, in code lists: one key would fit none of them well.

Attributes: ``UNIT_MEASURE`` and ``DECIMALS`` per series (from the indicator, the same
for each series), ``OBS_STATUS`` per observation (the SDMX cross-domain codes A, P, E,
B for normal, provisional, estimate and break).

Only indicators with a public value have a dataflow (``stats.selectors.indicators_public``),
so an indicator whose first values are under embargo is not announced early. The
catalogue is read once per worker and data generation (``stats.events.generation_memo``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db.models import Max
from django.utils import translation

from stats.choices import Frequency, ObservationStatus, Unit
from stats.events import generation_memo
from stats.models import Code, CodeList, Indicator
from stats.selectors import indicators_public

AGENCY = "ANGKA"
VERSION = "1.0"
CONCEPT_SCHEME = "CS_ANGKA"
FREQ = "FREQ"
TIME_PERIOD = "TIME_PERIOD"
OBS_VALUE = "OBS_VALUE"
UNIT_MEASURE = "UNIT_MEASURE"
DECIMALS = "DECIMALS"
OBS_STATUS = "OBS_STATUS"
CL_FREQ = "CL_FREQ"
CL_UNIT_MEASURE = "CL_UNIT_MEASURE"
CL_OBS_STATUS = "CL_OBS_STATUS"

# ObservationStatus -> the SDMX cross-domain code list CL_OBS_STATUS.
OBS_STATUS_CODES = {
    ObservationStatus.NORMAL: "A",
    ObservationStatus.PROVISIONAL: "P",
    ObservationStatus.ESTIMATE: "E",
    ObservationStatus.BREAK: "B",
}


@dataclass(frozen=True, slots=True)
class Names:
    id: str
    en: str

    def pick(self, language: str) -> str:
        return (self.en or self.id) if language == "en" else (self.id or self.en)


@dataclass(frozen=True, slots=True)
class CodeItem:
    id: str
    names: Names
    parent: str = ""


@dataclass(frozen=True, slots=True)
class Codelist:
    id: str
    names: Names
    codes: tuple[CodeItem, ...]

    @property
    def by_id(self) -> dict[str, CodeItem]:
        return {code.id: code for code in self.codes}


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    names: Names


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str  # the concept id too
    codelist: str  # the SDMX code list id
    source: str  # the site's code list id (the key of Series.dimensions); "" for FREQ


@dataclass(frozen=True, slots=True)
class Flow:
    """A dataflow and its data structure (same id)."""

    id: str
    indicator_id: int
    names: Names
    descriptions: Names
    unit: str
    decimals: int
    frequencies: str
    dimensions: tuple[Dimension, ...]

    @property
    def codelists(self) -> tuple[str, ...]:
        return (*(d.codelist for d in self.dimensions), CL_UNIT_MEASURE, CL_OBS_STATUS)


@dataclass(frozen=True, slots=True)
class Catalogue:
    flows: dict[str, Flow]
    codelists: dict[str, Codelist]
    concepts: tuple[Concept, ...]
    # The last edit of an indicator (names, unit, ...): structures change without a
    # publication.
    edited_at: dt.datetime | None = None

    @property
    def digest(self) -> str:
        """A fingerprint of every artefact, for the ETag of an answer built from them."""
        return hashlib.sha256(
            repr((self.flows, self.codelists, self.concepts)).encode()
        ).hexdigest()


def _choice_names(label) -> Names:
    with translation.override("id"):
        name_id = str(label)
    with translation.override("en"):
        name_en = str(label)
    return Names(name_id, name_en)


def codelist_sdmx_id(codelist_id: str) -> str:
    return f"CL_{codelist_id.upper()}"


def catalogue_build() -> Catalogue:
    """The SDMX artefacts of the current catalogue (a few queries)."""
    codelists: dict[str, Codelist] = {
        CL_FREQ: Codelist(
            CL_FREQ,
            Names("Frekuensi", "Frequency"),
            tuple(CodeItem(value, _choice_names(label)) for value, label in Frequency.choices),
        ),
        CL_UNIT_MEASURE: Codelist(
            CL_UNIT_MEASURE,
            Names("Satuan", "Unit of measure"),
            tuple(CodeItem(value, _choice_names(label)) for value, label in Unit.choices),
        ),
        CL_OBS_STATUS: Codelist(
            CL_OBS_STATUS,
            Names("Status observasi", "Observation status"),
            tuple(
                CodeItem(OBS_STATUS_CODES[ObservationStatus(value)], _choice_names(label))
                for value, label in ObservationStatus.choices
            ),
        ),
    }
    concepts = [Concept(FREQ, Names("Frekuensi", "Frequency"))]
    site_codelists = list(CodeList.objects.order_by("order", "id"))
    codes: dict[str, list[CodeItem]] = {codelist.id: [] for codelist in site_codelists}
    for codelist_id, code, name_id, name_en, parent in Code.objects.order_by(
        "codelist_id", "order", "code"
    ).values_list("codelist_id", "code", "name_id", "name_en", "parent__code"):
        codes[codelist_id].append(CodeItem(code, Names(name_id, name_en), parent or ""))
    for codelist in site_codelists:
        sdmx_id = codelist_sdmx_id(codelist.id)
        names = Names(codelist.name_id, codelist.name_en)
        codelists[sdmx_id] = Codelist(sdmx_id, names, tuple(codes[codelist.id]))
        concepts.append(Concept(codelist.id.upper(), names))
    concepts += [
        Concept(TIME_PERIOD, Names("Periode waktu", "Time period")),
        Concept(OBS_VALUE, Names("Nilai observasi", "Observation value")),
        Concept(UNIT_MEASURE, Names("Satuan", "Unit of measure")),
        Concept(DECIMALS, Names("Desimal", "Decimals")),
        Concept(OBS_STATUS, Names("Status observasi", "Observation status")),
    ]
    public = set(indicators_public().values_list("pk", flat=True))
    flows: dict[str, Flow] = {}
    for indicator in (
        Indicator.objects.filter(pk__in=public).order_by("code").prefetch_related("dimensions")
    ):
        dimensions = [Dimension(FREQ, CL_FREQ, "")]
        for codelist in sorted(indicator.dimensions.all(), key=lambda c: (c.order, c.id)):
            dimensions.append(
                Dimension(codelist.id.upper(), codelist_sdmx_id(codelist.id), codelist.id)
            )
        flows[indicator.code] = Flow(
            id=indicator.code,
            indicator_id=indicator.pk,
            names=Names(indicator.name_id, indicator.name_en),
            descriptions=Names(indicator.description_id, indicator.description_en),
            unit=indicator.unit,
            decimals=indicator.decimals,
            frequencies=indicator.frequencies,
            dimensions=tuple(dimensions),
        )
    edited_at = Indicator.objects.aggregate(latest=Max("updated_at"))["latest"]
    return Catalogue(flows, codelists, tuple(concepts), edited_at)


def catalogue(token: str) -> Catalogue:
    """The catalogue of data generation ``token``, built once per worker process."""
    return generation_memo(token, "sdmx-catalogue", catalogue_build)


def catalogue_digest(token: str) -> str:
    return generation_memo(token, "sdmx-catalogue-digest", lambda: catalogue(token).digest)
