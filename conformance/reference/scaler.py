"""The one step of Elasticsearch's adaptive-allocations scaler the reference models: scale to zero.

``AdaptiveAllocationsScalerService`` (ES#109667, scale to zero ES#113455, 8.16) lowers a
deployment whose adaptive settings allow ``min_number_of_allocations: 0`` to no allocations
once it has had no inference request for a day (ES#128914; §4, §11.5 C). It does so through
an internal ``_update`` to 0, the only way a deployment reaches 0 (REST callers may not ask
for it, §1.6 A.1). The reference takes the step lazily, when a read settles the deployment,
so a test can reach it with a clock of its own; the load-driven scaling up and down is not
modelled.
"""

from __future__ import annotations

from conformance.reference.model import Deployment

SCALE_TO_ZERO_AFTER = 24 * 3600.0
"""``xpack.ml.trained_models.adaptive_allocations.scale_to_zero_time`` default (ES#128914)."""


def idle_to_zero(deployment: Deployment, now: float) -> bool:
    """Whether the scaler would now scale ``deployment`` to zero allocations."""
    settings = deployment.adaptive_allocations or {}
    return (
        settings.get("enabled") is True
        and settings.get("min_number_of_allocations") == 0
        and deployment.number_of_allocations > 0
        and now - deployment.idle_since >= SCALE_TO_ZERO_AFTER
    )
