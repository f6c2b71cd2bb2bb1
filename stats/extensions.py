"""What apps built on stats add to its pages and caches, without stats naming them.

Stats knows nothing of publishing. An app that publishes on top of it (releases, news
releases, a calendar) registers one ``SiteExtension`` from its ``AppConfig.ready()``;
the caches then also follow what it makes public, and the indicator page shows what it
links to a value or an indicator. With no extension registered, stats works alone: its
caches follow its own edits and its pages show its own data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ScheduledRelease:
    """What the release calendar tells of a scheduled release (nothing of its content:
    it is under embargo): its slug, time, title and where the calendar lists it."""

    slug: str
    scheduled_for: dt.datetime
    path: str  # its page, public from its release time
    title_id: str
    title_en: str
    calendar_path: str  # its entry in the calendar


class SiteExtension(Protocol):
    def last_change_at(self, *, now: dt.datetime) -> dt.datetime | None:
        """The newest instant, up to ``now``, at which something it owns became public."""

    def next_change_at(self, *, now: dt.datetime) -> dt.datetime | None:
        """The next instant after ``now`` at which something it owns becomes public by itself."""

    def releases_public(self, *, now: dt.datetime) -> dict[str, int]:
        """Slug to id of the releases the public can see at ``now``."""

    def release_links(self, *, release_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """The page URL and title of each release an observation names (by ``release_id``)."""

    def next_release(self, *, indicator_id: int) -> ScheduledRelease | None:
        """The soonest release scheduled to update the indicator ``indicator_id``, or
        None. Asked only of a public indicator."""

    def indicator_sections(self, *, indicator, request) -> list[str]:
        """Sections of the indicator page of ``indicator``, as HTML, shown after its data."""


_registered: list[SiteExtension] = []


def extension_register(extension: SiteExtension) -> None:
    """Add ``extension`` (once; ``ready()`` may run more than once in tests)."""
    if extension not in _registered:
        _registered.append(extension)


def extensions() -> tuple[SiteExtension, ...]:
    return tuple(_registered)
