"""Request validation shared by start and update: the accumulated rules of §1.6 A and §1.7."""

from __future__ import annotations

from typing import Any

from conformance.reference.model import StartRequest

WAIT_FOR_STATES = ("starting", "started", "fully_allocated")


def adaptive_errors(settings: dict[str, Any]) -> list[str]:
    """§1.6 A.3 / C.4 min/max rules (``-1`` and ``None`` are "not set")."""
    minimum = settings.get("min_number_of_allocations")
    maximum = settings.get("max_number_of_allocations")
    minimum = None if minimum == -1 else minimum
    maximum = None if maximum == -1 else maximum
    messages = []
    if minimum is not None and minimum < 0:
        messages.append("[min_number_of_allocations] must be a non-negative integer or null")
    if maximum is not None and maximum < 1:
        messages.append("[max_number_of_allocations] must be a positive integer or null")
    if minimum is not None and maximum is not None and minimum > maximum:
        messages.append("[min_number_of_allocations] must not be larger than [max_number_of_allocations]")
    return messages


def start_errors(request: StartRequest, wait_for: str, timeout: float) -> list[str]:
    """§1.7 start validation (newest ``StartTrainedModelDeploymentAction``), accumulated."""
    messages = []
    allocations = request.number_of_allocations
    adaptive = request.adaptive or {}
    if allocations is not None and allocations < 1:
        messages.append("[number_of_allocations] must be a positive integer")
    if request.threads_per_allocation < 1:
        messages.append("[threads_per_allocation] must be a positive integer")
    elif request.threads_per_allocation > 32 or request.threads_per_allocation & (request.threads_per_allocation - 1):
        messages.append("[threads_per_allocation] must be a power of 2 less than or equal to 32")
    if request.queue_capacity < 1:
        messages.append("[queue_capacity] must be a positive integer")
    if request.queue_capacity > 100_000:
        messages.append("[queue_capacity] must be less than 100000")
    if timeout <= 0 and timeout != -1:
        messages.append("[timeout] must be positive")
    if wait_for not in WAIT_FOR_STATES:
        messages.append(f"invalid [wait_for] state [{wait_for}]")
    if request.priority == "low":
        if allocations is not None and allocations != 1:
            messages.append("[number_of_allocations] must be 1 when [priority] is low")
        if request.threads_per_allocation != 1:
            messages.append("[threads_per_allocation] must be 1 when [priority] is low")
    if allocations is not None and adaptive.get("enabled") is True:
        messages.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
    if request.adaptive:
        messages += adaptive_errors(request.adaptive)
    return messages
