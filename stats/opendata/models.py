"""The open-data settings staff edit in the admin, and the record of the bulk download."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_LICENCE_ID = "CC-BY-4.0"
DEFAULT_LICENCE_TITLE = "Creative Commons Attribution 4.0 International"
DEFAULT_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
DEFAULT_PUBLISHER = "BPJS Ketenagakerjaan (BPJAMSOSTEK)"
DEFAULT_PUBLISHER_URL = "https://www.bpjsketenagakerjaan.go.id/"


class OpenDataSettings(models.Model):
    """The catalogue's licence, publisher, contact and citation: one row (``pk=1``).

    Until staff save it, the defaults below apply (``stats.opendata.licence``)."""

    SINGLETON_PK = 1

    title_id = models.CharField(
        _("catalogue title (Indonesian)"),
        max_length=200,
        default="angka: statistik jaminan sosial ketenagakerjaan",
    )
    title_en = models.CharField(
        _("catalogue title (English)"),
        max_length=200,
        default="angka: workers' social security statistics",
    )
    description_id = models.TextField(
        _("catalogue description (Indonesian)"),
        default="Statistik resmi BPJS Ketenagakerjaan: kepesertaan, dana kelolaan, iuran, "
        "manfaat, klaim dan layanan, dengan setiap revisi.",
    )
    description_en = models.TextField(
        _("catalogue description (English)"),
        default="Official statistics of BPJS Ketenagakerjaan: membership, funds under "
        "management, contributions, benefits, claims and services, with every revision.",
    )
    publisher_name = models.CharField(_("publisher"), max_length=200, default=DEFAULT_PUBLISHER)
    publisher_url = models.URLField(_("publisher's web site"), default=DEFAULT_PUBLISHER_URL)
    contact_name = models.CharField(
        _("contact point"), max_length=200, default="BPJS Ketenagakerjaan"
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_url = models.URLField(_("contact page"), default=DEFAULT_PUBLISHER_URL)
    licence_id = models.CharField(
        _("licence identifier"),
        max_length=60,
        default=DEFAULT_LICENCE_ID,
        help_text=_("Its SPDX identifier, e.g. CC-BY-4.0."),
    )
    licence_title = models.CharField(
        _("licence name"), max_length=200, default=DEFAULT_LICENCE_TITLE
    )
    licence_url = models.URLField(_("licence URL"), default=DEFAULT_LICENCE_URL)
    attribution_id = models.CharField(
        _("attribution (Indonesian)"),
        max_length=300,
        blank=True,
        help_text=_(
            "The credit line users are asked to show with the data; empty: the publisher "
            "and the licence."
        ),
    )
    attribution_en = models.CharField(
        _("attribution (English)"),
        max_length=300,
        blank=True,
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("open data settings")
        verbose_name_plural = _("open data settings")

    def __str__(self) -> str:
        return str(_("Licence, publisher and contact"))

    def save(self, *args, **kwargs):
        # One row: the catalogue has one licence and one publisher.
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)


class BulkDownload(models.Model):
    """One built bulk download (a zip of every public indicator's CSV and the data
    package), stored in the default storage under ``opendata/``; the newest is served."""

    file_name = models.CharField(_("file"), max_length=255, unique=True)
    etag = models.CharField(_("entity tag"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    data_version = models.CharField(
        _("data version"),
        max_length=64,
        help_text=_("What the public data were when it was built (see bulk.data_version)."),
    )
    data_at = models.DateTimeField(_("data as of"))
    built_at = models.DateTimeField(_("built"), auto_now_add=True)

    class Meta:
        ordering = ["-built_at", "-id"]
        verbose_name = _("bulk download")
        verbose_name_plural = _("bulk downloads")

    def __str__(self) -> str:
        return self.file_name
