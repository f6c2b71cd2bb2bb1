"""Routes of the SDMX 2.1 REST service, under /sdmx/ (the standard's path forms)."""

from django.urls import re_path

from . import views

app_name = "sdmx"

_PART = r"[^/]+"

urlpatterns = [
    re_path(
        rf"^data/(?P<flow>{_PART})(?:/(?P<key>{_PART})(?:/(?P<provider>{_PART}))?)?/?$",
        views.data,
        name="data",
    ),
    re_path(
        rf"^(?P<resource>[a-z]+)(?:/(?P<agency>{_PART})(?:/(?P<resource_id>{_PART})"
        rf"(?:/(?P<version>{_PART})(?:/(?P<item>{_PART}))?)?)?)?/?$",
        views.structure,
        name="structure",
    ),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
