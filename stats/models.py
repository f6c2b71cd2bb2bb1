"""The statistics data model: indicators, code lists, series, observations, targets.

Observations are vintaged (ALFRED's real-time periods): a row is valid from the
publication of its release (``valid_from``) until a later release revises it
(``valid_to``). Rows of a release that is not yet published have no ``valid_from``
and are invisible to every public read. Published rows are never updated (except to
close them) nor deleted: the model refuses, and on PostgreSQL a trigger refuses too.
"""

from decimal import Decimal
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import MD5, Cast
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .choices import (
    DerivedKind,
    Frequency,
    InputRole,
    MeasureKind,
    ObservationStatus,
    Unit,
)

# The open-data models live with the rest of open data; importing them here makes them
# the app's (migrations, admin).
from .opendata.models import BulkDownload, OpenDataSettings  # noqa: F401

CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9_]+$", _("Use capital letters A-Z, digits and underscore only.")
)
DIMENSION_CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_\-]+$", _("Use letters, digits, underscore and hyphen only.")
)
CODELIST_ID_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]*$",
    _("Use lower-case letters, digits and underscore, starting with a letter."),
)
# Values are stored exactly. 30 digits with 10 decimals hold a rupiah amount in the
# quadrillions and a ratio to ten decimal places.
VALUE_MAX_DIGITS = 30
VALUE_DECIMAL_PLACES = 10


class PublishedDataError(Exception):
    """Raised when something tries to change or delete a published observation."""


class RevisionOrderError(Exception):
    """Values cannot be published at an instant before what they revise was published."""


class BilingualMixin:
    """Pick ``<field>_id`` or ``<field>_en`` by the active language."""

    def localized(self, field: str) -> str:
        language = (get_language() or "id")[:2]
        preferred = getattr(self, f"{field}_{'en' if language == 'en' else 'id'}", "")
        return preferred or getattr(self, f"{field}_id", "")

    @property
    def name(self) -> str:
        return self.localized("name")


class TextTranslation(BilingualMixin, models.Model):
    """A free text stored in one language on rows that never change (an observation's
    note or source, an indicator's or a release's source), in both languages.

    A published observation is never updated (the guard trigger refuses it), so its
    note and source stay as they were written, the language-neutral form the API gives;
    a page finds their words in its language here, by the stored text
    (``stats.texts.text_localized``)."""

    text = models.CharField(
        _("stored text"),
        max_length=500,
        unique=True,
        help_text=_("Exactly as stored on the rows (the form the API gives)."),
    )
    text_id = models.CharField(_("text (Indonesian)"), max_length=500)
    text_en = models.CharField(_("text (English)"), max_length=500)

    class Meta:
        ordering = ["text"]
        verbose_name = _("text translation")
        verbose_name_plural = _("text translations")

    def __str__(self) -> str:
        return self.text


class Topic(BilingualMixin, models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description_id = models.TextField(_("description (Indonesian)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.name


class SearchTerms(models.Model):
    """Other words readers use for a catalogue entry (code list, code, indicator), which
    the site search finds it by (``stats.selectors``)."""

    search_terms_id = models.TextField(
        _("search terms (Indonesian)"),
        blank=True,
        help_text=_(
            "Other words readers use for it (synonyms, abbreviations, older names), "
            "separated by commas: the site search finds it by them."
        ),
    )
    search_terms_en = models.TextField(
        _("search terms (English)"), blank=True, help_text=_("Separated by commas.")
    )

    class Meta:
        abstract = True


class CodeList(BilingualMixin, SearchTerms):
    """A dimension's list of codes: region, segment, program, ... (data, not code)."""

    id = models.CharField(
        _("identifier"),
        max_length=40,
        primary_key=True,
        validators=[CODELIST_ID_VALIDATOR],
        help_text=_("Also the column name in import files and the API filter name."),
    )
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description_id = models.TextField(_("description (Indonesian)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("code list")
        verbose_name_plural = _("code lists")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.id in RESERVED_COLUMNS:
            raise ValidationError({"id": _("%(id)s is a reserved column name.") % {"id": self.id}})


# Column names of the import file and API parameters that a code list cannot take.
RESERVED_COLUMNS = frozenset(
    {
        "indicator",
        "period",
        "value",
        "status",
        "note",
        "source",
        "reference_date",
        "frequency",
        "release",
        "format",
        "lang",
        "ordering",
        "cursor",
        "page_size",
        "layout",
        "q",
        "topic",
        "unit",
        "as_of",
        "updated_since",
        "period_start",
        "period_end",
        "derived",
    }
)


class Code(BilingualMixin, SearchTerms):
    codelist = models.ForeignKey(
        CodeList, on_delete=models.PROTECT, related_name="codes", verbose_name=_("code list")
    )
    code = models.CharField(_("code"), max_length=40, validators=[DIMENSION_CODE_VALIDATOR])
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    alt_code = models.CharField(
        _("alternative code"),
        max_length=40,
        blank=True,
        help_text=_("Another identifier of the same thing, e.g. ISO 3166-2 for provinces."),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    is_total = models.BooleanField(
        _("is the total"), default=False, help_text=_("The aggregate of the other codes (_T).")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["codelist", "order", "code"]
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        constraints = [
            models.UniqueConstraint(fields=["codelist", "code"], name="code_unique_in_codelist")
        ]

    def __str__(self) -> str:
        return f"{self.codelist_id}={self.code} ({self.name})"


class Indicator(BilingualMixin, SearchTerms):
    code = models.CharField(
        _("code"),
        max_length=60,
        unique=True,
        validators=[CODE_VALIDATOR],
        help_text=_("Stable identifier, usable as an SDMX id: A-Z, 0-9 and _."),
    )
    name_id = models.CharField(_("name (Indonesian)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255)
    description_id = models.TextField(_("description (Indonesian)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    unit = models.CharField(_("unit"), max_length=30, choices=Unit.choices)
    measure_kind = models.CharField(
        _("kind of measure"), max_length=20, choices=MeasureKind.choices
    )
    frequencies = models.CharField(
        _("frequencies"),
        max_length=4,
        default=Frequency.ANNUAL,
        help_text=_(
            "Letters of the frequencies it is published at, main one first: A, S, Q, M "
            "(e.g. AM for annual and monthly)."
        ),
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.PROTECT, related_name="indicators", verbose_name=_("topic")
    )
    dimensions = models.ManyToManyField(
        CodeList,
        related_name="indicators",
        verbose_name=_("dimensions"),
        help_text=_("The code lists that make up a series key of this indicator."),
    )
    source = models.CharField(_("source"), max_length=255, blank=True)
    methodology_id = models.TextField(_("methodology (Indonesian)"), blank=True)
    methodology_en = models.TextField(_("methodology (English)"), blank=True)
    compare_with = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="compared_by",
        verbose_name=_("look-alike"),
        help_text=_(
            "An indicator readers may take for this one (reported and computed, mid-year and "
            "year-end, another denominator): both pages show the two values side by side."
        ),
    )
    comparison_id = models.TextField(
        _("why they differ (Indonesian)"), blank=True, help_text=_("One sentence.")
    )
    comparison_en = models.TextField(_("why they differ (English)"), blank=True)
    negative_allowed = models.BooleanField(
        _("negative values allowed"),
        default=False,
        help_text=_("For net changes of a count; rates and changes in percent always allow them."),
    )
    decimals = models.PositiveSmallIntegerField(
        _("decimals shown"), default=0, help_text=_("Rounding for display only; values are exact.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["topic__order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    @property
    def frequency(self) -> str:
        """The main frequency."""
        return self.frequencies[:1]

    @property
    def allows_negative(self) -> bool:
        return self.negative_allowed or Unit.allows_negative(self.unit)

    def clean(self) -> None:
        letters = self.frequencies or ""
        valid = set(Frequency.values)
        if not letters or not set(letters) <= valid or len(set(letters)) != len(letters):
            raise ValidationError(
                {"frequencies": _("Give each of A, S, Q, M at most once, main frequency first.")}
            )


class Series(models.Model):
    """One indicator at one frequency and one combination of dimension codes."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="series", verbose_name=_("indicator")
    )
    frequency = models.CharField(_("frequency"), max_length=1, choices=Frequency.choices)
    key = models.CharField(
        _("series key"),
        max_length=255,
        help_text=_("Dimension codes in code-list order, e.g. region=ID,segment=BPU,program=_T."),
    )
    dimensions = models.JSONField(_("dimension codes"), default=dict)
    codes: "models.ManyToManyField[Code, SeriesCode]" = models.ManyToManyField(
        Code, through="SeriesCode", related_name="series", verbose_name=_("codes")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["indicator", "frequency", "key"]
        verbose_name = _("series")
        verbose_name_plural = _("series")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "frequency", "key"], name="series_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} [{self.frequency}] {self.key}"

    def has_data(self) -> bool:
        """Whether any value (published or draft) or target refers to this series."""
        observations = Observation.objects.filter(series_id=self.pk)
        # Drafts are indexed by release only (obs_vintages holds published rows): one
        # probe of obs_one_value_per_release per release, not a pass over the table.
        release = Observation._meta.get_field("release").related_model
        assert not isinstance(release, str)  # resolved once the apps are loaded
        return (
            observations.filter(valid_from__isnull=False).exists()
            or observations.filter(
                valid_from__isnull=True, release_id__in=release._default_manager.values("pk")
            ).exists()
            or self.targets.exists()
        )


class SeriesCode(models.Model):
    """The codes of a series key, one row each, indexed for filtering by dimension."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="series_codes")
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="series_codes")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "code"], name="seriescode_unique")]
        indexes = [models.Index(fields=["code", "series"], name="seriescode_code_series")]

    def __str__(self) -> str:
        return f"{self.series_id}: {self.code_id}"


def series_key(dimensions: dict[str, str], order: list[str]) -> str:
    """The canonical key text of a combination of codes, in code-list order."""
    return ",".join(f"{codelist}={dimensions[codelist]}" for codelist in order)


# ``ObservationQuerySet.as_of`` as a condition on an observation table aliased ``o``, its
# instant given twice, or ``valid_during`` (the window's end, then its start): for
# statements written without the ORM (the read API's page statement,
# ``stats.filtersets.ObservationFilterSet.sql_conditions``).
AS_OF_SQL = "o.valid_from <= %s AND (o.valid_to IS NULL OR o.valid_to > %s)"
# The first print (ALFRED's initial release) of each series and period published by an
# instant: the oldest of its vintages, revised since or not (``first_print`` in the ORM).
FIRST_PRINT_SQL = (
    "o.valid_from <= %s AND NOT EXISTS (SELECT 1 FROM stats_observation p "
    "WHERE p.series_id = o.series_id AND p.period_start = o.period_start "
    "AND p.valid_from < o.valid_from)"
)


class ObservationQuerySet(models.QuerySet):
    def published(self) -> "ObservationQuerySet":
        return self.filter(valid_from__isnull=False)

    def current(self) -> "ObservationQuerySet":
        """Published and not revised since: what the site shows now."""
        return self.filter(valid_from__isnull=False, valid_to__isnull=True)

    def as_of(self, at) -> "ObservationQuerySet":
        """What the site showed at the instant ``at`` (``AS_OF_SQL`` says it in SQL)."""
        return self.valid_during(start=at, end=at)

    def valid_during(self, *, start, end) -> "ObservationQuerySet":
        """Every vintage the site showed at some instant from ``start`` (None: since the
        first publication) to ``end``, both included: ALFRED's real-time period
        (``AS_OF_SQL`` with ``end``, then ``start``; ``as_of`` is the window of one instant)."""
        queryset = self.filter(valid_from__lte=end)
        if start is None:
            return queryset
        return queryset.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=start))

    def first_print(self, at) -> "ObservationQuerySet":
        """The first published value of each series and period, as the site had it at the
        instant ``at`` (``FIRST_PRINT_SQL`` says it in SQL)."""
        earlier = self.model.objects.filter(
            series_id=OuterRef("series_id"),
            period_start=OuterRef("period_start"),
            valid_from__lt=OuterRef("valid_from"),
        )
        return self.filter(valid_from__lte=at).exclude(Exists(earlier))

    def delete(self):
        if self.filter(valid_from__isnull=False).exists():
            raise PublishedDataError("Published observations cannot be deleted.")
        return super().delete()

    def update(self, **kwargs):
        # Only closing a vintage (valid_to) or publishing a draft (valid_from) may touch
        # published rows; the services do that with the raw manager below.
        if set(kwargs) - {"valid_to"} and self.filter(valid_from__isnull=False).exists():
            raise PublishedDataError("Published observations cannot be changed.")
        return super().update(**kwargs)


class ProvenanceInputHead(TypedDict):
    """The parts of a provenance input that depend on the input series only."""

    role: str
    indicator: str  # indicator code
    series_key: str


class ProvenanceInput(ProvenanceInputHead):
    """One input value a derived value was computed from."""

    period: str
    value: str  # exact_text of the value
    observation: int | None  # None: computed in the same run, not stored then


class ProvenanceHead(TypedDict):
    """The parts of a provenance that depend on the definition only."""

    kind: str
    formula: str
    formula_id: str


class Provenance(ProvenanceHead):
    """``Observation.provenance`` of a derived value (None for any other value): the
    formula, the expression with the numbers in it, and the inputs used, in that key
    order (the JSON text is built piecewise by stats.derived.writer; the SQL engine's
    rows store it in compact form, ``DerivedProvenanceHead``, and are read through
    stats.derived.provenance's ``provenance_sql`` and ``provenance_render``)."""

    expression: str
    inputs: list[ProvenanceInput]


class DerivedProvenanceHead(models.Model):
    """What the provenance of the derived values of one output series of one definition
    version shares, stored once (the SQL engine writes per value only the head's id and
    the ids of the input observations, ``{"head": id, "inputs": [...]}``; the function
    ``stats_provenance`` of migrations 0011 and 0013 renders the full ``Provenance`` from
    both when read). ``head``: kind, formula, formula_id, ``pieces`` (the expression's text around
    its input values: n + 1 pieces for n inputs) and ``inputs`` (role, indicator,
    series_key, and, to find an input computed in the same run, which has no observation
    id when its reader is computed: its series id and how many months before the value's
    period it lies). Deduplicated by content, and immutable (a trigger): a formula edited
    later gets a new head, so a published value keeps showing what it was computed with."""

    head = models.JSONField(editable=False)

    class Meta:
        db_table = "stats_provenancehead"
        constraints = [
            # On a digest: a head (a sum of many terms, a long formula) may be larger
            # than a btree entry can be.
            models.UniqueConstraint(
                MD5(Cast("head", models.TextField())), name="provenancehead_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.head.get('kind', '')} #{self.pk}"


class Observation(models.Model):
    series = models.ForeignKey(
        Series,
        on_delete=models.PROTECT,
        related_name="observations",
        verbose_name=_("series"),
        db_index=False,  # the composite indexes below start with series
        # Checked per statement by a PostgreSQL trigger instead of a per-row foreign key
        # (stats/migrations/0004): bulk imports run twice as fast, integrity is the same.
        db_constraint=False,
    )
    release = models.ForeignKey(
        "publications.Release",
        on_delete=models.PROTECT,
        related_name="observations",
        verbose_name=_("release"),
        db_index=False,  # the unique (release, series, period) constraint serves as index
        db_constraint=False,  # see series
    )
    period = models.CharField(_("period"), max_length=10)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(
        _("value"), max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ObservationStatus.choices,
        default=ObservationStatus.NORMAL,
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    reference_date = models.DateField(
        _("reference date"),
        null=True,
        blank=True,
        help_text=_("For year-to-date and mid-period figures: the date the value refers to."),
    )
    # Quoted: the field classes of django-stubs are generic, Django's are not.
    provenance: "models.JSONField[Provenance | None, Provenance | None]" = models.JSONField(
        _("provenance"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("For derived values: the formula and the exact input values used."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True, editable=False)
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ObservationQuerySet.as_manager()

    class Meta:
        ordering = ["series", "period_start", "valid_from"]
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        constraints = [
            models.UniqueConstraint(
                fields=["series", "period"],
                condition=Q(valid_from__isnull=False, valid_to__isnull=True),
                name="obs_one_current_value",
            ),
            models.UniqueConstraint(
                fields=["release", "series", "period"], name="obs_one_value_per_release"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=False, valid_to__gte=models.F("valid_from")),
                name="obs_valid_interval",
            ),
        ]
        indexes = [
            # One series, one cross-section, the latest value of each series: current rows.
            models.Index(
                fields=["series", "period_start"],
                condition=Q(valid_from__isnull=False, valid_to__isnull=True),
                name="obs_current_series_period",
            ),
            # As-of reads and revision history: every vintage of a series. Published rows
            # only: drafts are read by release (obs_one_value_per_release), so an import
            # pays no entry here; publishing rewrites the row and adds it.
            models.Index(
                fields=["series", "period_start", "valid_from"],
                condition=Q(valid_from__isnull=False),
                name="obs_vintages",
            ),
            # "Updated since": published rows only, so drafts cost no entry here.
            models.Index(
                fields=["valid_from"],
                condition=Q(valid_from__isnull=False),
                name="obs_published_valid_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series_id} {self.period} = {self.value}"

    @property
    def is_published(self) -> bool:
        return self.valid_from is not None

    def delete(self, *args, **kwargs):
        if self.pk and Observation.objects.filter(pk=self.pk, valid_from__isnull=False).exists():
            raise PublishedDataError("Published observations cannot be deleted.")
        return super().delete(*args, **kwargs)


class Target(models.Model):
    """A policy target for a series at a period (e.g. 70 million members in 2026)."""

    series = models.ForeignKey(
        Series, on_delete=models.PROTECT, related_name="targets", verbose_name=_("series")
    )
    period = models.CharField(_("period"), max_length=10)
    period_start = models.DateField(_("period start"), editable=False)
    value = models.DecimalField(
        _("value"), max_digits=VALUE_MAX_DIGITS, decimal_places=VALUE_DECIMAL_PLACES
    )
    document = models.CharField(_("document"), max_length=255)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["series", "period_start"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [models.UniqueConstraint(fields=["series", "period"], name="target_unique")]

    def __str__(self) -> str:
        return f"{self.series} {self.period} -> {self.value}"


def exact_text(value: Decimal) -> str:
    """A Decimal as plain text with no exponent and no trailing zeros: 12.9, 1001000000000000."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


class DerivedDefinition(models.Model):
    """How a derived indicator is computed from other series: kind, inputs, parameters.

    Declared as data: the engine in stats/derived/ knows the kinds, not the indicators.
    """

    indicator = models.OneToOneField(
        Indicator,
        on_delete=models.PROTECT,
        related_name="derivation",
        verbose_name=_("derived indicator"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=DerivedKind.choices)
    periods = models.PositiveSmallIntegerField(
        _("k periods"),
        default=1,
        help_text=_("For change and percent change: how many periods back."),
    )
    years = models.PositiveSmallIntegerField(
        _("n years"),
        default=1,
        help_text=_("For compound growth and multiples: over how many years."),
    )
    scale = models.DecimalField(
        _("scale"),
        max_digits=20,
        decimal_places=6,
        default=Decimal(1),
        help_text=_("Ratios are multiplied by it (100 for a percentage)."),
    )
    formula_id = models.CharField(_("formula (Indonesian)"), max_length=255, blank=True)
    formula_en = models.CharField(_("formula (English)"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("derived definition")
        verbose_name_plural = _("derived definitions")

    def __str__(self) -> str:
        return f"{self.indicator.code} = {self.get_kind_display()}"


class DerivedInput(models.Model):
    """One input of a definition: an indicator and the codes that select its series.

    ``codes`` maps a code list to a code (fixed), to ``*`` (every code but the total:
    the definition maps over that dimension), or leaves it out (follow the output's
    key). For ``b`` the codes override the key of the matching ``a`` series.
    """

    definition = models.ForeignKey(
        DerivedDefinition,
        on_delete=models.CASCADE,
        related_name="inputs",
        verbose_name=_("definition"),
    )
    role = models.CharField(_("role"), max_length=4, choices=InputRole.choices)
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="used_by", verbose_name=_("indicator")
    )
    codes = models.JSONField(_("codes"), default=dict, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["definition", "order", "role"]
        verbose_name = _("derived input")
        verbose_name_plural = _("derived inputs")

    def __str__(self) -> str:
        return f"{self.role}: {self.indicator.code} {self.codes}"


class DerivedGap(models.Model):
    """A derived value that could not be computed, and why (missing input, zero denominator)."""

    definition = models.ForeignKey(DerivedDefinition, on_delete=models.CASCADE, related_name="gaps")
    series_key = models.CharField(max_length=255)
    period = models.CharField(max_length=10)
    reason = models.CharField(max_length=255)
    release = models.ForeignKey(
        "publications.Release", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "series_key", "period"], name="derivedgap_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition.indicator.code} {self.series_key} {self.period}: {self.reason}"
