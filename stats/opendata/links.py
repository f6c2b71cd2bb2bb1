"""The absolute URLs of an indicator's page, downloads and open-data documents."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from stats.models import Indicator


class Urls:
    """The absolute URLs of an indicator's page, downloads and documents."""

    def __init__(self, request: HttpRequest):
        self.request = request

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)

    def __call__(self, indicator: Indicator, kind: str) -> str:
        code = indicator.code
        if kind == "page":
            return self.absolute(reverse("stats:indicator", args=[code]))
        if kind == "csv":
            return self.absolute(reverse("opendata:indicator-csv", kwargs={"code": code}))
        if kind == "metadata":
            return self.absolute(reverse("opendata:indicator-metadata", kwargs={"code": code}))
        if kind == "datapackage":
            return self.absolute(reverse("opendata:indicator-datapackage", kwargs={"code": code}))
        if kind == "json":
            return self.absolute(f"/api/v1/observations/?{urlencode({'indicator': code})}")
        if kind == "xlsx":
            query = urlencode({"indicator": code, "format": "xlsx"})
            return self.absolute(f"/api/v1/observations/?{query}")
        if kind == "sdmx":
            # The SDMX REST data query of the indicator's dataflow (its id is the code).
            return self.absolute(f"/sdmx/data/{code}/all")
        raise ValueError(kind)
