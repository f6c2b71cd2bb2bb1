"""Top-level URLs."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.api_root import api_root
from config.health import healthz, readyz
from publications import urls as publication_urls
from publications import views as publication_views
from stats import urls as stats_urls
from stats import views as stats_views
from stats.api.views import api_not_found

# Swagger UI and Redoc style their pages inline (Redoc also searches in a worker made from
# a blob); their script comes from files all the same (the split view serves Swagger UI's
# set-up script as one).
docs_policy = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

# A database lost under a request raised outside a view: 503, not 500 (config.middleware).
handler500 = "config.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/v1/", api_root, name="api-root"),
    path("api/v1/", include("stats.api.urls")),
    path("api/v1/", include("publications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        docs_policy(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        docs_policy(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
    re_path(r"^api/", api_not_found),
    path("sdmx/", include("stats.sdmx.urls")),
    # The public site: /id/... (the default, / leads there) and /en/...
    path("", stats_views.language_root, name="language-root"),
    path("robots.txt", stats_views.robots, name="robots"),
    path("sitemap.xml", publication_views.sitemap, name="sitemap"),
    path("", include("stats.opendata.urls")),
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
