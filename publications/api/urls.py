"""Routes of the publishing read API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

app_name = "publications-api"

router = SimpleRouter()
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("news", views.NewsReleaseViewSet, basename="news")
router.register("calendar", views.CalendarViewSet, basename="calendar")

urlpatterns = router.urls
