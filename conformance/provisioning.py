"""Provisioning: the run's own models and deployments, created and always removed.

The suite is an ordinary client of the API (HTTP only), so it works against any server.
Everything it creates carries the run-id prefix and is removed at the end, also after
Ctrl-C or SIGTERM (DESIGN "Touch only what the run created"). A deployment the user
lends with ``--deployment-id`` is never stopped: its settings are put back instead.

The upload and start sequence is the one Elasticsearch's own tests use (§5.3).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.context import Version
from conformance.discovery import json_of
from conformance.exchange import DeploymentObservation, Intent, IntentKind
from conformance.interrupts import INTERRUPTS
from conformance.observations import parse_stats
from conformance.oracle import output_form
from conformance.target import SetupError, Target

SETUP = Intent(IntentKind.OTHER, detail="provisioning")
DEPLOYMENT_IDS_SINCE = Version(8, 8)  # §1.2: before 8.8 the deployment id is the model id
ADAPTIVE_SINCE = Version(8, 16)  # §1.4: adaptive allocations generally usable from 8.16.0
INFERENCE_PATH = "/_inference/text_embedding"
STATS_PATH = "/_ml/trained_models/_stats"
RESTORE_PATIENCE_S = 30.0
ADAPTIVE_BOUNDS = ("min_number_of_allocations", "max_number_of_allocations")


@dataclass(frozen=True)
class AdoptedDeployment:
    """A deployment the run borrows, with the settings to put back at the end."""

    deployment_id: str
    model_id: str
    threads_per_allocation: int
    priority: str
    queue_capacity: int | None
    number_of_allocations: int
    adaptive_allocations: Mapping[str, Any] | None


class Provisioner:
    """Creates models and deployments for one run and knows how to remove them."""

    def __init__(self, target: Target, run_id: str, version: Version) -> None:
        self.target = target
        self.run_id = run_id
        self.version = version
        self.models: list[str] = []
        self.deployments: list[str] = []
        self.adopted: list[AdoptedDeployment] = []
        self.inference_endpoints: list[str] = []

    @property
    def has_deployment_ids(self) -> bool:
        return self.version >= DEPLOYMENT_IDS_SINCE

    def upload_model(self, model_id: str, *, broken: bool = False) -> None:
        """Config, vocabulary and definition of the tiny model (§5.3 steps 2-4)."""
        from conformance.assets import tiny_model

        model = tiny_model()
        definition = model.broken_definition if broken else model.definition
        self.models.append(model_id)
        base = f"/_ml/trained_models/{model_id}"
        self._call("PUT", base, json=model.config)
        self._call("PUT", f"{base}/vocabulary", json={"vocabulary": list(model.vocabulary)})
        part = {
            "total_definition_length": len(definition),
            "definition": base64.b64encode(definition).decode("ascii"),
            "total_parts": 1,
        }
        self._call("PUT", f"{base}/definition/0", json=part)

    def start(
        self,
        model_id: str,
        *,
        deployment_id: str,
        threads_per_allocation: int,
        number_of_allocations: int,
        priority: str,
        adaptive_allocations: Mapping[str, Any] | None,
        wait_for: str,
    ) -> Mapping[str, Any]:
        """Start a deployment (§5.3 step 5) and return its ``assignment``."""
        params: dict[str, Any] = {
            "threads_per_allocation": threads_per_allocation,
            "priority": priority,
            "wait_for": wait_for,
            "timeout": "40s",
        }
        if adaptive_allocations is None or not adaptive_allocations.get("enabled"):
            params["number_of_allocations"] = number_of_allocations
        if self.has_deployment_ids:
            params["deployment_id"] = deployment_id
        body = {"adaptive_allocations": dict(adaptive_allocations)} if adaptive_allocations else None
        self.deployments.append(deployment_id)
        answer = self._call("POST", f"/_ml/trained_models/{model_id}/deployment/_start", params=params, json=body)
        assignment = answer.get("assignment")
        if not isinstance(assignment, Mapping):
            raise SetupError(f"starting deployment {deployment_id} returned no assignment")
        return assignment

    def create_inference_endpoint(self, inference_id: str, model_id: str) -> Mapping[str, Any]:
        """An endpoint of the ``elasticsearch`` service, which deploys ``model_id`` under the
        deployment id ``inference_id`` (§1.6 B); removed before the deployments at clean-up."""
        self.inference_endpoints.append(inference_id)
        self.deployments.append(inference_id)
        settings = {"model_id": model_id, "num_allocations": 1, "num_threads": 1}
        endpoint: Mapping[str, Any] = self._call(
            "PUT", f"{INFERENCE_PATH}/{inference_id}", json={"service": "elasticsearch", "service_settings": settings}
        )
        return endpoint

    def delete_inference_endpoint(self, inference_id: str) -> None:
        """Delete one of the run's endpoints (and so its deployment), freeing its processors."""
        self._call("DELETE", f"{INFERENCE_PATH}/{inference_id}")
        self.inference_endpoints.remove(inference_id)
        if inference_id in self.deployments:
            self.deployments.remove(inference_id)

    def stop(self, deployment_id: str) -> None:
        """Force-stop one of the run's deployments."""
        self._call("POST", f"/_ml/trained_models/{deployment_id}/deployment/_stop", params={"force": "true"})
        self.deployments.remove(deployment_id)

    def adopt(self, deployment_id: str) -> AdoptedDeployment:
        """Borrow an existing deployment and record every setting ``_update`` can change:
        the count and the adaptive settings (present or not, enabled or not, §1.4)."""
        found = self._observed(deployment_id)
        if found is None:
            raise SetupError(f"--deployment-id {deployment_id}: no such deployment on the target")
        adaptive = found.adaptive_allocations
        adopted = AdoptedDeployment(
            deployment_id=deployment_id,
            model_id=found.model_id,
            threads_per_allocation=int(found.threads_per_allocation or 1),
            priority=str(found.priority or "normal"),
            queue_capacity=found.queue_capacity,
            number_of_allocations=int(found.number_of_allocations or 1),
            adaptive_allocations=output_form(adaptive) if isinstance(adaptive, Mapping) else None,
        )
        self.adopted.append(adopted)
        return adopted

    def cleanup(self) -> list[str]:
        """Remove what the run created and restore what it borrowed; return what went wrong.

        Runs with SIGINT and SIGTERM held off, so a second Ctrl-C cannot leave half the
        objects behind.
        Deployments still reported with the run-id prefix are stopped too: a start whose
        answer never came back (interrupted, timed out) still counts as created.
        """
        problems: list[str] = []
        with INTERRUPTS.protected():
            for inference_id in self.inference_endpoints:
                problems += self._attempt("DELETE", f"{INFERENCE_PATH}/{inference_id}", missing_ok=True)
            self.inference_endpoints.clear()
            for deployment_id in sorted(set(self.deployments) | set(self._live_prefixed_deployments())):
                problems += self._attempt(
                    "POST",
                    f"/_ml/trained_models/{deployment_id}/deployment/_stop",
                    params={"force": "true"},
                    missing_ok=True,
                )
            self.deployments.clear()
            for model_id in self.models:
                problems += self._attempt(
                    "DELETE", f"/_ml/trained_models/{model_id}", params={"force": "true"}, missing_ok=True
                )
            self.models.clear()
            for adopted in self.adopted:  # last: an increase back may need what the run's deployments held
                problems += self._restore(adopted)
            self.adopted.clear()
        return problems

    def _restore(self, adopted: AdoptedDeployment) -> list[str]:
        """Put the recorded settings back, then read them back through ``_stats``.

        From 8.16 one body sets the count together with the adaptive settings, disabled
        (§1.6 A.2 refuses a count next to ``enabled: true``; a disabled or null object
        lets it through, and C.3 judges the merged settings); enabled settings are sent
        again on their own afterwards. Bounds absent from the record go as ``null``,
        which clears them (§1.4). A refused step or a read-back that differs is a problem.
        """
        path = update_path(adopted.deployment_id)
        steps: list[dict[str, Any]] = [{"number_of_allocations": adopted.number_of_allocations}]
        if self.version >= ADAPTIVE_SINCE:
            wanted = adopted.adaptive_allocations
            steps[0]["adaptive_allocations"] = None if wanted is None else {**_with_bounds(wanted), "enabled": False}
            if wanted is not None and wanted.get("enabled"):
                steps.append({"adaptive_allocations": _with_bounds(wanted)})
        for body in steps:
            problems = self._attempt_while_settling("POST", path, json=body)
            if problems:
                return [f"--deployment-id {adopted.deployment_id} not restored: {problems[0]}"]
        return self._restore_differences(adopted)

    def _restore_differences(self, adopted: AdoptedDeployment) -> list[str]:
        try:
            found = self._observed(adopted.deployment_id)
        except SetupError as exc:
            return [f"--deployment-id {adopted.deployment_id}: cannot read back its settings: {exc}"]
        if found is None:
            return [f"--deployment-id {adopted.deployment_id}: the deployment is gone after the run"]
        adaptive = found.adaptive_allocations
        now = (
            found.number_of_allocations,
            output_form(adaptive) if isinstance(adaptive, Mapping) and self.version >= ADAPTIVE_SINCE else None,
        )
        wanted = (
            adopted.number_of_allocations,
            adopted.adaptive_allocations if self.version >= ADAPTIVE_SINCE else None,
        )
        if now == wanted or (now[1] == wanted[1] and _scaler_may_have_moved(wanted[1], now[0])):
            return []
        return [
            f"--deployment-id {adopted.deployment_id} restored wrongly: expected number_of_allocations "
            f"{wanted[0]} and adaptive_allocations {wanted[1]}, _stats reads {now[0]} and {now[1]}"
        ]

    def _attempt_while_settling(self, method: str, path: str, **kwargs: Any) -> list[str]:
        """:meth:`_attempt`, again with back-off while the answer is 409: after a decrease the
        assignment can be ``starting`` for a while, and only a ``started`` one changes (§10.1)."""
        deadline = time.monotonic() + RESTORE_PATIENCE_S
        delay = 0.05
        while True:
            problems = self._attempt(method, path, **kwargs)
            if not problems or not problems[0].endswith("HTTP 409") or time.monotonic() > deadline:
                return problems
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _observed(self, deployment_id: str) -> DeploymentObservation | None:
        """One deployment as ``_stats`` reports it (``None`` when it has no ``deployment_stats``)."""
        stats = self._call("GET", f"/_ml/trained_models/{deployment_id}/_stats")
        return parse_stats(stats, time.monotonic()).get(deployment_id)

    def _live_prefixed_deployments(self) -> list[str]:
        exchange = self.target.request("GET", STATS_PATH, intent=SETUP)
        body = exchange.response.json() if exchange.response is not None else None
        return [d for d in parse_stats(body, time.monotonic()).deployments if d.startswith(self.run_id)]

    def _attempt(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> list[str]:
        exchange = self.target.request(method, path, intent=SETUP, send_json="json" in kwargs, **kwargs)
        if exchange.response is None:
            return [f"{method} {path}: {exchange.error}"]
        if exchange.response.status == 200 or (missing_ok and exchange.response.status == 404):
            return []
        return [f"{method} {path}: HTTP {exchange.response.status}"]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        json = kwargs.pop("json", None)
        exchange = self.target.request(method, path, intent=SETUP, json=json, **kwargs)
        if exchange.response is not None and exchange.response.status != 200:
            reason = _reason(exchange.response.json())
            raise SetupError(f"{method} {path} answered HTTP {exchange.response.status}{reason}")
        return json_of(exchange, f"{method} {path}")


def _scaler_may_have_moved(adaptive: Mapping[str, Any] | None, count: Any) -> bool:
    """With adaptive allocations enabled the count is the scaler's (§1.4): on a live cluster it
    may have moved between the restore and the read-back, within the settings' bounds."""
    if not adaptive or not adaptive.get("enabled") or not isinstance(count, int):
        return False
    return bool(
        adaptive.get("min_number_of_allocations", 0) <= count <= adaptive.get("max_number_of_allocations", count)
    )


def update_path(deployment_id: str) -> str:
    return f"/_ml/trained_models/{deployment_id}/deployment/_update"


def _with_bounds(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every bound named: ``null`` clears one the record lacks (§1.4)."""
    return {"enabled": settings.get("enabled") is True, **{key: settings.get(key) for key in ADAPTIVE_BOUNDS}}


def _reason(body: Any) -> str:
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping) and error.get("reason"):
        return f": {error['reason']}"
    return ""
