"""The locking rule of :class:`~conformance.reference.cluster.Cluster`: operations and steps.

Elasticsearch applies every change as one cluster-state update at a time (§1.6 C.9); the
reference server gets the same by one lock per cluster. Its public methods are of two kinds:

- an *operation* (:func:`operation`) is an entry point the endpoints call: it holds the lock
  for its whole run, so it reads and leaves a consistent state;
- a *step* (:func:`step`) is one named piece of an operation, one rule of the contract: it
  runs with the lock held (called by an operation or by another step, never by an endpoint),
  and it is what a mutant overrides to break that one rule.

Both marks are plain attributes read by :func:`marked`; nothing else changes at run time
(a step is the function itself, an operation the function inside ``with self.lock:``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

Role = Literal["operation", "step"]

_ROLE = "cluster_role"
"""The attribute that carries a method's role."""


class Locked(Protocol):
    """What an operation needs of its object: the lock it holds."""

    @property
    def lock(self) -> AbstractContextManager[Any]: ...


S = TypeVar("S", bound=Locked)
P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


def operation(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Mark an entry point of the endpoints: it runs with ``self.lock`` held, taken here."""

    @functools.wraps(method)
    def locked(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    setattr(locked, _ROLE, "operation")
    return locked


def step(method: F) -> F:
    """Mark a step: called with the lock held; override it to break the one rule it applies."""
    setattr(method, _ROLE, "step")
    return method


def marked(cls: type, role: Role) -> frozenset[str]:
    """The names of the methods that ``cls`` itself (not a base) marks with ``role``."""
    return frozenset(name for name, value in vars(cls).items() if getattr(value, _ROLE, None) == role)


def overrides(cls: type, base: type) -> frozenset[str]:
    """The methods of ``base`` that ``cls`` (or a class between them) defines again, dunders aside."""
    between = cls.__mro__[: cls.__mro__.index(base)]
    return frozenset(
        name for klass in between for name in vars(klass) if not name.startswith("__") and hasattr(base, name)
    )
