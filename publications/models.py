"""Releases (the container whose publication makes observations public) and news releases.

The lifecycle (review, four eyes, schedule, embargo) is written as services in
publications/services.py; the models only hold state.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stats.models import BilingualMixin

from .choices import Language, RecomputeStatus, ReleaseStatus

# The three roles, as Django groups (created by migration 0004). The services check the
# permissions below, so a user may also be given them one by one.
ROLE_DATA_ENTRY = "Entri data"
ROLE_REVIEWER = "Peninjau"
ROLE_EDITOR = "Editor"

PERM_SUBMIT = "publications.submit_release"
PERM_REVIEW = "publications.review_release"
PERM_ADD_RELEASE = "publications.add_release"
PERM_CHANGE_RELEASE = "publications.change_release"
PERM_ADD_NEWS = "publications.add_newsrelease"
PERM_CHANGE_NEWS = "publications.change_newsrelease"
PERM_PUBLISH_NEWS = "publications.publish_newsrelease"


class AuditAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    SUBMITTED = "submitted", _("Submitted for review")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned to draft")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHED = "published", _("Published")
    CANCELLED = "cancelled", _("Cancelled")
    NEWS_SAVED = "news_saved", _("News release saved")
    NEWS_PUBLISHED = "news_published", _("News release published")


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
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-scheduled_for", "-created_at"]
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        indexes = [models.Index(fields=["status", "scheduled_for"], name="release_status_time")]
        permissions = [
            ("submit_release", _("Can submit a release for review")),
            ("review_release", _("Can approve, schedule, publish and cancel a release")),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def is_published(self) -> bool:
        return self.status == ReleaseStatus.PUBLISHED

    @property
    def is_approved(self) -> bool:
        return self.approved_by_id is not None


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
    translation_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="translations",
        verbose_name=_("translation of"),
        help_text=_(
            "The news release (in the other language) this one translates: the two are one "
            "news release in two languages, listed once per language and linked to each other."
        ),
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
        constraints = [
            # One translation per language of a news release, and none of itself.
            models.UniqueConstraint(
                fields=["translation_of", "language"], name="news_one_translation_per_language"
            ),
            models.CheckConstraint(
                condition=~models.Q(translation_of=models.F("id")),
                name="news_not_a_translation_of_itself",
            ),
        ]
        permissions = [("publish_newsrelease", _("Can publish a news release"))]

    def __str__(self) -> str:
        return self.title

    @property
    def translation_group_id(self) -> int | None:
        """The original's id, shared by every translation of one news release."""
        return self.translation_of_id or self.pk


class AuditEntryImmutable(Exception):
    """Raised when something tries to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditEntryImmutable("The audit trail cannot be changed.")

    def delete(self):
        raise AuditEntryImmutable("The audit trail cannot be deleted.")


class AuditEntry(models.Model):
    """One change of a release or news release: who, when, before, after and why.

    Written by the service that makes the change, in the same transaction; never
    changed nor deleted afterwards.
    """

    release = models.ForeignKey(
        Release,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
        verbose_name=_("release"),
    )
    news_release = models.ForeignKey(
        NewsRelease,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
        verbose_name=_("news release"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the system acted (the scheduler, the demo loader)."),
    )
    at = models.DateTimeField(_("at"))
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    from_status = models.CharField(
        _("status before"), max_length=12, choices=ReleaseStatus.choices, blank=True
    )
    to_status = models.CharField(
        _("status after"), max_length=12, choices=ReleaseStatus.choices, blank=True
    )
    reason = models.TextField(_("reason"), blank=True)
    changes = models.JSONField(
        _("changes"),
        default=dict,
        blank=True,
        help_text=_("Field by field: [before, after]; for a publication, what was published."),
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["release", "at"], name="audit_release_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditEntryImmutable("The audit trail cannot be changed.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryImmutable("The audit trail cannot be deleted.")


class RecomputeRequest(models.Model):
    """Outbox: written with a publication, cleared when the derived values are confirmed."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="recompute_requests"
    )
    status = models.CharField(
        max_length=10, choices=RecomputeStatus.choices, default=RecomputeStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # When a failed request is tried again (by the sweeper); none unless it failed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="recompute_status")]

    def __str__(self) -> str:
        return f"recompute {self.release_id} ({self.status})"
