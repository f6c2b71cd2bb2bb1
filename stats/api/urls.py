"""Routes of the statistics read API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

app_name = "stats-api"

router = SimpleRouter()
router.register("indicators", views.IndicatorViewSet, basename="indicator")
router.register("codelists", views.CodeListViewSet, basename="codelist")
router.register("series", views.SeriesViewSet, basename="series")
router.register("observations", views.ObservationViewSet, basename="observation")

urlpatterns = router.urls
