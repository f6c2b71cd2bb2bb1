"""Public pages of the statistics (under a language prefix: /id/..., /en/...)."""

from django.urls import path

from . import views

app_name = "stats"

urlpatterns = [
    path("", views.home, name="home"),
    path("indikator/", views.indicator_list, name="indicators"),
    path("indikator/<str:code>/", views.indicator_detail, name="indicator"),
    path("indikator/<str:code>/grafik.svg", views.indicator_svg, name="indicator-svg"),
    path("indikator/<str:code>/grafik.png", views.indicator_png, name="indicator-png"),
    path("metodologi/", views.methodology, name="methodology"),
    path("metodologi/<slug:topic>/", views.methodology_topic, name="methodology-topic"),
    path("cari/", views.search, name="search"),
]
