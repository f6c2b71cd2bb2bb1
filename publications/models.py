"""Releases (the container whose publication makes observations public) and news releases.

The lifecycle (review, four eyes, schedule, embargo) is written as services in
publications/services.py; the models only hold state.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stats.models import BilingualMixin

from .choices import Language, ReleaseStatus


class Release(BilingualMixin, models.Model):
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    title_id = models.CharField(_("title (Indonesian)"), max_length=255)
    title_en = models.CharField(_("title (English)"), max_length=255)
    summary_id = models.TextField(_("summary (Indonesian)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    source = models.CharField(_("source"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ReleaseStatus.choices, default=ReleaseStatus.DRAFT
    )
    scheduled_for = models.DateTimeField(_("release time"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-scheduled_for", "-created_at"]
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        indexes = [models.Index(fields=["status", "scheduled_for"], name="release_status_time")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def is_published(self) -> bool:
        return self.status == ReleaseStatus.PUBLISHED


class NewsRelease(models.Model):
    """A press release (siaran pers), written by editors in Markdown."""

    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="news_releases",
        verbose_name=_("release"),
        help_text=_("The statistics release it accompanies; it is published together with it."),
    )
    slug = models.SlugField(_("slug"), max_length=160, unique=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.INDONESIAN
    )
    title = models.CharField(_("title"), max_length=255)
    lead = models.TextField(_("lead"), help_text=_("The opening paragraph, shown in lists."))
    body = models.TextField(_("body"), help_text=_("Markdown."))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("editor"),
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    indicators = models.ManyToManyField(
        "stats.Indicator",
        blank=True,
        related_name="news_releases",
        verbose_name=_("related indicators"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("news release")
        verbose_name_plural = _("news releases")
        indexes = [models.Index(fields=["published_at"], name="news_published_at")]

    def __str__(self) -> str:
        return self.title
