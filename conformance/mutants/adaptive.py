"""Adaptive-allocations defects: settings validated, merged or enforced wrongly (§1.4, §1.6 A.3, C.3, C.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.mutants.base import mutant
from conformance.reference.cluster import Cluster
from conformance.reference.errors import EsError
from conformance.reference.model import ABSENT, Deployment, UpdateRequest

MIN_ABOVE_MAX = "Validation Failed: 1: [min_number_of_allocations] must not be larger than [max_number_of_allocations];"


def _tolerating_min_above_max(check: Callable[[], object]) -> None:
    """Run ``check`` but swallow the error when min > max is its only complaint."""
    try:
        check()
    except EsError as error:
        if error.reason != MIN_ABOVE_MAX:
            raise


@mutant(family="adaptive", expects="errors.invalid-adaptive-min-above-max")
class MinAboveMaxAccepted(Cluster):
    """Each bound is checked on its own, never against the other: ``min > max`` is accepted (§1.6 A.3, C.4)."""

    def validate_update_request(self, request: UpdateRequest) -> UpdateRequest:
        _tolerating_min_above_max(lambda: super(MinAboveMaxAccepted, self).validate_update_request(request))
        return request

    def validate_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        _tolerating_min_above_max(lambda: super(MinAboveMaxAccepted, self).validate_update(deployment, request, merged))


@mutant(family="adaptive", expects="adaptive.merge")
class AdaptiveReplacedNotMerged(Cluster):
    """Sent adaptive settings replace the stored ones instead of merging field by field (§1.4)."""

    def merge_adaptive(self, existing: dict[str, Any] | None, update: Any) -> dict[str, Any] | None:
        if update is ABSENT or update is None:
            return super().merge_adaptive(existing, update)
        return super().merge_adaptive(None, update)


@mutant(family="adaptive", expects="adaptive.count-rejected-while-enabled")
class CountAcceptedWhileAdaptive(Cluster):
    """A count alone is accepted while the *stored* adaptive allocations are enabled (only the request is checked, §1.6 C.3)."""  # noqa: E501 - the first line is the mutant's defect

    def validate_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        if merged is not None and request.adaptive is ABSENT:
            merged = {**merged, "enabled": False}
        super().validate_update(deployment, request, merged)
