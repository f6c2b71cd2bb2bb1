"""The demo's releases and news releases: the load_demo command loads idempotently, and
each news release is published with its release and cites figures that exist."""

from django.core.management import call_command

from publications.models import NewsRelease, Release
from publications.news_markup import FIGURE_PATTERN
from stats.models import Code, Indicator, Observation, Series, Target


def counts():
    return (
        Observation.objects.count(),
        Series.objects.count(),
        Release.objects.count(),
        Target.objects.count(),
        Code.objects.count(),
        Indicator.objects.count(),
    )


def test_loading_the_demo_twice_duplicates_nothing(db, capsys):
    call_command("load_demo", "--with-staff")
    first = counts()
    call_command("load_demo", "--with-staff")
    assert counts() == first
    output = capsys.readouterr().out
    assert "0 release(s) published now" in output and "password unchanged" in output


def test_demo_news_releases_are_published_with_their_release_and_cite_real_figures(demo):
    news = NewsRelease.objects.select_related("release").order_by("slug")
    assert {n.language for n in news} == {"id", "en"}
    for item in news:
        assert item.published_at == item.release.published_at
        cited = list(FIGURE_PATTERN.finditer(item.body))
        assert cited, item.slug
        for match in cited:
            codes = {"region": "ID", "segment": "_T", "program": "_T"}
            codes.update(dict(pair.split("=") for pair in match["codes"].split()))
            key = ",".join(f"{k}={codes[k]}" for k in ("region", "segment", "program"))
            assert (
                Observation.objects.published()
                .filter(
                    series__indicator__code=match["indicator"],
                    series__key=key,
                    period=match["period"],
                )
                .exists()
            ), match.group(0)
