"""Routes of the statistics read API, under /api/v1/."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "stats-api"

# A series key: code list id = code, comma-separated (the code lists' and codes' own
# patterns, stats.models).
_PAIR = r"[a-z][a-z0-9_]*=[A-Za-z0-9_\-]+"
SERIES_KEY_PATTERN = rf"{_PAIR}(?:,{_PAIR})*"

router = SimpleRouter()
router.register("indicators", views.IndicatorViewSet, basename="indicator")
router.register("codelists", views.CodeListViewSet, basename="codelist")
router.register("series", views.SeriesViewSet, basename="series")
router.register("observations", views.ObservationViewSet, basename="observation")

# What the API root (/api/v1/) lists of these routes: name, URL name, one line.
RESOURCES = (
    (
        "indicators",
        "stats-api:indicator-list",
        "What is measured: code, names, unit, kind of measure, frequencies, next release.",
    ),
    (
        "codelists",
        "stats-api:codelist-list",
        "The dimensions of series keys (region, segment, programme) and their codes.",
    ),
    (
        "series",
        "stats-api:series-list",
        "One indicator at one combination of codes, with its latest value and vintages.",
    ),
    (
        "observations",
        "stats-api:observation-list",
        "The values, exact, as published now or at a past instant, or as first printed.",
    ),
)

urlpatterns = [
    # A series by its public identifier: indicator code, frequency and key (code lists
    # in the key's order), e.g. ACTIVE_PARTICIPANTS/A/region=ID,segment=_T,program=_T.
    re_path(
        r"^series/(?P<indicator>[A-Za-z0-9_]+)/(?P<frequency>[ASQM])/"
        rf"(?P<series_key>{SERIES_KEY_PATTERN})/vintages/$",
        views.SeriesVintagesViewSet.as_view({"get": "retrieve"}),
        name="series-vintages",
    ),
    *router.urls,
]
