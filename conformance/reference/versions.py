"""The emulated Elasticsearch version, reduced to one boolean per behaviour that changed.

Every field is a row (or part of a row) of the version table in §4 of
``elasticsearch-behaviour.md``; the server code asks these booleans, never the version
number, so a difference between versions is named in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.context import Version

_FIRST_SUPPORTED = Version(8, 6, 0)


@dataclass(frozen=True)
class Behaviour:
    version: Version
    deployment_ids: bool
    """8.8+: the `_update` path value is a deployment id; `deployment_id` in task params (§1.2, §2.6)."""
    memory_fields: bool
    """8.11+: `per_deployment_memory_bytes` / `per_allocation_memory_bytes` (§2.3, §2.6)."""
    allocations_query_param: bool
    """8.15+: `?number_of_allocations=` on `_update`; before, an unrecognized parameter (§1.3)."""
    optional_number_of_allocations: bool
    """8.15+: `number_of_allocations` is an `Integer`, so `{}` is a no-op; before, `{}` fails (§1.6 A.1)."""
    prefix_strings: bool
    """8.12+: models store and echo `prefix_strings` (ES#102089, TrainedModelConfig; §11.1)."""
    truncated_json_is_400: bool
    """8.15.2+: truncated JSON is a 400; up to 8.15.1 a 500 `x_content_e_o_f_exception` (§1.5, §10.2)."""
    adaptive_allocations: bool
    """8.16+: `adaptive_allocations` is accepted and always emitted (null when unset) (§1.4, §2.6)."""
    inference_endpoint_conflict: bool
    """Newest: `_update` of a deployment created by an inference endpoint is a 409 (§1.6 B).
    §9: the first release is unverified (PR #130940, merged 2025-07); modelled from 9.2."""
    low_priority_update_rejected: bool
    """Newest: low-priority deployments cannot be updated above 1 allocation (§1.6 D).
    §9: exact text/status unknown; backported to 8.19/9.2/9.3 per §1.6 D, modelled from 9.3."""
    per_deployment_memory_stats: bool
    """9.4+: `_stats` `model_size_stats.required_native_memory_bytes` is computed with each
    deployment's own allocations (ES#143077, fixing ES#107831: before, with the total allocations
    of every deployment, so an `_update` of one deployment moved the figure of all; §11.3)."""
    inference_rss_stats: bool
    """9.4+: `deployment_stats.nodes[].average_inference_process_memory_rss_bytes` (SPEC #6271; §11.4)."""
    zero_allocations_survive_shutdown: bool
    """ES#146910 (merged 2026-04-21; backports ES#147306 to 9.3, ES#147304 to 9.4): a deployment
    scaled to zero is carried through the rebalance an ML-node shutdown causes; before, that
    rebalance dropped it from the cluster state and later calls got 404 (§11.5 C). §9: the patch
    releases are not verified; taken as 9.3.4 and 9.4.1, and every version from 9.5."""
    compatible_majors: tuple[int, ...]
    """Majors accepted in `compatible-with=` media types (§10.4): always 8 and 9 here."""

    def __hash__(self) -> int:
        """Every field follows from the version; hashing only it keeps per-request cache look-ups cheap."""
        return hash((self.version.major, self.version.minor, self.version.patch))


def behaviour_for(es_version: str) -> Behaviour:
    """The behaviour of ``es_version``; ``ValueError`` for a version without `_update` (< 8.6)."""
    version = Version.parse(es_version)
    if version < _FIRST_SUPPORTED:
        raise ValueError(f"Elasticsearch {version} has no _update API (added in 8.6.0, §4)")
    return Behaviour(
        version=version,
        deployment_ids=version >= Version(8, 8),
        memory_fields=version >= Version(8, 11),
        allocations_query_param=version >= Version(8, 15),
        optional_number_of_allocations=version >= Version(8, 15),
        prefix_strings=version >= Version(8, 12),
        truncated_json_is_400=version >= Version(8, 15, 2),
        adaptive_allocations=version >= Version(8, 16),
        inference_endpoint_conflict=version >= Version(9, 2),
        low_priority_update_rejected=version >= Version(9, 3),
        per_deployment_memory_stats=version >= Version(9, 4),
        inference_rss_stats=version >= Version(9, 4),
        zero_allocations_survive_shutdown=_has_shutdown_zero_allocation_fix(version),
        compatible_majors=(8, 9),
    )


_SHUTDOWN_ZERO_ALLOCATION_FIX = {(9, 3): Version(9, 3, 4), (9, 4): Version(9, 4, 1)}
"""The first patch of each backport line with ES#146910, as the reference takes them (§11.5 C, §9)."""


def _has_shutdown_zero_allocation_fix(version: Version) -> bool:
    first = _SHUTDOWN_ZERO_ALLOCATION_FIX.get((version.major, version.minor))
    if first is not None:
        return version >= first
    return version >= Version(9, 5)
