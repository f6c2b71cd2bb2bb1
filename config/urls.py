"""Top-level URLs."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from publications import urls as publication_urls
from publications import views as publication_views
from stats import urls as stats_urls
from stats import views as stats_views
from stats.api.views import api_not_found


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("stats.api.urls")),
    path("api/v1/", include("publications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^api/", api_not_found),
    path("sdmx/", include("stats.sdmx.urls")),
    # The public site: /id/... (the default, / leads there) and /en/...
    path("", stats_views.language_root, name="language-root"),
    path("robots.txt", stats_views.robots, name="robots"),
    path("sitemap.xml", publication_views.sitemap, name="sitemap"),
]
urlpatterns += i18n_patterns(
    # The statistics pages and the site's home and search (publications' views, which
    # list releases too) share the "stats" namespace: their URL names never changed.
    path(
        "",
        include(
            (
                [*publication_urls.site_urlpatterns, *stats_urls.urlpatterns],
                stats_urls.app_name,
            )
        ),
    ),
    path("", include("publications.urls")),
)
