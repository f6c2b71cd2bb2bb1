"""The OpenAPI description of the read API (served at /api/schema/), in one place.

Every public read endpoint (``base.PublicReadMixin``) is described by ``PublicReadSchema``,
so what they share is stated once: no security requirement (the API is public; a token
only raises the rate limit), the parameters each action accepts and nothing else (lists:
their filters, ``format``, ``lang``, the cursor and page size, ``ordering`` where there is
a choice; items: ``format`` and ``lang``), each filter's values exactly as its parser
accepts them (``Filter.openapi_schema`` in the filter sets), CSV as ``text/csv`` and XLSX
as its media type on lists, and the error answers (400 with the parameters at fault,
404, 406, 429) with their JSON. The views give each operation its summary and
description; a view's docstring, written for this code's readers, is never shown to API
users. The schema is generated in English whatever the request's language.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from stats.filtersets import CatalogueLookups
from stats.opendata import xlsx

from .base import DEFAULT_PAGE_SIZE, FORMATS, LANGUAGE_CODES, MAX_PAGE_SIZE

logger = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
XLSX = xlsx.MEDIA_TYPE


class ParameterErrorsSerializer(serializers.Serializer):
    # Named as the answer names it; DRF's metaclass takes the declared field out of the
    # class, so the serializer's own ``errors`` is untouched (the stubs see a clash).
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="For each parameter at fault (or `path`, or `non_field_errors`), the "
        "reasons, in English. Every bad parameter of the request is listed at once.",
    )


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in English.")


PARAMETER_ERRORS = OpenApiResponse(
    ParameterErrorsSerializer,
    description="A parameter is unknown, repeated, empty or has a value this resource does "
    "not accept (an unknown code, a malformed period or instant, a cursor not given by the "
    "API, a combination that does not go together). Nothing is filtered silently.",
)

CACHE_HEADERS = {
    "ETag": {
        "description": "Validator of this answer; it changes when data are published. Send "
        "it back in If-None-Match for a 304.",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "The last publication (or catalogue edit) this answer reflects.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long a browser, proxy or CDN may keep the answer.",
        "schema": {"type": "string"},
    },
}


def _parameter(name: str, schema: dict, description: str, **extra) -> dict:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def _enum(values) -> dict:
    return {"type": "string", "enum": list(values)}


class PublicReadSchema(AutoSchema):
    """How drf-spectacular describes a public read endpoint (see the module docstring)."""

    @property
    def is_list(self) -> bool:
        return getattr(self.view, "action", None) == "list"

    def get_auth(self):
        # Public: anonymous callers are served; a token (Authorization: Token <key>)
        # only raises the rate limit, as the API's description says.
        return []

    def get_description(self):
        # Only what the view gives with extend_schema: never its docstring.
        return ""

    def _map_basic_serializer(self, serializer, direction):
        # A serializer's docstring is written for this code's readers; API users get its
        # ``api_description``, if it has one.
        component = super()._map_basic_serializer(serializer, direction)
        component.pop("description", None)
        description = getattr(serializer, "api_description", "")
        if description:
            component["description"] = description
        return component

    # --- parameters ---

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            # The model field's verbose name and help text are written for staff.
            parameter["schema"].pop("title", None)
            parameter["schema"].pop("description", None)
            descriptions = getattr(self.view, "path_descriptions", {})
            parameter["description"] = descriptions.get(
                parameter["name"], getattr(self.view, "lookup_description", "")
            )
        return parameters

    def _get_filter_parameters(self):
        if not self.is_list:
            return []
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return []
        lookups = CatalogueLookups()
        try:
            filterset = filterset_class(
                queryset=filterset_class._meta.model.objects.none(), lookups=lookups
            )
            return [
                _parameter(
                    name,
                    filter_.openapi_schema(lookups),
                    str(filter_.extra.get("help_text", "")),
                )
                for name, filter_ in filterset.filters.items()
            ]
        except DatabaseError:
            # The filters' values are data: before the first migration (``check --deploy``
            # of a new deployment) there are none to describe yet.
            logger.warning("OpenAPI schema without filter parameters: the database is not ready")
            return []

    def _get_pagination_parameters(self):
        if not self.is_list:
            return []
        parameters = [
            _parameter(
                "cursor",
                {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                "Position in the list: take it from the `next` or `previous` link of a "
                "page, as given (any other value is refused).",
            ),
            _parameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}). "
                "Not with format=csv or xlsx, which are not paged.",
            ),
        ]
        options = getattr(self.view, "ordering_options", {})
        if len(options) > 1:
            parameters.append(
                _parameter(
                    "ordering",
                    _enum(options),
                    f"Sort order (default {self.view.default_ordering}); a `-` sorts "
                    "from the largest.",
                )
            )
        return parameters

    def _get_format_parameters(self):
        if self.is_list:
            format_parameter = _parameter(
                "format",
                _enum(FORMATS),
                "json (default), csv (Accept: text/csv works too) or xlsx (Accept: "
                f"{XLSX} works too). CSV is UTF-8 with one header row and exact values with "
                "a dot decimal; it is not paged: it streams the whole result. XLSX has the "
                "CSV's columns and texts on a `data` sheet (observations: `value` as a "
                "number, `value_exact` beside it as the exact text) and a `metadata` sheet "
                "(licence, publisher, attribution, the query, when it was generated); it "
                f"holds the whole result up to {xlsx.MAX_ROWS} rows, a 400 naming `format` "
                "past that (use CSV).",
            )
        else:
            format_parameter = _parameter(
                "format", _enum(["json"]), "json, the only format of a single item."
            )
        language = _parameter(
            "lang",
            _enum(LANGUAGE_CODES),
            "Language of names and texts: id (Indonesian, the default) or en (English); "
            "Accept-Language works too.",
        )
        return [format_parameter, language]

    def _get_parameters(self):
        parameters = super()._get_parameters()
        return sorted(parameters, key=lambda parameter: (parameter["in"], parameter["name"]))

    # --- responses ---

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        ok = responses["200"]
        ok["description"] = "The list, one page of it in JSON." if self.is_list else "The item."
        ok["headers"] = CACHE_HEADERS
        content = ok["content"]
        shapes = getattr(self.view, "other_json_shapes", ())
        if self.is_list and shapes:
            alternatives = [self.resolve_serializer(shape, direction).ref for shape in shapes]
            page = content[JSON]["schema"]
            content[JSON]["schema"] = {"oneOf": [page, *alternatives]}
        if CSV in content:
            content[CSV] = {
                "schema": {
                    "type": "string",
                    "description": "CSV: UTF-8, one header row, the columns of the JSON rows "
                    "(code lists as code and name pairs).",
                }
            }
        if XLSX in content:
            content[XLSX] = {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "description": "XLSX workbook: a `data` sheet with the CSV's columns "
                    f"and a `metadata` sheet; at most {xlsx.MAX_ROWS} rows.",
                }
            }
            ok["headers"] = {
                **CACHE_HEADERS,
                "Content-Disposition": {
                    "description": "For CSV and XLSX: the file name to save it under.",
                    "schema": {"type": "string"},
                },
            }
        responses["304"] = {
            "description": "Not modified: the ETag given in If-None-Match (or the time in "
            "If-Modified-Since) is still current.",
            "headers": CACHE_HEADERS,
        }
        responses["400"] = self._get_response_for_code(PARAMETER_ERRORS, "400", [JSON])
        if not self.is_list and getattr(self.view, "item_can_be_missing", True):
            responses["404"] = self._error("No public item has this key.", "404")
        responses["406"] = self._error(
            "The Accept header asks for a type this resource does not give (lists: JSON, "
            "CSV or XLSX; items: JSON).",
            "406",
        )
        responses["429"] = self._error(
            "Too many requests from this client: wait for the seconds in Retry-After. An API "
            "token raises the limit.",
            "429",
        )
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "integer"},
                "required": True,
            }
        }
        return responses

    def _error(self, description: str, code: str) -> dict:
        return self._get_response_for_code(
            OpenApiResponse(ErrorDetailSerializer, description=description), code, [JSON]
        )


class EnglishSchemaGenerator(SchemaGenerator):
    """The schema in English: field titles come from the models' (translated) names."""

    def get_schema(self, request=None, public=False):
        with translation.override("en"):
            return super().get_schema(request=request, public=public)
