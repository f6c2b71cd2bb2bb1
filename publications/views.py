"""Public pages of the publishing side: releases, news releases, calendar, feeds, and the
site's pages that list both figures and publications (home, search, sitemap).

Every read goes through publications.selectors (the embargo: a scheduled release shows
only its title and time in the calendar; its news release and values stay hidden) and,
for the figures, stats.selectors.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, translate_url
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from stats.pagecache import cached_page
from stats.selectors import (
    codes_search,
    codes_search_with_measure,
    indicators_public,
    indicators_search,
    topics_public,
)
from stats.views import expression_texts, headline_figures_shown

from .models import NewsRelease
from .news_markup import figure_references, figures_resolve, news_body_html
from .selectors import (
    calendar_entries_public,
    calendar_upcoming,
    news_public,
    news_public_filtered,
    news_public_in_language,
    news_search,
    news_translations_public,
    news_years_public,
    release_observations_public,
    release_public_get,
    releases_public,
    releases_search,
)

PAGE_SIZE = 20
SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 20
# What the search page offers to try, by language: an indicator, a place, a code.
SEARCH_EXAMPLES = {
    "id": ["dana kelolaan", "peserta", "Jabar", "ID-JB", "JHT"],
    "en": ["funds under management", "participants", "West Java", "ID-JB", "JHT"],
}


def _language() -> str:
    return "en" if (translation.get_language() or "id")[:2] == "en" else "id"


def _page_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


@cached_page
def release_list(request: HttpRequest) -> HttpResponse:
    number = _page_number(request)
    if number is None:
        context = {"error": _("page: use a whole number from 1")}
        return render(request, "publications/release_list.html", context, status=400)
    paginator = Paginator(releases_public(), PAGE_SIZE)
    if number > paginator.num_pages:
        raise Http404(_("page: there are only %(count)d pages") % {"count": paginator.num_pages})
    return render(request, "publications/release_list.html", {"page": paginator.page(number)})


@cached_page
def release_detail(request: HttpRequest, slug: str) -> HttpResponse:
    release = release_public_get(slug=slug)
    if release is None:
        raise Http404(_("No published release with this name."))
    observations = list(release_observations_public(release=release))
    published = [o for o in observations if o.provenance is None]
    derived = [o for o in observations if o.provenance is not None]
    expression_texts(derived, language=translation.get_language() or "id")
    context = {
        "release": release,
        "observations": published,
        "revisions": [o for o in published if o.previous_value is not None],
        "derived": derived,
        "news": list(news_public_in_language(language=_language()).filter(release=release)),
        "corrections": list(releases_public().filter(corrects=release)),
    }
    return render(request, "publications/release_detail.html", context)


@cached_page
def news_list(request: HttpRequest) -> HttpResponse:
    topic = request.GET.get("topic") or None
    raw_year = request.GET.get("year") or None
    topics = list(topics_public())
    errors = []
    if topic and topic not in {t.code for t in topics}:
        errors.append(_("topic: %(value)s is not a topic") % {"value": topic})
    year = None
    if raw_year:
        if raw_year.isdigit() and len(raw_year) == 4:
            year = int(raw_year)
        else:
            errors.append(_("year: use a four-digit year, e.g. 2024"))
    number = _page_number(request)
    if number is None:
        errors.append(_("page: use a whole number from 1"))
    context: dict = {"topics": topics, "years": news_years_public(), "topic": topic, "year": year}
    if errors:
        context["errors"] = errors
        return render(request, "publications/news_list.html", context, status=400)
    assert number is not None  # else among the errors
    paginator = Paginator(
        news_public_filtered(language=_language(), topic=topic, year=year), PAGE_SIZE
    )
    if number > paginator.num_pages:
        raise Http404(_("page: there are only %(count)d pages") % {"count": paginator.num_pages})
    context["page"] = paginator.page(number)
    return render(request, "publications/news_list.html", context)


def _news_url(news_release: NewsRelease) -> str:
    """A news release's page in its own language."""
    with translation.override(news_release.language):
        return reverse("publications:news-detail", args=[news_release.slug])


@cached_page
def news_detail(request: HttpRequest, slug: str) -> HttpResponse:
    language = _language()
    news_release = news_public().select_related("release").filter(slug=slug).first()
    if news_release is None:
        raise Http404(_("No published news release with this name."))
    translations = news_translations_public(news_release=news_release)
    if news_release.language != language and language in translations:
        # One news release in two languages: this page's language has its own text.
        return redirect(_news_url(translations[language]))
    figures = figures_resolve(
        references=figure_references(news_release.body), published_at=news_release.published_at
    )
    # hreflang names each translation at its own address; the switch opens the other
    # translation, or this text under the other language's interface when there is none.
    alternates = [
        (code, request.build_absolute_uri(_news_url(translations[code])))
        for code, _name in settings.LANGUAGES
        if code in translations
    ]
    language_switch = {
        code: _news_url(translations[code])
        if code in translations
        else translate_url(request.get_full_path(), code)
        for code, _name in settings.LANGUAGES
    }
    other = [t for code, t in translations.items() if code != news_release.language]
    context = {
        "news_release": news_release,
        "body": news_body_html(
            body=news_release.body, figures=figures, language=news_release.language
        ),
        "figures": [f for f in figures.values() if f.current is not None],
        "revised": any(f.revised for f in figures.values()),
        "indicators": list(
            news_release.indicators.filter(pk__in=indicators_public().values("pk")).order_by("code")
        ),
        "alternates": alternates,
        "canonical": request.build_absolute_uri(_news_url(news_release)),
        "language_switch": language_switch,
        "translation": other[0] if other else None,
        "translation_missing": news_release.language != language,
    }
    return render(request, "publications/news_detail.html", context)


@cached_page
def calendar(request: HttpRequest) -> HttpResponse:
    entries = calendar_entries_public()
    return render(request, "publications/calendar.html", entries)


def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


@cached_page
def calendar_ics(request: HttpRequest) -> HttpResponse:
    """The release calendar as iCalendar: subscribe once, see every scheduled release."""
    language = _language()
    entries = calendar_entries_public()
    host = request.get_host().split(":")[0] or "angka"
    stamp = _ics_instant(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//angka//release calendar//" + language.upper(),
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:" + _ics_escape(_("angka release calendar")),
        "X-WR-TIMEZONE:Asia/Jakarta",
    ]
    calendar_url = request.build_absolute_uri(reverse("publications:calendar"))
    for entry in entries["upcoming"]:
        title = entry["title_en"] if language == "en" and entry["title_en"] else entry["title_id"]
        lines += [
            "BEGIN:VEVENT",
            f"UID:release-{entry['pk']}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_instant(entry['scheduled_for'])}",
            f"DTEND:{_ics_instant(entry['scheduled_for'] + dt.timedelta(minutes=30))}",
            "SUMMARY:" + _ics_escape(title),
            "STATUS:CONFIRMED",
            f"URL:{calendar_url}",
            "END:VEVENT",
        ]
    for release in entries["past"]:
        url = request.build_absolute_uri(reverse("publications:release", args=[release.slug]))
        lines += [
            "BEGIN:VEVENT",
            f"UID:release-{release.pk}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_ics_instant(release.published_at)}",
            f"DTEND:{_ics_instant(release.published_at + dt.timedelta(minutes=30))}",
            "SUMMARY:" + _ics_escape(release.title),
            f"URL:{url}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    body = "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="angka-kalender-rilis.ics"'
    return response


class PublishedFeed(Feed):
    """An Atom feed of published things (releases, news releases), newest first."""

    feed_type = Atom1Feed

    def item_title(self, item):
        return item.title

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.published_at


class ReleaseFeed(PublishedFeed):
    """Atom feed of published releases."""

    title = gettext_lazy("angka: statistics releases")
    subtitle = gettext_lazy("Releases of BPJS Ketenagakerjaan statistics, newest first.")

    def link(self):
        return reverse("publications:releases")

    def items(self):
        return releases_public()[:50]

    def item_description(self, item):
        return item.localized("summary")

    def item_link(self, item):
        return reverse("publications:release", args=[item.slug])


class NewsFeed(PublishedFeed):
    """Atom feed of published news releases."""

    title = gettext_lazy("angka: news releases")
    subtitle = gettext_lazy("News releases on BPJS Ketenagakerjaan statistics, newest first.")

    def link(self):
        return reverse("publications:news")

    def items(self):
        return news_public_in_language(language=_language())[:50]

    def item_description(self, item):
        return item.lead

    def item_link(self, item):
        return reverse("publications:news-detail", args=[item.slug])


release_feed = cached_page(ReleaseFeed())
news_feed = cached_page(NewsFeed())


@cached_page
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "figures": headline_figures_shown(),
        "releases": list(releases_public()[:5]),
        "news": list(news_public_in_language(language=_language())[:4]),
        "upcoming": list(calendar_upcoming()[:4]),
        "topics": list(topics_public()),
    }
    return render(request, "publications/home.html", context)


@cached_page
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context: dict = {"query": query, "searched": False, "examples": SEARCH_EXAMPLES[_language()]}
    if query and len(query) < SEARCH_MIN_LENGTH:
        context["error"] = _("q: type at least %(count)d characters") % {"count": SEARCH_MIN_LENGTH}
        return render(request, "publications/search.html", context, status=400)
    if len(query) > 200:
        context["error"] = _("q: at most 200 characters")
        return render(request, "publications/search.html", context, status=400)
    if query:
        codes = codes_search(query=query, limit=SEARCH_LIMIT)
        indicators = list(indicators_search(query=query)[:SEARCH_LIMIT])
        if not codes and not indicators:
            # A measure and a place together ("peserta jawa barat"): the place with the
            # indicators the other words name.
            codes = codes_search_with_measure(query=query, limit=SEARCH_LIMIT)
        context.update(
            searched=True,
            codes=codes,
            # A place or code the query names exactly comes first ("32", "ID-JB", "JHT",
            # "Jawa Barat"); one it only mentions comes after the indicators.
            codes_first=any(found.exact for found in codes),
            indicators=indicators,
            releases=list(releases_search(query=query)[:SEARCH_LIMIT]),
            news=list(news_search(query=query, language=_language())[:SEARCH_LIMIT]),
        )
        context["total"] = sum(
            len(context[name]) for name in ("codes", "indicators", "releases", "news")
        )
    return render(request, "publications/search.html", context)


def _both_languages(path_name: str, *args) -> list[tuple[str, str]]:
    urls = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            urls.append((code, reverse(path_name, args=args)))
    return urls


@cached_page
def sitemap(request: HttpRequest) -> HttpResponse:
    """sitemap.xml: every public page in both languages, each naming its other language."""
    entries = []

    def add(name: str, *args, lastmod=None) -> None:
        alternates = [
            (code, request.build_absolute_uri(url)) for code, url in _both_languages(name, *args)
        ]
        for _code, url in alternates:
            entries.append({"loc": url, "alternates": alternates, "lastmod": lastmod})

    for name in (
        "stats:home",
        "stats:indicators",
        "stats:methodology",
        "publications:releases",
        "publications:news",
        "publications:calendar",
    ):
        add(name)
    for topic in topics_public():
        add("stats:methodology-topic", topic.code)
    for indicator in indicators_public().order_by("code"):
        add("stats:indicator", indicator.code, lastmod=indicator.updated_at)
    for release in releases_public():
        add("publications:release", release.slug, lastmod=release.published_at)
    # A news release is one page per translation, each at its own address in its own
    # language, naming the other translation (not the same text under the other interface).
    groups: dict[int, list[NewsRelease]] = {}
    for news_release in news_public().order_by("pk"):
        groups.setdefault(news_release.translation_of_id or news_release.pk, []).append(
            news_release
        )
    for translations in groups.values():
        ordered = sorted(translations, key=lambda n: n.language != "id")
        alternates = [(n.language, request.build_absolute_uri(_news_url(n))) for n in ordered]
        for news_release, (_code, url) in zip(ordered, alternates, strict=True):
            entries.append(
                {"loc": url, "alternates": alternates, "lastmod": news_release.published_at}
            )
    return render(
        request,
        "publications/sitemap.xml",
        {"entries": entries},
        content_type="application/xml; charset=utf-8",
    )
