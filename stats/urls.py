"""Public pages of the statistics (under a language prefix: /id/..., /en/...).

The home and search pages, which list releases and news releases too, are
publications' (``publications.urls.site_urlpatterns``); config.urls adds them to this
namespace so that their names stay ``stats:home`` and ``stats:search``.
"""

from django.urls import path

from . import views

app_name = "stats"

urlpatterns = [
    path("indikator/", views.indicator_list, name="indicators"),
    path("indikator/<str:code>/", views.indicator_detail, name="indicator"),
    path("indikator/<str:code>/grafik.svg", views.indicator_svg, name="indicator-svg"),
    path("indikator/<str:code>/grafik.png", views.indicator_png, name="indicator-png"),
    path("indikator/<str:code>/embed/", views.indicator_embed, name="indicator-embed"),
    path("indikator/<str:code>/data.xlsx", views.indicator_xlsx, name="indicator-xlsx"),
    path("metodologi/", views.methodology, name="methodology"),
    path("metodologi/<slug:topic>/", views.methodology_topic, name="methodology-topic"),
]
