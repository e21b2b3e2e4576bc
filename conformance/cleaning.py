"""``deployment-conformance clean``: remove what earlier runs left on a target.

A run removes its objects at the end, also after Ctrl-C or SIGTERM; a run killed outright
(SIGKILL: the OOM killer, a cancelled CI job) cannot, and its deployments keep holding
processors, so later runs cannot judge capacity. Every object a run creates is named
``dc-<hex run id>-...`` (models, deployments, inference endpoints), so what is left can be
found by its name alone. Only such ids are ever touched: an id of anyone else, even one
that merely starts with ``dc-``, is never listed and never removed.

Removal goes in the order clean-up uses (:mod:`conformance.provisioning`): inference
endpoints first (they own their deployments, §1.6 B), then deployments (force-stopped),
then models (force-deleted). Afterwards the target is listed again; whatever is still
there is reported and makes the exit code 3.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.exchange import Intent, IntentKind
from conformance.observations import parse_stats
from conformance.target import SetupError, Target, TargetConfig

CLEAN = Intent(IntentKind.OTHER, detail="clean")
RUN_ID = re.compile(r"dc-[0-9a-f]+")
"""A run id as ``run`` makes it (``dc-`` and hex digits)."""
RUN_OBJECT = re.compile(r"(dc-[0-9a-f]+)-.+")
LISTING = {"allow_no_match": "true", "size": "10000"}  # 10000: the largest page of the listing APIs
EXIT_OK, EXIT_LEFT = 0, 3
ENDPOINT, DEPLOYMENT, MODEL = "inference endpoint", "deployment", "model"
REMOVAL_ORDER = (ENDPOINT, DEPLOYMENT, MODEL)  # endpoints own deployments (§1.6 B), deployments hold models


@dataclass(frozen=True)
class Leftover:
    """One object of an earlier run: its kind and id."""

    kind: str
    id: str
    task_type: str = ""  # inference endpoints are addressed by task type and id

    @property
    def removal_rank(self) -> tuple[int, str]:
        return REMOVAL_ORDER.index(self.kind), self.id

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


def is_run_object(object_id: str, run_id: str | None = None) -> bool:
    """True for an id a run created (of ``run_id`` only, when given)."""
    found = RUN_OBJECT.fullmatch(object_id)
    return found is not None and (run_id is None or found.group(1) == run_id)


def find_leftovers(target: Target, run_id: str | None = None) -> list[Leftover]:
    """Every object of earlier runs (or of ``run_id``) on the target, in removal order."""
    found: set[Leftover] = set()
    for endpoint in _listing(target, "/_inference/_all", "endpoints", optional=True):
        inference_id = str(endpoint.get("inference_id", ""))
        if is_run_object(inference_id, run_id):
            found.add(Leftover(ENDPOINT, inference_id, str(endpoint.get("task_type", "_all"))))
    stats = parse_stats(_document(target, "/_ml/trained_models/dc-*/_stats"), time.monotonic())
    for deployment_id in stats.deployments:
        if is_run_object(deployment_id, run_id):
            found.add(Leftover(DEPLOYMENT, deployment_id))
    for config in _listing(target, "/_ml/trained_models/dc-*", "trained_model_configs"):
        model_id = str(config.get("model_id", ""))
        if is_run_object(model_id, run_id):
            found.add(Leftover(MODEL, model_id))
    return sorted(found, key=lambda item: item.removal_rank)


def leftovers(target: Target) -> list[str]:
    """What earlier runs left on the target (``"deployment dc-1a2b3c-primary"``...), for ``run``
    to warn about before it starts; empty when there is nothing (or nothing can be listed)."""
    try:
        return [str(item) for item in find_leftovers(target)]
    except SetupError:
        return []


def remove(target: Target, items: list[Leftover]) -> list[str]:
    """Remove ``items`` (already gone counts as removed); return what the target refused."""
    problems = []
    for item in sorted(items, key=lambda item: item.removal_rank):
        method, path, params = _removal(item)
        exchange = target.request(method, path, params=params, intent=CLEAN)
        if exchange.response is None:
            problems.append(f"{item}: {exchange.error}")
        elif exchange.response.status not in (200, 404):
            problems.append(f"{item}: {method} {path} answered HTTP {exchange.response.status}")
    return problems


def clean(config: TargetConfig, run_id: str | None, *, dry_run: bool, out: Any = None) -> int:
    """List, remove unless ``dry_run``, list again; the exit code (3 when anything stayed)."""
    out = out if out is not None else sys.stdout
    with Target(config) as target:
        found = find_leftovers(target, run_id)
        verb = "would remove" if dry_run else "removing"
        for item in found:
            print(f"{verb} {item}", file=out)
        if dry_run or not found:
            print(f"{len(found)} object(s) of earlier runs on {config.url}", file=out)
            return EXIT_OK
        problems = remove(target, found)
        still = find_leftovers(target, run_id)
    for problem in problems:
        print(f"not removed: {problem}", file=out)
    for item in still:
        print(f"still present: {item}", file=out)
    print(f"removed {len(found) - len(still)} of {len(found)} object(s)", file=out)
    return EXIT_LEFT if still or problems else EXIT_OK


def _removal(item: Leftover) -> tuple[str, str, Mapping[str, str]]:
    if item.kind == ENDPOINT:
        return "DELETE", f"/_inference/{item.task_type}/{item.id}", {"force": "true"}
    if item.kind == DEPLOYMENT:
        return "POST", f"/_ml/trained_models/{item.id}/deployment/_stop", {"force": "true"}
    return "DELETE", f"/_ml/trained_models/{item.id}", {"force": "true"}


def _listing(target: Target, path: str, key: str, *, optional: bool = False) -> list[Mapping[str, Any]]:
    """The entries of one listing."""
    body = _document(target, path, optional=optional)
    entries = body.get(key) if isinstance(body, Mapping) else None
    return [entry for entry in entries or () if isinstance(entry, Mapping)]


def _document(target: Target, path: str, *, optional: bool = False) -> Any:
    """The body of one listing (``None`` for none); a target without the API (``_inference``
    before 8.11, or any 4xx there) lists nothing when ``optional``."""
    exchange = target.request("GET", path, params=None if optional else LISTING, intent=CLEAN)
    if exchange.response is None:
        raise SetupError(f"cannot reach {target.config.url}: {exchange.error}")
    if exchange.response.status == 404 or (optional and 400 <= exchange.response.status < 500):
        return None
    if exchange.response.status != 200:
        raise SetupError(f"GET {path} answered HTTP {exchange.response.status}")
    return exchange.response.json()
