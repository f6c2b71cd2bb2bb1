"""Routes of open data, outside the language prefix (their documents carry both
languages, or take ``?lang=``)."""

from django.urls import path, re_path

from . import views

app_name = "opendata"
# An indicator code (stats.models.CODE_VALIDATOR), any case: a wrong one is a 404.
CODE = r"(?P<code>[A-Za-z0-9_]+)"

urlpatterns = [
    path("catalog.jsonld", views.catalogue_jsonld, name="catalogue"),
    path("datapackage.json", views.site_datapackage, name="datapackage"),
    path("data/angka-data.zip", views.bulk_download, name="bulk"),
    re_path(rf"^data/{CODE}\.csv$", views.indicator_csv, name="indicator-csv"),
    re_path(rf"^data/{CODE}\.metadata\.json$", views.indicator_metadata, name="indicator-metadata"),
    re_path(
        rf"^data/{CODE}/datapackage\.json$",
        views.indicator_datapackage,
        name="indicator-datapackage",
    ),
]
