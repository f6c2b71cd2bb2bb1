"""The derived-indicator engine: definitions as data, computed in dependency order.

A definition (``DerivedDefinition``) names a kind, its inputs and parameters. A run
reads the input values (the published ones, optionally overlaid with the draft values
of a release about to be published), computes every affected output value and records
the formula and the exact inputs used with each value. A missing input or a zero
denominator gives no value and a ``DerivedGap`` with the reason, never an exception and
never a wrong number.

- ``kinds``: what each kind means and which engine computes it;
- ``definitions``: validation, cycle refusal, dependency order;
- ``inputs``: the series a definition reads and writes, and the input values;
- ``sql``: the set-based engine (one statement per definition);
- ``python``: the kinds SQL leaves to Python;
- ``writer``: provenance and the COPY of computed values;
- ``engine``: a run over the changed inputs (or everything), the entry point.

Publishing what a run wrote is the publishing layer's business (publications).
"""

from .definitions import (
    DefinitionError,
    definition_check_acyclic,
    definition_validate,
    definitions_in_order,
)
from .engine import RecomputeSummary, RevisionOrderError, derived_precompute, derived_run
from .kinds import DEFAULT_FORMULAS

__all__ = [
    "DEFAULT_FORMULAS",
    "DefinitionError",
    "RecomputeSummary",
    "RevisionOrderError",
    "definition_check_acyclic",
    "definition_validate",
    "definitions_in_order",
    "derived_precompute",
    "derived_run",
]
