"""Deliberately broken variants of the reference server, one defect each, for ``selftest``.

Importing this package registers every mutant in :data:`REGISTRY` (name -> :class:`Mutant`),
one module per family of defects.
"""

from conformance.mutants import (  # noqa: F401 - each module registers its mutants
    adaptive,
    capacity,
    clamp,
    concurrency,
    enums,
    errors,
    protocol,
    shape,
    stats,
    timing,
    update,
)
from conformance.mutants.base import FAMILIES, REGISTRY, UNJUDGED, Mutant

__all__ = ["FAMILIES", "REGISTRY", "UNJUDGED", "Mutant"]
