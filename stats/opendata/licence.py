"""The licence, publisher, contact and citation of everything the site publishes.

One place says them (``OpenDataSettings``, edited by staff in the admin; its defaults
until then): the API's headers, the CSV metadata, the data packages, the DCAT catalogue
and the pages' JSON-LD all take them from ``attribution()``, read once per worker and
data generation (saving the settings in the admin ends the generation).
"""

from __future__ import annotations

from dataclasses import dataclass

from stats.events import generation, generation_memo

from .models import OpenDataSettings


@dataclass(frozen=True)
class Attribution:
    title_id: str
    title_en: str
    description_id: str
    description_en: str
    publisher_name: str
    publisher_url: str
    contact_name: str
    contact_email: str
    contact_url: str
    licence_id: str
    licence_title: str
    licence_url: str
    attribution_id: str
    attribution_en: str

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_id

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_id

    def credit(self, language: str) -> str:
        """The credit line to show with the data: staff's text, or publisher and licence."""
        given = self.attribution_en if language == "en" else self.attribution_id
        if given:
            return given
        if language == "en":
            return f"Source: {self.publisher_name}, via angka ({self.licence_id})."
        return f"Sumber: {self.publisher_name}, melalui angka ({self.licence_id})."

    def link_header(self) -> str:
        """The ``Link`` header value naming the licence (RFC 8288, rel="license")."""
        return f'<{self.licence_url}>; rel="license"'

    def licence(self) -> dict[str, str]:
        """The licence as a Frictionless ``licenses`` entry."""
        return {"name": self.licence_id, "path": self.licence_url, "title": self.licence_title}

    def publisher(self) -> dict[str, str]:
        return {"name": self.publisher_name, "url": self.publisher_url}

    def contact(self) -> dict[str, str]:
        found = {"name": self.contact_name, "url": self.contact_url}
        if self.contact_email:
            found["email"] = self.contact_email
        return found


def attribution_load() -> Attribution:
    """The settings as saved, or their defaults (one query)."""
    settings = OpenDataSettings.objects.filter(pk=OpenDataSettings.SINGLETON_PK).first()
    settings = settings or OpenDataSettings()
    return Attribution(
        **{name: getattr(settings, name) for name in Attribution.__dataclass_fields__}
    )


def attribution(*, token: str | None = None) -> Attribution:
    """The current attribution, read once per worker process and data generation
    (``token``: the generation the caller reads under, default the current one)."""
    return generation_memo(token or generation(), "opendata-attribution", attribution_load)


def citation_text(
    *,
    publisher: str,
    title: str,
    url: str,
    language: str,
    release: str = "",
    as_of: str = "",
) -> str:
    """How to cite a table of the site: who, what, where.

    ``release`` and ``as_of`` pin the citation to the release it quotes and the instant
    its values stood (``url`` then names that instant)."""
    english = language == "en"
    pinned = ""
    if release:
        pinned += f" {'Release' if english else 'Rilis'}: {release}."
    if as_of:
        pinned += f" {'As published on' if english else 'Sebagaimana dipublikasikan pada'} {as_of}."
    return f"{publisher}. {title}. angka.{pinned} {url}"
