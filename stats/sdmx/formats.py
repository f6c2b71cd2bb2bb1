"""The SDMX formats offered, their media types and XML namespaces, and the choice of one
by ``Accept`` or by the ``format`` parameter (as the ECB's and Eurostat's services name
them)."""

from __future__ import annotations

from .errors import SdmxError

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
NS_STRUCTURE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
NS_COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
NS_GENERIC = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
NS_SPECIFIC = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XML = "http://www.w3.org/XML/1998/namespace"

GENERIC = "genericdata"
SPECIFIC = "structurespecificdata"
JSON = "jsondata"
CSV = "csvdata"
STRUCTURE = "structure"

MEDIA_TYPES = {
    GENERIC: "application/vnd.sdmx.genericdata+xml; version=2.1",
    SPECIFIC: "application/vnd.sdmx.structurespecificdata+xml; version=2.1",
    JSON: "application/vnd.sdmx.data+json; version=1.0.0",
    CSV: "application/vnd.sdmx.data+csv; version=1.0.0",
    STRUCTURE: "application/vnd.sdmx.structure+xml; version=2.1",
}
# Media ranges a client may send: (type, version or None for any) -> format.
_DATA_RANGES = {
    "application/vnd.sdmx.genericdata+xml": (GENERIC, "2.1"),
    "application/vnd.sdmx.structurespecificdata+xml": (SPECIFIC, "2.1"),
    "application/vnd.sdmx.data+json": (JSON, "1.0.0"),
    "application/vnd.sdmx.data+csv": (CSV, "1.0.0"),
    "application/xml": (GENERIC, None),
    "text/xml": (GENERIC, None),
    "application/json": (JSON, None),
    "text/csv": (CSV, None),
    "*/*": (GENERIC, None),
    "application/*": (GENERIC, None),
    "text/*": (CSV, None),
}
_STRUCTURE_RANGES = {
    "application/vnd.sdmx.structure+xml": (STRUCTURE, "2.1"),
    "application/xml": (STRUCTURE, None),
    "text/xml": (STRUCTURE, None),
    "*/*": (STRUCTURE, None),
    "application/*": (STRUCTURE, None),
    "text/*": (STRUCTURE, None),
}
FORMAT_NAMES = {
    GENERIC: GENERIC,
    SPECIFIC: SPECIFIC,
    JSON: JSON,
    CSV: CSV,
    "csv": CSV,
    "json": JSON,
}


def _accepted(accept: str) -> list[tuple[str, str | None]]:
    """The media ranges of an Accept header (type, version), best first (by q, then order)."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        version, quality = None, 1.0
        for piece in pieces[1:]:
            name, _equals, value = piece.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "version":
                version = value
            elif name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((-quality, position, media, version))
    return [(media, version) for _q, _p, media, version in sorted(ranges)]


def _choose(accept: str, offered: dict[str, tuple[str, str | None]]) -> str | None:
    if not accept.strip():
        return next(iter(offered.values()))[0]
    for media, version in _accepted(accept):
        found = offered.get(media)
        if found is not None and (version is None or found[1] is None or version == found[1]):
            return found[0]
    return None


def data_format(*, accept: str, format_param: str | None) -> str:
    """The data format a request asks for: ``format`` first, else ``Accept``."""
    if format_param is not None:
        chosen = FORMAT_NAMES.get(format_param)
        if chosen is None:
            raise SdmxError(406, f"format: use one of {', '.join([GENERIC, SPECIFIC, JSON, CSV])}")
        return chosen
    chosen = _choose(accept, _DATA_RANGES)
    if chosen is None:
        raise SdmxError(
            406,
            "none of the accepted media types is offered; data comes as "
            + ", ".join(MEDIA_TYPES[name] for name in (GENERIC, SPECIFIC, JSON, CSV)),
        )
    return chosen


def structure_format(*, accept: str) -> str:
    if _choose(accept, _STRUCTURE_RANGES) is None:
        raise SdmxError(406, f"structures come as {MEDIA_TYPES[STRUCTURE]}")
    return STRUCTURE
