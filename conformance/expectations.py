"""What traffic tells the rules it expects: the typed payloads of ``Intent.expected``.

A rule that judges a sequence (a convergence poll, a concurrent burst) needs to know what
the traffic knew when it sent the request: what an answer promised, what fitted before a
burst, what each write of the burst got. Each kind of expectation is one frozen dataclass
here, so the traffic module that builds it and the rule that reads it agree on its fields
and a type checker checks both. The Schemathesis case a response is judged against lives
with its rule (:class:`conformance.rules.openapi.OpenApiCase`), which alone knows its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.exchange import Expectation


@dataclass(frozen=True)
class ConvergencePromise(Expectation):
    """What an assignment promises once its routes settle (``converged``; §2.4, §3.4, §3.5 P13).

    Built by :func:`conformance.convergence.promise_of`. A field left at its default is a
    promise not made: with no assignment known (an adopted deployment before its first
    update), ``ConvergencePromise()`` promises nothing, and the deployment's own settled
    ``_stats`` decide (:func:`conformance.convergence.has_converged`).
    """

    target_allocations: Mapping[str, int] = field(default_factory=dict)
    """Per routed node, the allocations its process is to run (clamped to its hardware threads)."""
    total: int | None = None
    """Σ ``target_allocations`` (``None``: not promised; read as that sum)."""
    current_total: int | None = None
    """Σ ``current_allocations`` the routing table settles at (``None``: ``total``)."""
    route_targets: Mapping[str, int] | None = None
    """The routes' own ``target_allocations`` (``None``: no routing table was promised)."""
    number_of_allocations: Any = None
    """The count asked for, as the assignment spelt it (``None``: not known)."""


@dataclass(frozen=True)
class BurstCapacity(Expectation):
    """What the rules know of capacity for one request of a concurrent burst (``burst-update``).

    Overlapping requests share no single state before them, so this is what fitted the
    deployment just before the burst (§1.6 C.8): ``None`` when unknown, also when the rest
    of the cluster moved during the burst.
    """

    allocatable: int | None


@dataclass(frozen=True)
class BurstWrite:
    """One request of a burst: the field it set and to what, what it got, and when
    (``time.monotonic()``), so the rules can tell overlapping requests from ordered ones."""

    field: str
    value: Any
    status: int | None  # None: no answer came (the write may have landed)
    started: float
    ended: float


@dataclass(frozen=True)
class BurstLog(Expectation):
    """Every request of a concurrent burst, in the order they were planned (``burst-final``, §1.6 C.9)."""

    writes: tuple[BurstWrite, ...]
