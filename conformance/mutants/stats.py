"""Read-path defects: ``GET _ml/trained_models/_stats`` tells another story than ``_update`` (§3.4, §7).

Every ``_update`` answer of these servers is right; what a client reads back is not.
Each is a :class:`Rewrite` of the stats answer, as a caching gateway or a bug in the
stats action would produce it.
"""

from __future__ import annotations

import time
from typing import Any

from conformance.mutants.base import STATS_PATH, Answer, AsgiApp, Asked, Rewrite, each_deployment_stats, mutant


def _is_stats_read(asked: Asked) -> bool:
    return asked.method == "GET" and STATS_PATH.match(asked.path) is not None


STALE_SECONDS = 2.0


@mutant(family="stats", expects="stats.agree-with-assignment")
class StaleStatsCache(Rewrite):
    """A caching gateway serves each ``_stats`` answer for 2 s, so reads right after an update show the state before it (§3.5-1, §7).

    Convergence polls still see the new state once the entry expires, which is what makes
    such a cache easy to miss by hand.
    """  # noqa: E501 - the first line is the mutant's defect

    def __init__(self, app: AsgiApp) -> None:
        super().__init__(app)
        self.cached: dict[tuple[str, str], tuple[float, Answer]] = {}

    def _fresh(self, asked: Asked) -> Answer | None:
        hit = self.cached.get((asked.path, asked.query))
        return hit[1] if hit is not None and time.monotonic() - hit[0] < STALE_SECONDS else None

    def request(self, asked: Asked) -> Answer | None:
        return self._fresh(asked) if _is_stats_read(asked) else None

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        if _is_stats_read(asked) and answer.status == 200 and self._fresh(asked) is None:
            self.cached[(asked.path, asked.query)] = (time.monotonic(), answer)
        return answer


def _updated_id(asked: Asked) -> str:
    return asked.path.split("/")[3]  # /_ml/trained_models/<id>/deployment/_update


@mutant(family="stats", expects="stats.agree-with-assignment")
class StatsThreadsFromAllocations(Rewrite):
    """After its count changed, a deployment's stats report ``threads_per_allocation`` equal to its number of allocations and no ``cache_size`` (ES#91095, §3.5-2).

    The stats action rebuilt the deployment's parameters with two arguments swapped;
    fixed in 8.5 (ES#91122). The assignment itself stays right.
    """  # noqa: E501 - the first line is the mutant's defect

    def __init__(self, app: AsgiApp) -> None:
        super().__init__(app)
        self.changed: set[str] = set()

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        if asked.is_update and answer.status == 200 and b"number_of_allocations" in asked.body + asked.query.encode():
            self.changed.add(_updated_id(asked))
        document = answer.json()
        if not _is_stats_read(asked) or answer.status != 200 or not self.changed:
            return answer
        for stats in each_deployment_stats(document):
            if stats.get("deployment_id", stats.get("model_id")) in self.changed:
                stats["threads_per_allocation"] = stats.get("number_of_allocations")
                stats.pop("cache_size", None)
        return answer.with_json(document)


CHARGED_BYTES_PER_ALLOCATION = 16 * 1024 * 1024


@mutant(family="stats", expects="stats.memory-of-others-unchanged")
class StatsMemoryOfAllDeployments(Rewrite):
    """Each model's ``required_native_memory_bytes`` charges the allocations of every deployment, so updating one changes the others' figure (ES#107831, §11.3).

    As if each allocation needed 16 MB of its own: the estimate grows with the total count
    of the answer's deployments instead of the deployment's own (fixed by ES#143077).
    """  # noqa: E501 - the first line is the mutant's defect

    def answer(self, asked: Asked, answer: Answer) -> Answer:
        document = answer.json()
        if not _is_stats_read(asked) or answer.status != 200 or not isinstance(document, dict):
            return answer
        total = sum(stats.get("number_of_allocations") or 0 for stats in each_deployment_stats(document))
        for entry in document.get("trained_model_stats") or []:
            sizes: Any = entry.get("model_size_stats") if isinstance(entry, dict) else None
            if (
                isinstance(sizes, dict)
                and isinstance(sizes.get("required_native_memory_bytes"), int)
                and "deployment_stats" in entry
            ):
                sizes["required_native_memory_bytes"] += CHARGED_BYTES_PER_ALLOCATION * total
        return answer.with_json(document)
