"""Discovery: learn what the target is before judging it.

Rules are judged against the target's own facts: its version (which behaviours apply),
its ML nodes and their allocated processors (capacity comes from ``GET _nodes``, never
from the machine the suite runs on, DESIGN "Capacity comes from the target"), its ML
limits and whether it could scale up (§1.6 C.8: that decides between 429 and a partial
200 for an over-capacity increase).

What discovery learned travels as JSON (:func:`context_to_dict`): from pytest-xdist
workers to the controller, into the results file, and from the CLI, which discovers
before it starts pytest, to the pytest session (``DC_CONTEXT``), so it is read once.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping

from conformance.context import Context, MlNode, Version
from conformance.exchange import Exchange, Intent
from conformance.target import SetupError, Target

SETUP = Intent("other", detail="discovery")
CONTEXT_ENV = "DC_CONTEXT"


def discover(target: Target, profile: str = "auto") -> Context:
    """Read ``GET /``, ``GET /_nodes``, ``GET /_ml/info`` and the cluster settings."""
    root = _get_json(target, "/")
    version, flavor = _version_and_flavor(root)
    nodes = ml_nodes(_get_json(target, "/_nodes"))
    limits = _limits(target)
    scaling = scaling_possible(_settings(target), len(nodes))
    chosen, judged_as = _profile(profile, version)
    return Context(
        version=judged_as,
        flavor=flavor,
        profile=chosen.name,
        features=frozenset(chosen.features),
        nodes=nodes,
        scaling_possible=scaling,
        limits=limits,
        reported_version=version,
    )


def context_to_dict(ctx: Context) -> dict[str, Any]:
    """``ctx`` as JSON-encodable values; :func:`context_from_dict` reads it back."""
    data = asdict(ctx)
    data["version"] = str(ctx.version)
    data["reported_version"] = str(ctx.reported_version) if ctx.reported_version else None
    data["features"] = sorted(ctx.features)
    data["limits"] = dict(ctx.limits)
    return data


def context_from_dict(data: Mapping[str, Any]) -> Context:
    return Context(
        version=Version.parse(data["version"]),
        flavor=data["flavor"],
        profile=data["profile"],
        features=frozenset(data["features"]),
        nodes=tuple(MlNode(**node) for node in data["nodes"]),
        scaling_possible=data["scaling_possible"],
        limits=data["limits"],
        reported_version=Version.parse(data["reported_version"]) if data.get("reported_version") else None,
    )


def ml_nodes(body: Mapping[str, Any]) -> tuple[MlNode, ...]:
    """The nodes with role ``ml`` and the processors the planner may use (§10.6)."""
    found = []
    for node_id, node in sorted((body.get("nodes") or {}).items()):
        if "ml" not in (node.get("roles") or ()):
            continue
        attributes = node.get("attributes") or {}
        processors = attributes.get("ml.allocated_processors_double", attributes.get("ml.allocated_processors"))
        memory = attributes.get("ml.machine_memory")
        found.append(
            MlNode(
                id=node_id,
                name=str(node.get("name", node_id)),
                allocated_processors=_number(processors, 0.0),
                memory_bytes=int(_number(memory, 0)) if memory is not None else None,
            )
        )
    return tuple(found)


def scaling_possible(settings: Mapping[str, Any] | None, ml_node_count: int) -> bool | None:
    """``xpack.ml.max_lazy_ml_nodes`` > number of ML nodes (§1.6 C.8); ``None`` when unreadable."""
    if settings is None:
        return None
    for scope in ("transient", "persistent", "defaults"):
        value = (settings.get(scope) or {}).get("xpack.ml.max_lazy_ml_nodes")
        if value is not None:
            try:
                return int(value) > ml_node_count
            except (TypeError, ValueError):
                return None
    return None


def _version_and_flavor(root: Mapping[str, Any]) -> tuple[Version, str]:
    info = root.get("version") if isinstance(root, Mapping) else None
    if not isinstance(info, Mapping) or "number" not in info:
        raise SetupError("GET / did not return an Elasticsearch version (no version.number)")
    # OpenSearch answers GET / like Elasticsearch 7 but names itself in version.distribution;
    # its version numbers are not Elasticsearch's, so no profile applies to it.
    distribution = info.get("distribution")
    if isinstance(distribution, str) and distribution.lower() != "elasticsearch":
        product = "OpenSearch" if distribution.lower() == "opensearch" else distribution
        raise SetupError(f"the target is {product} {info['number']} (version.distribution: {distribution}), "
                         "not Elasticsearch: it has no trained-model deployment _update API to judge")
    try:
        version = Version.parse(str(info["number"]))
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    return version, str(info.get("build_flavor", "default"))


def _limits(target: Target) -> Mapping[str, Any]:
    try:
        return _get_json(target, "/_ml/info").get("limits") or {}
    except SetupError:
        return {}


def _settings(target: Target) -> Mapping[str, Any] | None:
    params = {"include_defaults": "true", "flat_settings": "true"}
    try:
        return _get_json(target, "/_cluster/settings", params)
    except SetupError:
        return None


def newer_than_known(reported: Version | None) -> str | None:
    """A warning when the target reports a version past the newest profile's minor release:
    it is judged by the newest profile, whose contract may have changed since."""
    from conformance.schemas import profile_named, profile_names

    newest = profile_named(profile_names()[-1])
    if reported is None or (reported.major, reported.minor) <= (newest.version.major, newest.version.minor):
        return None
    return (f"the target reports Elasticsearch {reported}, newer than any profile this suite knows: "
            f"judged by the newest profile, {newest.name}")


def _profile(name: str, version: Version) -> tuple[Any, Version]:
    """The profile to judge by and the version rules see: the target's, or the one forced."""
    from conformance.schemas import profile_for_version, profile_named, profile_names

    try:
        if name == "auto":
            return profile_for_version(version), version
        if name in profile_names():
            chosen = profile_named(name)
            return chosen, chosen.version
        forced = Version.parse(name)
        return profile_for_version(forced), forced
    except ValueError as exc:
        raise SetupError(str(exc)) from None


def _get_json(target: Target, path: str, params: Mapping[str, str] | None = None) -> Any:
    exchange = target.request("GET", path, params=params, intent=SETUP)
    return json_of(exchange, f"GET {path}")


def json_of(exchange: Exchange, what: str) -> Any:
    """The JSON answer of a set-up call, or a one-line :class:`SetupError`."""
    if exchange.response is None:
        raise SetupError(f"cannot reach {exchange.request.url.split('?')[0]}: {exchange.error}")
    if exchange.response.status != 200:
        raise SetupError(f"{what} answered HTTP {exchange.response.status}{refusal_detail(exchange)}")
    body = exchange.response.json()
    if not isinstance(body, Mapping):
        raise SetupError(f"{what} did not answer a JSON object")
    return body


def refusal_detail(exchange: Exchange) -> str:
    """What a refusal says for itself: the ``Location`` of a redirect, the reason of an
    Elasticsearch error envelope (401, 403, ...), else the start of the body."""
    response = exchange.response
    if response is None:
        return ""
    if 300 <= response.status < 400:
        location = response.header("location")
        return f" (a redirect to {location})" if location else " (a redirect without Location)"
    body = response.json()
    error = body.get("error") if isinstance(body, Mapping) else None
    reason = error.get("reason") if isinstance(error, Mapping) else error
    text = str(reason) if reason else response.body.decode("utf-8", "replace")
    text = " ".join(text.split())[:300]
    hint = " (check --api-key, --user/--password or --bearer-token)" if response.status in (401, 403) else ""
    return f": {text}{hint}" if text else hint


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
