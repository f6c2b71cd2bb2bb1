"""Public pages of releases, news releases and the calendar (under a language prefix)."""

from django.urls import path

from . import views

app_name = "publications"

urlpatterns = [
    path("rilis/", views.release_list, name="releases"),
    path("rilis/feed.atom", views.release_feed, name="releases-feed"),
    path("rilis/<slug:slug>/", views.release_detail, name="release"),
    path("siaran-pers/", views.news_list, name="news"),
    path("siaran-pers/feed.atom", views.news_feed, name="news-feed"),
    path("siaran-pers/<slug:slug>/", views.news_detail, name="news-detail"),
    path("kalender/", views.calendar, name="calendar"),
    path("kalender/rilis.ics", views.calendar_ics, name="calendar-ics"),
]

# The site's home and search pages list figures, releases and news releases; config.urls
# serves them in the "stats" namespace, under the names they have always had.
site_urlpatterns = [
    path("", views.home, name="home"),
    path("cari/", views.search, name="search"),
]
