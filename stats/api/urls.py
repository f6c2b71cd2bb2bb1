"""Routes of the statistics read API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

app_name = "stats-api"

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
        "The values, exact, as published now, at a past instant or over a real-time window.",
    ),
)

urlpatterns = router.urls
