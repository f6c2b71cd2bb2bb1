"""Derived definitions as a graph: validation of a definition's inputs, cycle refusal,
and the dependency order every run follows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from ..choices import DerivedKind, InputRole
from ..models import DerivedDefinition, DerivedInput, Indicator
from .kinds import BINARY_KINDS, UNARY_KINDS


class DefinitionError(ValidationError):
    """A definition that cannot be computed as declared (cycle, wrong inputs)."""


def _graph() -> dict[int, set[int]]:
    """Derived indicator id -> ids of the indicators it reads."""
    edges: dict[int, set[int]] = defaultdict(set)
    for definition_indicator, input_indicator in DerivedInput.objects.filter(
        definition__is_active=True
    ).values_list("definition__indicator_id", "indicator_id"):
        edges[definition_indicator].add(input_indicator)
    for indicator_id in DerivedDefinition.objects.filter(is_active=True).values_list(
        "indicator_id", flat=True
    ):
        edges.setdefault(indicator_id, set())
    return edges


def definition_check_acyclic(*, indicator_id: int, input_indicator_ids: Iterable[int]) -> None:
    """Refuse a definition whose inputs depend, directly or not, on its own output."""
    edges = _graph()
    edges[indicator_id] = set(input_indicator_ids)
    stack, seen = list(edges[indicator_id]), set()
    while stack:
        current = stack.pop()
        if current == indicator_id:
            code = Indicator.objects.filter(pk=indicator_id).values_list("code", flat=True).first()
            raise DefinitionError(
                f"the inputs of {code} depend on {code} itself: a cycle is not allowed"
            )
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, ()))


def definitions_in_order() -> list[DerivedDefinition]:
    """Active definitions, each after every definition whose output it reads."""
    edges = _graph()
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(node: int) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise DefinitionError("the derived definitions contain a cycle")
        state[node] = 1
        for upstream in edges.get(node, ()):
            if upstream in edges:
                visit(upstream)
        state[node] = 2
        order.append(node)

    for node in sorted(edges):
        visit(node)
    definitions = {
        d.indicator_id: d
        for d in DerivedDefinition.objects.filter(is_active=True)
        .select_related("indicator")
        .prefetch_related("inputs__indicator")
    }
    return [definitions[node] for node in order if node in definitions]


def definition_validate(*, definition: DerivedDefinition, inputs: list[DerivedInput]) -> None:
    """The roles a kind needs, and no cycle. Raises DefinitionError naming the problem."""
    roles = [i.role for i in inputs]
    kind = definition.kind
    if kind in UNARY_KINDS and roles != [InputRole.X]:
        raise DefinitionError(f"{kind} needs exactly one input with role x")
    if kind in BINARY_KINDS and sorted(roles) != [InputRole.A, InputRole.B]:
        raise DefinitionError(f"{kind} needs one input with role a and one with role b")
    if kind == DerivedKind.SUM and (len(roles) < 2 or set(roles) != {InputRole.TERM}):
        raise DefinitionError("sum needs two or more inputs with role term")
    output_dimensions = set(definition.indicator.dimensions.values_list("id", flat=True))
    for item in inputs:
        input_dimensions = set(item.indicator.dimensions.values_list("id", flat=True))
        if input_dimensions != output_dimensions:
            raise DefinitionError(
                f"input {item.indicator.code} has dimensions {sorted(input_dimensions)}, "
                f"the output has {sorted(output_dimensions)}"
            )
        unknown = set(item.codes) - input_dimensions
        if unknown:
            raise DefinitionError(f"input {item.indicator.code}: no dimension {sorted(unknown)}")
    definition_check_acyclic(
        indicator_id=definition.indicator_id, input_indicator_ids=[i.indicator_id for i in inputs]
    )


# -- reading inputs -----------------------------------------------------------------

# (value, observation id, status) of one input value
