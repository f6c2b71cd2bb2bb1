"""Routes of the publishing read API, under /api/v1/."""

from rest_framework.routers import SimpleRouter

from . import views

app_name = "publications-api"

router = SimpleRouter()
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("news", views.NewsReleaseViewSet, basename="news")
router.register("calendar", views.CalendarViewSet, basename="calendar")

# What the API root (/api/v1/) lists of these routes: name, URL name, one line.
RESOURCES = (
    ("releases", "publications-api:release-list", "Published releases, newest first."),
    ("news", "publications-api:news-list", "Published news releases, newest first."),
    (
        "calendar",
        "publications-api:calendar-list",
        "Releases scheduled to come out, with the indicators each will update.",
    ),
)

urlpatterns = router.urls
