"""Structure queries (``/sdmx/{resource}/{agencyID}/{resourceID}/{version}``) and the
SDMX-ML 2.1 structure messages that answer them.

Four resources are served: ``dataflow``, ``datastructure``, ``codelist`` and
``conceptscheme``; the other SDMX 2.1 structure resources are known and answered 501.
``references`` follows the standard's graph: a dataflow uses a data structure, which
uses code lists and the concept scheme (children and descendants); the reverse are
parents; ``parentsandsiblings`` adds the other children of the parents; ``all`` is
``parentsandsiblings`` and ``descendants`` together; a resource name keeps the related
artefacts of that type.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree  # type: ignore[import-untyped]  # no type information

from .catalogue import (
    AGENCY,
    CONCEPT_SCHEME,
    DECIMALS,
    OBS_STATUS,
    OBS_VALUE,
    TIME_PERIOD,
    UNIT_MEASURE,
    VERSION,
    Catalogue,
    Flow,
    Names,
)
from .errors import ERROR_CODES, SdmxError
from .formats import NS_COMMON, NS_MESSAGE, NS_STRUCTURE, NS_XML

SERVED = ("dataflow", "datastructure", "codelist", "conceptscheme")
# SDMX 2.1 REST structure resources that exist but are not served: 501, not 404.
NOT_SERVED = frozenset(
    {
        "structure",
        "metadatastructure",
        "categoryscheme",
        "categorisation",
        "contentconstraint",
        "actualconstraint",
        "allowedconstraint",
        "attachmentconstraint",
        "agencyscheme",
        "dataproviderscheme",
        "dataconsumerscheme",
        "organisationunitscheme",
        "organisationscheme",
        "hierarchicalcodelist",
        "reportingtaxonomy",
        "process",
        "structureset",
        "provisionagreement",
        "metadataflow",
        "schema",
        "metadata",
    }
)
REFERENCES = ("none", "parents", "parentsandsiblings", "children", "descendants", "all")
# The sections of a structure message, in the order the 2.1 schema requires.
SECTIONS = (
    ("dataflow", "Dataflows"),
    ("codelist", "Codelists"),
    ("conceptscheme", "Concepts"),
    ("datastructure", "DataStructures"),
)
URN_CLASSES = {
    "dataflow": "datastructure.Dataflow",
    "datastructure": "datastructure.DataStructure",
    "codelist": "codelist.Codelist",
    "conceptscheme": "conceptscheme.ConceptScheme",
}

Artefact = tuple[str, str]  # (resource, id)


def urn(resource: str, artefact_id: str) -> str:
    return f"urn:sdmx:org.sdmx.infomodel.{URN_CLASSES[resource]}={AGENCY}:{artefact_id}({VERSION})"


# --- the query ---


def _artefacts(catalogue: Catalogue, resource: str) -> list[str]:
    if resource in ("dataflow", "datastructure"):
        return list(catalogue.flows)
    if resource == "codelist":
        return list(catalogue.codelists)
    return [CONCEPT_SCHEME]


def _children(catalogue: Catalogue, artefact: Artefact) -> set[Artefact]:
    resource, artefact_id = artefact
    if resource == "dataflow":
        return {("datastructure", artefact_id)}
    if resource == "datastructure":
        flow = catalogue.flows[artefact_id]
        return {("codelist", c) for c in flow.codelists} | {("conceptscheme", CONCEPT_SCHEME)}
    return set()


def _parents(catalogue: Catalogue, artefact: Artefact) -> set[Artefact]:
    resource, artefact_id = artefact
    if resource == "datastructure":
        return {("dataflow", artefact_id)}
    if resource == "codelist":
        return {
            ("datastructure", f.id) for f in catalogue.flows.values() if artefact_id in f.codelists
        }
    if resource == "conceptscheme":
        return {("datastructure", flow_id) for flow_id in catalogue.flows}
    return set()


def _descendants(catalogue: Catalogue, artefacts: set[Artefact]) -> set[Artefact]:
    found: set[Artefact] = set()
    todo = list(artefacts)
    while todo:
        for child in _children(catalogue, todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def structure_select(
    catalogue: Catalogue,
    *,
    resource: str,
    agency: str,
    resource_id: str,
    version: str,
    item: str,
    params,
) -> set[Artefact]:
    """The artefacts a structure query asks for, with their references.

    Raises ``SdmxError``: 400 for a bad parameter, 404 when nothing matches, 501 for a
    query this service does not answer."""
    if resource in NOT_SERVED:
        raise SdmxError(501, f"the {resource} resource is not offered; use {', '.join(SERVED)}")
    if resource not in SERVED:
        raise SdmxError(404, f"no structure resource {resource!r}")
    for name in params:
        if name not in ("references", "detail"):
            raise SdmxError(400, f"unknown parameter {name!r}; use references or detail")
        if len(params.getlist(name)) > 1:
            raise SdmxError(400, f"{name} is given more than once")
    references = params.get("references", "none")
    if references not in REFERENCES and references not in SERVED:
        if references in NOT_SERVED:
            raise SdmxError(501, f"references={references} is not offered")
        raise SdmxError(400, f"references: use one of {', '.join(REFERENCES)} or a resource name")
    detail = params.get("detail", "full")
    if detail != "full":
        if detail in (
            "allstubs",
            "referencestubs",
            "allcompletestubs",
            "referencecompletestubs",
            "referencepartial",
        ):
            raise SdmxError(501, f"detail={detail} is not offered; use detail=full")
        raise SdmxError(400, "detail: use full")
    if item not in ("", "all"):
        raise SdmxError(501, "queries for single items of a scheme are not offered")
    if agency not in ("all", "ALL", AGENCY):
        raise SdmxError(404, f"no artefacts of agency {agency!r}; the agency here is {AGENCY}")
    if version not in ("latest", "all", "ALL", "LATEST", VERSION):
        raise SdmxError(404, f"no artefacts at version {version!r}; the version here is {VERSION}")
    wanted = set(resource_id.split("+")) if resource_id not in ("all", "ALL") else None
    chosen = {
        (resource, artefact_id)
        for artefact_id in _artefacts(catalogue, resource)
        if wanted is None or artefact_id in wanted
    }
    if not chosen:
        raise SdmxError(404, f"no {resource} {resource_id!r}")
    related: set[Artefact] = set()
    if references in ("parents", "parentsandsiblings", "all"):
        parents = set().union(*(_parents(catalogue, a) for a in chosen))
        related |= parents
        if references != "parents":
            related |= set().union(set(), *(_children(catalogue, p) for p in parents))
    if references in ("children",):
        related |= set().union(*(_children(catalogue, a) for a in chosen))
    if references in ("descendants", "all"):
        related |= _descendants(catalogue, chosen)
    if references in SERVED:
        around = set().union(*(_parents(catalogue, a) for a in chosen)) | _descendants(
            catalogue, chosen
        )
        related |= {a for a in around if a[0] == references}
    return chosen | related


# --- the message ---


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


MES, STR, COM = (
    lambda name: _q(NS_MESSAGE, name),
    lambda name: _q(NS_STRUCTURE, name),
    lambda name: _q(NS_COMMON, name),
)
LANG = _q(NS_XML, "lang")


def header(parent, *, message_id: str, prepared: dt.datetime) -> None:
    """The message header, as SDMX-ML 2.1 orders it."""
    head = etree.SubElement(parent, MES("Header"))
    etree.SubElement(head, MES("ID")).text = message_id
    etree.SubElement(head, MES("Test")).text = "false"
    etree.SubElement(head, MES("Prepared")).text = prepared.isoformat(timespec="seconds")
    etree.SubElement(head, MES("Sender"), id=AGENCY)


def _names(parent, tag: str, names: Names) -> None:
    for language, text in (("en", names.en), ("id", names.id)):
        if text:
            etree.SubElement(parent, tag, {LANG: language}).text = text


def _maintainable(parent, tag: str, resource: str, artefact_id: str, names: Names):
    element = etree.SubElement(
        parent,
        tag,
        id=artefact_id,
        urn=urn(resource, artefact_id),
        agencyID=AGENCY,
        version=VERSION,
        isFinal="false",
    )
    _names(element, COM("Name"), names)
    return element


def _ref(parent, tag: str, **attributes) -> None:
    wrapper = etree.SubElement(parent, tag)
    etree.SubElement(wrapper, "Ref", attributes)


def _concept_ref(parent, concept_id: str) -> None:
    _ref(
        parent,
        STR("ConceptIdentity"),
        id=concept_id,
        maintainableParentID=CONCEPT_SCHEME,
        maintainableParentVersion=VERSION,
        agencyID=AGENCY,
        package="conceptscheme",
        **{"class": "Concept"},
    )


def _enumeration(parent, codelist_id: str) -> None:
    representation = etree.SubElement(parent, STR("LocalRepresentation"))
    _ref(
        representation,
        STR("Enumeration"),
        id=codelist_id,
        version=VERSION,
        agencyID=AGENCY,
        package="codelist",
        **{"class": "Codelist"},
    )


def _text_format(parent, text_type: str) -> None:
    representation = etree.SubElement(parent, STR("LocalRepresentation"))
    etree.SubElement(representation, STR("TextFormat"), textType=text_type)


def _dataflow(parent, flow: Flow) -> None:
    element = _maintainable(parent, STR("Dataflow"), "dataflow", flow.id, flow.names)
    # Descriptions follow names in the schema: insert after the last Name.
    if flow.descriptions.en or flow.descriptions.id:
        _names(element, COM("Description"), flow.descriptions)
    _ref(
        element,
        STR("Structure"),
        id=flow.id,
        version=VERSION,
        agencyID=AGENCY,
        package="datastructure",
        **{"class": "DataStructure"},
    )


def _datastructure(parent, flow: Flow) -> None:
    element = _maintainable(parent, STR("DataStructure"), "datastructure", flow.id, flow.names)
    components = etree.SubElement(element, STR("DataStructureComponents"))
    dimensions = etree.SubElement(components, STR("DimensionList"), id="DimensionDescriptor")
    for position, dimension in enumerate(flow.dimensions, start=1):
        item = etree.SubElement(
            dimensions, STR("Dimension"), id=dimension.id, position=str(position)
        )
        _concept_ref(item, dimension.id)
        _enumeration(item, dimension.codelist)
    time = etree.SubElement(
        dimensions,
        STR("TimeDimension"),
        id=TIME_PERIOD,
        position=str(len(flow.dimensions) + 1),
    )
    _concept_ref(time, TIME_PERIOD)
    _text_format(time, "ObservationalTimePeriod")
    attributes = etree.SubElement(components, STR("AttributeList"), id="AttributeDescriptor")
    for attribute_id, codelist_id, text_type in (
        (UNIT_MEASURE, "CL_UNIT_MEASURE", ""),
        (DECIMALS, "", "Integer"),
    ):
        item = etree.SubElement(
            attributes, STR("Attribute"), id=attribute_id, assignmentStatus="Mandatory"
        )
        _concept_ref(item, attribute_id)
        if codelist_id:
            _enumeration(item, codelist_id)
        else:
            _text_format(item, text_type)
        relationship = etree.SubElement(item, STR("AttributeRelationship"))
        for dimension in flow.dimensions:
            _ref(relationship, STR("Dimension"), id=dimension.id)
    item = etree.SubElement(
        attributes, STR("Attribute"), id=OBS_STATUS, assignmentStatus="Mandatory"
    )
    _concept_ref(item, OBS_STATUS)
    _enumeration(item, "CL_OBS_STATUS")
    relationship = etree.SubElement(item, STR("AttributeRelationship"))
    _ref(relationship, STR("PrimaryMeasure"), id=OBS_VALUE)
    measures = etree.SubElement(components, STR("MeasureList"), id="MeasureDescriptor")
    measure = etree.SubElement(measures, STR("PrimaryMeasure"), id=OBS_VALUE)
    _concept_ref(measure, OBS_VALUE)
    _text_format(measure, "Decimal")


def _codelist(parent, catalogue: Catalogue, codelist_id: str) -> None:
    codelist = catalogue.codelists[codelist_id]
    element = _maintainable(parent, STR("Codelist"), "codelist", codelist.id, codelist.names)
    for code in codelist.codes:
        item = etree.SubElement(
            element,
            STR("Code"),
            id=code.id,
            urn=urn("codelist", codelist.id).replace(".Codelist=", ".Code=") + f".{code.id}",
        )
        _names(item, COM("Name"), code.names)
        if code.parent:
            _ref(item, STR("Parent"), id=code.parent)


def _conceptscheme(parent, catalogue: Catalogue) -> None:
    element = _maintainable(
        parent,
        STR("ConceptScheme"),
        "conceptscheme",
        CONCEPT_SCHEME,
        Names("Konsep angka", "Concepts of angka"),
    )
    base = urn("conceptscheme", CONCEPT_SCHEME).replace(
        "conceptscheme.ConceptScheme=", "conceptscheme.Concept="
    )
    for concept in catalogue.concepts:
        item = etree.SubElement(element, STR("Concept"), id=concept.id, urn=f"{base}.{concept.id}")
        _names(item, COM("Name"), concept.names)


def structure_message(
    catalogue: Catalogue, artefacts: set[Artefact], *, message_id: str, prepared: dt.datetime
) -> bytes:
    """An SDMX-ML 2.1 structure message holding ``artefacts``, each section sorted by id."""
    root = etree.Element(
        MES("Structure"),
        nsmap={"mes": NS_MESSAGE, "str": NS_STRUCTURE, "com": NS_COMMON},
    )
    header(root, message_id=message_id, prepared=prepared)
    structures = etree.SubElement(root, MES("Structures"))
    for resource, section in SECTIONS:
        ids = sorted(artefact_id for kind, artefact_id in artefacts if kind == resource)
        if not ids:
            continue
        container = etree.SubElement(structures, STR(section))
        for artefact_id in ids:
            if resource == "dataflow":
                _dataflow(container, catalogue.flows[artefact_id])
            elif resource == "datastructure":
                _datastructure(container, catalogue.flows[artefact_id])
            elif resource == "codelist":
                _codelist(container, catalogue, artefact_id)
            else:
                _conceptscheme(container, catalogue)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def error_message(error: SdmxError) -> bytes:
    """The SDMX-ML 2.1 error message of a refused query."""
    root = etree.Element(MES("Error"), nsmap={"mes": NS_MESSAGE, "com": NS_COMMON})
    item = etree.SubElement(root, MES("ErrorMessage"), code=ERROR_CODES.get(error.status, "1000"))
    etree.SubElement(item, COM("Text")).text = error.message
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
