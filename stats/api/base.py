"""What every public read endpoint shares: strict parameters, errors, formats,
keyset pagination, conditional requests, the response cache and rate limits.

The contract (see the OpenAPI description at /api/schema/):

- every query parameter is checked before any work: an unknown, repeated, empty or
  malformed one gives a 400 ``{"errors": {"<parameter>": ["<reason>", ...]}}`` listing
  every bad parameter at once;
- JSON by default, CSV for lists (``?format=csv`` or ``Accept: text/csv``) and XLSX
  (``?format=xlsx`` or its media type; at most ``xlsx.MAX_ROWS`` rows, a 400 past it),
  errors always JSON;
- lists page with an opaque cursor over a unique sort key (``next``/``previous``), so a
  walk visits each row once; observation cursors also pin the instant of the first
  page, so publications during a walk do not shift it;
- every answer names the licence of the data in a ``Link`` header (``rel="license"``);
  a CSV also links the metadata that describes it (``rel="describedby"``);
- ``ETag``/``Last-Modified`` follow the last publication: a conditional request is
  answered 304 before the query runs (``stats.api.cache.not_modified``); the rendered
  JSON is cached under the data generation (``stats.events``), which a publication or
  an edit in the admin ends, and anonymous hits are served by
  ``ApiResponseCacheMiddleware`` before DRF, without SQL.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import datetime as dt
import decimal
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import BooleanField, F, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, ModelSerializer
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from stats.events import generation_memo
from stats.filtersets import CatalogueLookups
from stats.opendata import xlsx
from stats.opendata.licence import attribution
from stats.renderers import CSVRenderer, csv_streaming_response
from stats.selectors import last_publication_at

from .cache import not_modified, request_generation, response_cache_key, response_cache_on
from .throttling import ApiAnonThrottle, ApiUserThrottle

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)
FORMATS = ("json", "csv", "xlsx")


# --- errors ---


class NotModified(exceptions.APIException):
    status_code = status.HTTP_304_NOT_MODIFIED
    default_detail = ""


def _messages(detail) -> list[str]:
    if isinstance(detail, list | tuple):
        return [str(item) for item in detail]
    return [str(detail)]


def api_exception_handler(exc, context):
    """400s as ``{"errors": {parameter: [reason]}}``; 304 without a body; others as DRF."""
    if isinstance(exc, NotModified):
        return Response(status=status.HTTP_304_NOT_MODIFIED)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            errors = {str(name): _messages(messages) for name, messages in detail.items()}
        else:
            errors = {"non_field_errors": _messages(detail)}
        response.data = {"errors": errors}
    return response


# --- cursor ---


class CursorError(ValueError):
    pass


def _encode_value(value) -> list:
    if isinstance(value, dt.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, decimal.Decimal):
        return ["n", str(value)]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    return ["s", str(value)]


def _decode_value(pair):
    tag, raw = pair
    if tag == "t":
        return dt.datetime.fromisoformat(raw)
    if tag == "d":
        return dt.date.fromisoformat(raw)
    if tag == "n":
        return decimal.Decimal(raw)
    if tag == "b" and isinstance(raw, bool):
        return raw
    if tag == "i" and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if tag == "s" and isinstance(raw, str):
        return raw
    raise CursorError(tag)


@dataclass(frozen=True)
class Cursor:
    ordering: str
    position: tuple
    reverse: bool
    at: dt.datetime | None = None

    def encode(self) -> str:
        payload = {
            "o": self.ordering,
            "p": [_encode_value(value) for value in self.position],
            "r": self.reverse,
        }
        if self.at is not None:
            payload["at"] = self.at.isoformat()
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, ordering: str, length: int) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            if payload["o"] != ordering:
                raise CursorError("ordering")
            position = tuple(_decode_value(pair) for pair in payload["p"])
            if len(position) != length or not isinstance(payload["r"], bool):
                raise CursorError("shape")
            at = dt.datetime.fromisoformat(payload["at"]) if "at" in payload else None
            if at is not None and timezone.is_naive(at):
                raise CursorError("at")
        except (
            CursorError,
            binascii.Error,
            UnicodeDecodeError,
            ValueError,
            KeyError,
            TypeError,
            decimal.InvalidOperation,
        ) as error:
            raise CursorError(
                "not a cursor of this list with this ordering; use the next and previous "
                "links as given"
            ) from error
        return cls(ordering, position, payload["r"], at)


def _sort_keys(length: int) -> list[str]:
    return [f"sort_key_{index}" for index in range(length)]


def _position(row, keys: list[str]) -> tuple:
    if isinstance(row, dict):
        return tuple(row[key] for key in keys)
    return tuple(getattr(row, key) for key in keys)


class KeysetPagination(BasePagination):
    """Cursor pagination over the full, unique sort key of the chosen ordering.

    Unlike DRF's CursorPagination, the position holds every sort field, so ties of the
    first field cost nothing and no offset is ever used. ``page_size`` and ``cursor``
    are validated by the view with the other parameters.
    """

    def paginate_queryset(self, queryset, request, view=None):
        page = self.page_queryset(queryset, request, view)
        keys = [name for name, _field, _descending in self.keys]
        return self.paginate_rows(list(page), lambda row: _position(row, keys))

    def page_queryset(self, queryset, request, view) -> QuerySet:
        """``queryset`` sorted in the page's order, after the cursor, one row past the page:
        ``page_sql`` applied with the ORM, over the columns of the sort fields."""
        self.sort(request, view)
        queryset = queryset.annotate(**{key: F(path) for key, path, _descending in self.keys})
        compiler = queryset.query.get_compiler(using=queryset.db)
        columns = {
            path: compiler.compile(queryset.query.annotations[key])[0]
            for key, path, _descending in self.keys
        }
        _order, after, params = self.page_sql(request, view, columns.__getitem__)
        queryset = queryset.order_by(
            *[F(key).desc() if descending else F(key).asc() for key, _path, descending in self.keys]
        )
        if after:
            queryset = queryset.filter(RawSQL(after, params, output_field=BooleanField()))
        return queryset[: view.page_size + 1]

    def page_sql(self, request, view, column) -> tuple[str, str, list]:
        """The page's ORDER BY, the cursor's condition ("" on a first page) and that
        condition's parameters, over the SQL expression ``column(field)`` of each sort
        field; a statement reads one row past the page (``view.page_size + 1``). The one
        way a page is cut, for the ORM (``page_queryset``) and for the read API's page
        statement."""
        self.sort(request, view)
        columns = [column(path) for _key, path, _descending in self.keys]
        order = ", ".join(
            f"{expression} {'DESC' if descending else 'ASC'}"
            for expression, (_key, _path, descending) in zip(columns, self.keys, strict=True)
        )
        if view.cursor is None:
            return order, "", []
        condition, params = _after_sql(columns, self.keys, view.cursor.position)
        return order, condition, params

    def sort(self, request, view) -> None:
        """``self.keys``: the sort keys of the view's ordering as (annotation, field,
        descending in this page's order), reversed for a cursor going back."""
        self.request = request
        self.view = view
        spec = view.ordering_options[view.ordering_name]
        self.reverse = bool(view.cursor and view.cursor.reverse)
        self.keys = [
            (key, path, descending != self.reverse)
            for key, (path, descending) in zip(_sort_keys(len(spec)), spec, strict=True)
        ]

    def paginate_rows(self, rows: list, position) -> list:
        """The page of ``rows`` (from ``page_queryset``); ``position(row)`` is a row's sort key."""
        cursor: Cursor | None = self.view.cursor
        reverse = self.reverse
        size = self.view.page_size
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.next_position = self.previous_position = None
        if rows:
            first, last = position(rows[0]), position(rows[-1])
            if reverse:
                self.next_position = last
                self.previous_position = first if more else None
            else:
                self.next_position = last if more else None
                self.previous_position = first if cursor is not None else None
        elif cursor is not None:
            # Past either end: offer the way back.
            if reverse:
                self.next_position = cursor.position
            else:
                self.previous_position = cursor.position
        return rows

    def links(self) -> tuple[str | None, str | None]:
        return self._link(self.next_position, False), self._link(self.previous_position, True)

    def _link(self, position, reverse: bool) -> str | None:
        if position is None:
            return None
        token = Cursor(
            self.view.ordering_name, position, reverse, self.view.cursor_snapshot_at()
        ).encode()
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", token)

    def get_paginated_response(self, data):
        next_link, previous_link = self.links()
        return Response({"next": next_link, "previous": previous_link, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last page.",
                    "example": "https://angka.example/api/v1/observations/?cursor=eyJvIjoic2VyaWVzIn0",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The previous page, or null on the first page.",
                    "example": None,
                },
                "results": schema,
            },
        }


def _after_sql(columns: list[str], keys, position) -> tuple[str, list]:
    """Rows strictly after ``position`` in the page's order (``KeysetPagination.keys``),
    as a SQL condition over the sort keys' ``columns``, and its parameters: the first key
    beyond it, or the first equal and the second beyond, and so on."""
    steps, params = [], []
    for index, (_key, _path, descending) in enumerate(keys):
        equal = [f"{column} = %s" for column in columns[:index]]
        steps.append(" AND ".join([*equal, f"{columns[index]} {'<' if descending else '>'} %s"]))
        params += position[: index + 1]
    return "(" + " OR ".join(f"({step})" for step in steps) + ")", params


# --- filters ---


class StrictFilterBackend(DjangoFilterBackend):
    """Applies the FilterSet the view has already built and validated.

    Subclassing DjangoFilterBackend keeps drf-spectacular documenting every filter.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = getattr(view, "filterset", None)
        if filterset is None:
            return queryset
        return filterset.filter_queryset(queryset)


# --- the view base ---


class CachedJSON(HttpResponse):
    """A JSON body taken from the response cache (or rendered by the database)."""


if TYPE_CHECKING:
    from rest_framework.viewsets import GenericViewSet

    # The mixin's methods use the view's (request, action, get_queryset, ...).
    _ViewBase = GenericViewSet
else:
    _ViewBase = object


class PublicReadMixin(_ViewBase):
    """Mix into a GenericViewSet with ``list``/``retrieve``."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [ApiAnonThrottle, ApiUserThrottle]
    filter_backends = [StrictFilterBackend]
    pagination_class = KeysetPagination
    renderer_classes = [JSONRenderer, CSVRenderer, xlsx.XLSXRenderer]
    # name -> [(field path, descending), ...]; the fields together must be unique.
    ordering_options: dict[str, list[tuple[str, bool]]] = {}
    default_ordering = ""
    list_params: tuple[str, ...] = ()
    cache_responses = True
    # For the OpenAPI description (stats.api.schema): what the key of an item URL is, and
    # the JSON answers of a list other than its page.
    lookup_description = ""
    other_json_shapes: tuple[type, ...] = ()

    filterset: FilterSet | None = None
    cursor: Cursor | None = None
    page_size = DEFAULT_PAGE_SIZE
    ordering_name = ""

    # negotiation and errors

    def get_exception_handler(self):
        return api_exception_handler

    def get_renderers(self):
        if getattr(self, "action", None) == "list":
            return [renderer() for renderer in self.renderer_classes]
        return [JSONRenderer()]

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted is not None and not force:
            if wanted not in FORMATS:
                raise exceptions.ValidationError({"format": ["use json, csv or xlsx"]})
            if wanted != "json" and getattr(self, "action", None) != "list":
                raise exceptions.ValidationError(
                    {"format": [f"{wanted} is offered for lists only"]}
                )
        return super().perform_content_negotiation(request, force=force)

    @property
    def wants_csv(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer)

    @property
    def wants_xlsx(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), xlsx.XLSXRenderer)

    @property
    def wants_file(self) -> bool:
        """A download (CSV or XLSX): the whole result, not paged, not cached."""
        return self.wants_csv or self.wants_xlsx

    @property
    def lookups(self) -> CatalogueLookups:
        """The catalogue, read once per worker process and data generation."""
        if not hasattr(self, "_lookups"):
            self._lookups = generation_memo(
                request_generation(self.request), "catalogue", CatalogueLookups
            )
        return self._lookups

    # parameters

    def filterset_kwargs(self) -> dict:
        return {}

    def cursor_snapshot_at(self) -> dt.datetime | None:
        return None

    def validate_extra(self, params, errors: dict[str, list[str]]) -> None:
        """Check the view's own parameters (``list_params``), adding to ``errors``."""

    def initial(self, request, *args, **kwargs):
        # The method first: a request this resource does not answer is a 405 whatever its
        # parameters (DRF looks the handler up only after ``initial``).
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        # A response is cached only after its request passed every check, under a key
        # made of the data generation, URL, language and Accept header (stats.api.cache):
        # the same key means the same valid request, so a hit skips the checks. Anonymous
        # hits are served earlier still, by ApiResponseCacheMiddleware.
        self.cached_body = self._cache_get(request)
        self.activate_language(request)
        self.compute_validators(request)
        if self.cached_body is None:
            self.validate_request(request)
        self.check_conditional(request)

    def texts_language(self) -> str | None:
        """The language ``?lang=`` asks for (one good value), or None: notes and sources
        are then given as stored (``stats.api.rows.TRANSLATED``)."""
        values = self.request.query_params.getlist("lang")
        return values[0] if len(values) == 1 and values[0] in LANGUAGE_CODES else None

    def activate_language(self, request) -> None:
        """``?lang=``, when it is one good value (validate_request reports the others)."""
        values = request.query_params.getlist("lang")
        if (
            len(values) == 1
            and values[0] in LANGUAGE_CODES
            and not hasattr(self, "language_before")
        ):
            # Restored in finalize_response, so the choice does not outlive the request.
            self.language_before = translation.get_language()
            translation.activate(values[0])
            request.LANGUAGE_CODE = values[0]

    def validate_request(self, request) -> None:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        is_list = self.action == "list"
        own = {"format", "lang"}
        if is_list:
            own |= {"cursor", "page_size", *self.list_params}
            if len(self.ordering_options) > 1:
                own.add("ordering")
            self._validate_paging(params, errors)
        filterset = None
        filterset_class = getattr(self, "filterset_class", None)
        if is_list and filterset_class is not None:
            filter_data = {key: params[key] for key in params if key not in own}
            filterset = filterset_class(
                filter_data,
                queryset=self.get_queryset(),
                request=request,
                lookups=self.lookups,
                **self.filterset_kwargs(),
            )
        allowed = own | (set(filterset.filters) if filterset is not None else set())
        for key in params:
            if key not in allowed:
                errors[key] = [
                    f"unknown parameter; this resource takes {', '.join(sorted(allowed))}"
                ]
            elif len(params.getlist(key)) > 1:
                errors[key] = ["given more than once; give one value (lists are comma-separated)"]
            elif not params[key].strip():
                errors[key] = ["empty value"]
        language = params.get("lang")
        if language and "lang" not in errors:
            if language not in LANGUAGE_CODES:
                errors["lang"] = [f"use one of {', '.join(LANGUAGE_CODES)}"]
            else:
                self.activate_language(request)
        if is_list:
            self.validate_extra(params, errors)
        if filterset is not None:
            for name, messages in filterset.validate().items():
                errors.setdefault(name, messages)
        if errors:
            raise exceptions.ValidationError(errors)
        self.filterset = filterset

    def _validate_paging(self, params, errors) -> None:
        self.ordering_name = self.default_ordering
        ordering = params.get("ordering")
        if ordering and "ordering" not in errors:
            if ordering not in self.ordering_options:
                errors["ordering"] = [f"use one of {', '.join(self.ordering_options)}"]
            else:
                self.ordering_name = ordering
        page_size = params.get("page_size")
        if page_size and "page_size" not in errors:
            # ASCII digits only: int() also reads "1_000", other scripts' digits and spaces.
            if not page_size.isascii() or not page_size.isdigit():
                errors["page_size"] = [f"{page_size!r} is not a whole number"]
            else:
                self.page_size = int(page_size)
                if not 1 <= self.page_size <= MAX_PAGE_SIZE:
                    errors["page_size"] = [f"must be between 1 and {MAX_PAGE_SIZE}"]
        token = params.get("cursor")
        if token and "cursor" not in errors and "ordering" not in errors:
            try:
                self.cursor = Cursor.decode(
                    token,
                    ordering=self.ordering_name,
                    length=len(self.ordering_options[self.ordering_name]),
                )
            except CursorError as error:
                errors["cursor"] = [str(error)]
        wanted = params.get("format")
        if wanted in ("csv", "xlsx") or self.wants_file:
            for name in ("cursor", "page_size"):
                if name in params and name not in errors:
                    errors[name] = [
                        "CSV and XLSX are not paged: they hold the whole result; remove it"
                    ]

    # caching

    def version_parts(self) -> list[str]:
        """What the response depends on besides the URL: the last publication, by default."""
        return [self.last_published.isoformat() if self.last_published else "none"]

    def edited_at(self) -> dt.datetime | None:
        """The last edit, other than a publication, that changes the answer (metadata)."""
        return None

    def compute_validators(self, request) -> None:
        """``last_modified`` and ``etag`` of the answer, before any other work."""
        # Once per worker and data generation: a publication starts a new generation.
        self.last_published = generation_memo(
            request_generation(request), "last_publication_at", last_publication_at
        )
        instants = [i for i in (self.last_published, self.edited_at()) if i is not None]
        self.last_modified = max(instants) if instants else None
        self.etag = None
        if request.method not in ("GET", "HEAD"):
            return
        renderer = getattr(request, "accepted_renderer", None)
        parts = [
            *self.version_parts(),
            self.last_modified.isoformat() if self.last_modified else "",
            request.get_full_path(),
            translation.get_language() or "",
            getattr(renderer, "format", ""),
        ]
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
        self.etag = f'W/"{digest}"'

    def check_conditional(self, request) -> None:
        if self.etag is None:
            return
        modified = self.last_modified
        if not_modified(request, self.etag, int(modified.timestamp()) if modified else None):
            raise NotModified()

    @property
    def response_cache_on(self) -> bool:
        """API_CACHE_SECONDS=0 turns the response cache off (ETags and 304s stay)."""
        return self.cache_responses and response_cache_on()

    def _cache_get(self, request) -> bytes | None:
        """The cached JSON of a request the middleware did not look up (tokens, sessions,
        HEAD): the body of an answer stored for the same URL, language and Accept."""
        django_request = request._request
        if (
            getattr(django_request, "api_cache_key", None) is not None
            or not self.response_cache_on
            or request.method not in ("GET", "HEAD")
            or self.wants_file
            or self.action not in ("list", "retrieve")
        ):
            return None
        key = response_cache_key(django_request, request_generation(request))
        entry = cache.get(key)
        return entry[1] if entry is not None else None

    def cached_response(self) -> HttpResponse | None:
        """The cached JSON of this request, found by ``initial``, or None."""
        body = getattr(self, "cached_body", None)
        if body is None:
            return None
        return CachedJSON(body, content_type="application/json")

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400 and isinstance(
            getattr(request, "accepted_renderer", None), CSVRenderer | xlsx.XLSXRenderer
        ):
            # Errors are JSON whatever format was asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code in (200, 304):
            etag = getattr(self, "etag", None)
            if etag:
                response["ETag"] = etag
                if self.last_modified is not None:
                    response["Last-Modified"] = http_date(self.last_modified.timestamp())
                max_age = settings.ANGKA_API_MAX_AGE
                response["Cache-Control"] = f"public, max-age={max_age}"
            if (
                response.status_code == 200
                and isinstance(response, Response | CachedJSON)
                and self.response_cache_on
                and self.action in ("list", "retrieve")
                and etag
                and not self.wants_file
            ):
                # ApiResponseCacheMiddleware stores it, with the headers of the way out.
                response.api_cacheable = True
        response["Content-Language"] = translation.get_language() or settings.LANGUAGE_CODE
        # Every answer names its licence (RFC 8288), after any link the view gave; read
        # once per worker and data generation, so it costs no query.
        licence = attribution(token=request_generation(request)).link_header()
        response["Link"] = f"{response['Link']}, {licence}" if "Link" in response else licence
        patch_vary_headers(response, ("Accept", "Accept-Language"))
        if getattr(self, "language_before", None) is not None:
            translation.activate(self.language_before)
        # DRF leaves a reference cycle (view.response -> response.renderer_context -> view)
        # that only Python's cyclic collector frees, and rarely: each worker thread kept
        # the bodies of past answers alive. Breaking it when the server closes the
        # response lets reference counting free the body at once.
        response._resource_closers.append(self._response_release)
        return response

    def _response_release(self) -> None:
        self.__dict__.pop("response", None)

    def list(self, request, *args, **kwargs):
        cached = self.cached_response()
        if cached is not None:
            return cached
        if self.wants_csv:
            return self.csv_response(self.filter_queryset(self.get_queryset()))
        if self.wants_xlsx:
            return self.xlsx_response(self.filter_queryset(self.get_queryset()))
        return self.json_list(request)

    def json_list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    # CSV of a metadata list: the serialized rows, flattened into named columns.

    csv_filename = "data.csv"

    # builtins: ``list`` in the class body is the view action.
    def get_csv_columns(self) -> builtins.list[tuple[str, str]]:
        """(header, dotted path into a serialized row), in column order: by default each
        field of the list's serializer, under its own name."""
        serializer_class = cast(type[ModelSerializer], self.serializer_class)
        return [(name, name) for name in serializer_class.Meta.fields]

    def csv_response(self, queryset: QuerySet):
        columns = self.get_csv_columns()
        serializer_class = self.get_serializer_class()
        context = self.get_serializer_context()
        language = translation.get_language()

        def rows():
            # Rows are serialized while the response streams, after the view returned.
            with translation.override(language):
                for instance in self.ordered(queryset).iterator(chunk_size=1000):
                    record = serializer_class(instance, context=context).data
                    yield [csv_value(record, path) for _header, path in columns]

        return csv_streaming_response(
            header=[header for header, _path in columns], rows=rows(), filename=self.csv_filename
        )

    def xlsx_response(self, queryset: QuerySet) -> HttpResponse:
        """The CSV's columns and cells as a workbook, with its metadata sheet."""
        columns = self.get_csv_columns()
        serializer_class = self.get_serializer_class()
        context = self.get_serializer_context()
        rows = []
        for instance in self.ordered(queryset)[: xlsx.MAX_ROWS + 1]:
            record = serializer_class(instance, context=context).data
            rows.append([csv_value(record, path) or None for _header, path in columns])
        if len(rows) > xlsx.MAX_ROWS:
            raise too_many_rows()
        content = xlsx.workbook(
            header=[header for header, _path in columns],
            rows=rows,
            metadata=self.xlsx_metadata(),
            value_column=None,
        )
        return xlsx_http_response(content, self.csv_filename.removesuffix(".csv"))

    def xlsx_metadata(self) -> builtins.list[tuple[str, str]]:
        """The metadata sheet of a workbook of the API: licence, attribution, the query
        and when it was answered."""
        licence = attribution(token=request_generation(self.request))
        return [
            ("licence", f"{licence.licence_title} ({licence.licence_id}) {licence.licence_url}"),
            ("publisher", licence.publisher_name),
            ("attribution", licence.credit(translation.get_language() or "id")),
            ("query", self.request.build_absolute_uri()),
            ("generated_at", timezone.localtime().isoformat(timespec="seconds")),
        ]

    def ordered(self, queryset: QuerySet) -> QuerySet:
        """The queryset in the chosen ordering (for CSV, which is not paged)."""
        spec = self.ordering_options[self.ordering_name or self.default_ordering]
        return queryset.order_by(*[f"-{path}" if desc else path for path, desc in spec])


def too_many_rows() -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {
            "format": [
                f"an XLSX answer holds at most {xlsx.MAX_ROWS} rows and this query gives "
                "more: narrow it, or use format=csv (streamed, any size)"
            ]
        }
    )


def xlsx_http_response(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=xlsx.MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response


def csv_value(row: dict, path: str) -> str:
    """The cell of ``path`` in a serialized row: dotted keys; ``list[].key`` takes ``key``
    of each item of a list of objects."""
    if "[]." in path:
        head, key = path.split("[].", 1)
        items = csv_list(row, head)
        return ";".join(csv_value(item, key) for item in items if isinstance(item, dict))
    value: object = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def csv_list(row: dict, path: str) -> list:
    value: object = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []


class PublicDetailMixin(PublicReadMixin):
    """A public resource whose items have a URL of their own (``<resource>/<key>/``), keyed
    by an identifier the API shows (a code, an id of a code list, a slug).

    Only these get a detail route: the router adds one for every viewset with a
    ``retrieve``. An observation is a row of a series, not a resource of its own, and
    series and calendar entries have no public key of their own here."""

    # The serializer of an item, where it tells more than the list's (``serializer_class``).
    detail_serializer_class: type[BaseSerializer] | None = None

    def get_serializer_class(self):
        if self.action == "retrieve" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return super().get_serializer_class()

    def retrieve(self, request, *args, **kwargs):
        cached = self.cached_response()
        if cached is not None:
            return cached
        instance = self.get_object()
        return Response(self.get_serializer(instance).data)
