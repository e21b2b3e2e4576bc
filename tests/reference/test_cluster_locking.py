"""The locking rule of ``Cluster`` (``conformance.reference.locking``): every public method is an
operation that holds the lock or a step that runs with it held, and mutants override steps only."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import conformance
import conformance.mutants
from conformance.assets import tiny_model
from conformance.mutants.base import mutant
from conformance.reference.app import create_app
from conformance.reference.cluster import OPERATIONS, STEPS, Cluster
from conformance.reference.config import ServerConfig
from conformance.reference.locking import overrides
from conformance.reference.model import UpdateRequest
from reference.conftest import UPDATE

STATE = ("models", "deployments", "inference_endpoints", "model_aliases")
"""The attributes that hold the cluster's mutable state."""


class _ProbeLock:
    """A re-entrant lock that can tell whether the calling thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self) -> bool:
        self._lock.acquire()
        self._owner = threading.get_ident()
        self._depth += 1
        return True

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if not self._depth:
            self._owner = None
        self._lock.release()

    @property
    def held(self) -> bool:
        return self._owner == threading.get_ident()


class _Probed(Cluster):
    """The reference cluster, recording every step run and every state read or write made
    without the lock, and which operations ran (test-only: a mutant may override steps only)."""

    def __init__(self, config: ServerConfig) -> None:
        self.probing = False
        self.held_state: dict[str, Any] = {}
        self.unlocked: list[str] = []
        self.operations_run: set[str] = set()
        super().__init__(config)
        self.lock = _ProbeLock()  # type: ignore[assignment]
        self.probing = True

    def check(self, what: str) -> None:
        if self.probing and not self.lock.held:  # type: ignore[attr-defined]
            self.unlocked.append(f"{what} in {threading.current_thread().name}")


def _state(name: str) -> property:
    def get(self: _Probed) -> Any:
        self.check(f"read of {name}")
        return self.held_state[name]

    def put(self: _Probed, value: Any) -> None:
        self.check(f"write of {name}")
        self.held_state[name] = value

    return property(get, put)


def _probed_step(name: str) -> Any:
    def probe(self: _Probed, *args: Any, **kwargs: Any) -> Any:
        self.check(f"step {name}")
        return getattr(super(_Probed, self), name)(*args, **kwargs)

    return probe


def _probed_operation(name: str) -> Any:
    def probe(self: _Probed, *args: Any, **kwargs: Any) -> Any:
        self.operations_run.add(name)
        return getattr(super(_Probed, self), name)(*args, **kwargs)

    return probe


for _name in STATE:
    setattr(_Probed, _name, _state(_name))
for _name in STEPS:
    setattr(_Probed, _name, _probed_step(_name))
for _name in OPERATIONS:
    setattr(_Probed, _name, _probed_operation(_name))


def _public_methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if not name.startswith("_") and inspect.isfunction(value)}


def test_every_public_method_is_an_operation_or_a_step() -> None:
    assert not OPERATIONS & STEPS
    assert _public_methods(Cluster) == OPERATIONS | STEPS, "mark a new public method @operation or @step"


def test_every_step_cites_the_rule_it_applies() -> None:
    uncited = sorted(name for name in STEPS if "§" not in (getattr(Cluster, name).__doc__ or ""))
    assert not uncited, f"steps without a contract section in their docstring: {uncited}"


def _drive_every_operation(client: TestClient) -> None:
    """One call of every endpoint that reaches the cluster, each answered 200."""
    model = tiny_model()
    calls = [
        ("PUT", "/_ml/trained_models/tiny", {"json": model.config}),
        ("PUT", "/_ml/trained_models/tiny/vocabulary", {"json": {"vocabulary": model.vocabulary}}),
        ("PUT", "/_ml/trained_models/tiny/definition/0", {"json": model.definition_part()}),
        ("GET", "/_ml/trained_models/tiny", {}),
        ("GET", "/_ml/info", {}),
        ("POST", "/_ml/trained_models/tiny/deployment/_start?deployment_id=dep&wait_for=started", {}),
        ("POST", UPDATE.format("dep"), {"json": {"number_of_allocations": 3}}),
        ("POST", UPDATE.format("dep"), {"json": {"number_of_allocations": 1}}),
        ("GET", "/_ml/trained_models/_stats", {}),
        ("POST", "/_ml/trained_models/dep/_infer", {"json": {"docs": [{"input": "a word"}]}}),
        ("POST", "/_ml/trained_models/dep/deployment/cache/_clear", {}),
        ("PUT", "/_ml/trained_models/tiny/model_aliases/tiny-alias", {}),
        ("DELETE", "/_ml/trained_models/tiny/model_aliases/tiny-alias", {}),
        (
            "PUT",
            "/_inference/text_embedding/endpoint",
            {"json": {"service": "elasticsearch", "service_settings": {"model_id": "tiny"}}},
        ),
        ("GET", "/_inference/_all", {}),
        ("DELETE", "/_inference/text_embedding/endpoint", {}),
        ("PUT", "/_nodes/ml-0/shutdown", {"json": {"type": "restart", "reason": "maintenance"}}),
        ("GET", "/_nodes/shutdown", {}),
        ("DELETE", "/_nodes/ml-0/shutdown", {}),
        ("POST", "/_ml/trained_models/dep/deployment/_stop", {}),
        ("DELETE", "/_ml/trained_models/tiny", {}),
    ]
    for method, path, options in calls:
        response = client.request(method, path, **options)
        assert response.status_code == 200, (method, path, response.text)


def test_every_operation_holds_the_lock_over_every_step_and_state_access() -> None:
    """Over HTTP (a subclass runs its actions in threads): each operation ran, and no step ran
    and no state was read or written by any thread without holding the lock."""
    config = ServerConfig()
    cluster = _Probed(config)
    with TestClient(create_app(config, cluster=cluster)) as client:
        _drive_every_operation(client)
    assert cluster.operations_run == OPERATIONS, "drive the new operation in _drive_every_operation"
    assert cluster.unlocked == []


def test_the_probe_sees_a_step_or_a_read_without_the_lock() -> None:
    """The check above can fail: the same probe, used outside any operation, records both."""
    cluster = _Probed(ServerConfig())
    cluster.validate_update_request(UpdateRequest(number_of_allocations=1))
    assert cluster.deployments == {}
    assert [entry.split(" in ")[0] for entry in cluster.unlocked] == [
        "step validate_update_request",
        "read of deployments",
    ]


def _mutant_clusters() -> list[type[Cluster]]:
    found = []
    for module_info in pkgutil.iter_modules(conformance.mutants.__path__):
        module = importlib.import_module(f"conformance.mutants.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Cluster) and value is not Cluster
        ]
    return found


def test_mutants_override_steps_only() -> None:
    clusters = _mutant_clusters()
    assert len(clusters) >= 30
    wrong = {cls.__name__: sorted(overrides(cls, Cluster) - STEPS) for cls in clusters}
    assert {name: names for name, names in wrong.items() if names} == {}


def test_a_mutant_that_overrides_an_operation_is_refused() -> None:
    class TakesNoLock(Cluster):
        """Updates run without the lock (§1.6 C.9)."""

        def update_deployment(self, deployment_id: str, request: UpdateRequest) -> dict[str, Any]:
            return super().update_deployment(deployment_id, request)

    with pytest.raises(TypeError, match="TakesNoLock overrides update_deployment: a mutant overrides steps only"):
        mutant(family="concurrency", expects="concurrency.no-lost-update")(TakesNoLock)


def test_only_the_cluster_and_the_concurrency_mutants_touch_the_lock() -> None:
    """Endpoints and views call operations; only the cluster takes the lock (``@operation``),
    and only the concurrency mutants let it go (their defect)."""
    root = Path(conformance.__file__).parent
    touching = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if re.search(r"\.lock\b", path.read_text(encoding="utf-8"))
    }
    assert touching == {"reference/cluster.py", "reference/locking.py", "mutants/concurrency.py"}
