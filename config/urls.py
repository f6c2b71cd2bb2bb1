"""Top-level URLs."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from stats import views as site_views
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
    # The public site: /id/... (the default, / leads there) and /en/...
    path("", site_views.language_root, name="language-root"),
    path("robots.txt", site_views.robots, name="robots"),
    path("sitemap.xml", site_views.sitemap, name="sitemap"),
]
urlpatterns += i18n_patterns(
    path("", include("stats.urls")),
    path("", include("publications.urls")),
)
