"""Discovery: learn what the target is before judging it.

Rules are judged against the target's own facts: its version (which behaviours apply),
its ML nodes and their allocated processors (capacity comes from ``GET _nodes``, never
from the machine the suite runs on, DESIGN "Capacity comes from the target"), its ML
limits and whether it could scale up (§1.6 C.8: that decides between 429 and a partial
200 for an over-capacity increase).

What discovery learned travels as JSON (:func:`context_to_dict`): from pytest-xdist
workers to the controller and into the results file; the CLI discovers before the run
and hands the context to ``run_suite`` in its settings, so it is read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from conformance.context import Context, Feature, MlNode, Version
from conformance.exchange import Exchange, Intent, IntentKind
from conformance.target import SetupError, Target

SETUP = Intent(IntentKind.OTHER, detail="discovery")
SERVERLESS = "serverless"  # GET / version.build_flavor of Elasticsearch Serverless
OS_OVERHEAD = 200 * 2**20  # ES NativeMemoryCalculator.OS_OVERHEAD


def discover(target: Target, profile: str = "auto") -> Context:
    """Read ``GET /``, ``GET /_nodes``, ``GET /_ml/info`` and the cluster settings."""
    root = _get_json(target, "/")
    version, flavor = _version_and_flavor(root)
    settings = _settings(target)
    nodes, capacity_unknown = _nodes(target, flavor, MemorySettings.of(settings))
    limits = _limits(target)
    memories = [node.memory_bytes for node in nodes if node.memory_bytes is not None]
    scaling = True if flavor == SERVERLESS else scaling_possible(settings, len(nodes), min(memories, default=None))
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
        capacity_unknown=capacity_unknown,
    )


def _nodes(target: Target, flavor: str, memory: MemorySettings) -> tuple[tuple[MlNode, ...], str | None]:
    """The ML nodes, or why they cannot be read: Serverless lists no nodes (its platform owns
    them, and ``_update`` is public there, §1.1), and a target may refuse ``GET _nodes``.
    Capacity rules are then skipped for that reason; everything else is judged as usual."""
    if flavor == SERVERLESS:
        return (), "the target is Elasticsearch Serverless (build_flavor serverless): it lists no ML nodes"
    exchange = target.request("GET", "/_nodes", intent=SETUP)
    if exchange.response is not None and exchange.response.status != 200:
        return (), f"GET /_nodes answered HTTP {exchange.response.status}"
    return ml_nodes(json_of(exchange, "GET /_nodes"), memory), None


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
        features=frozenset(Feature(name) for name in data["features"]),
        nodes=tuple(MlNode(**node) for node in data["nodes"]),
        scaling_possible=data["scaling_possible"],
        limits=data["limits"],
        reported_version=Version.parse(data["reported_version"]) if data.get("reported_version") else None,
        capacity_unknown=data.get("capacity_unknown"),
        allow_scaling=bool(data.get("allow_scaling", False)),
    )


@dataclass(frozen=True)
class MemorySettings:
    """The cluster settings that size ML memory (§3.2), with Elasticsearch's defaults."""

    max_machine_memory_percent: int = 30
    use_auto: bool = False

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> MemorySettings:
        percent = _setting(settings, "xpack.ml.max_machine_memory_percent")
        auto = _setting(settings, "xpack.ml.use_auto_machine_memory_percent")
        return cls(int(_number(percent, 30)) if percent is not None else 30, str(auto).lower() == "true")

    def allowed_bytes_for_ml(self, machine_memory: int, jvm_bytes: int | None) -> int:
        """ES ``NativeMemoryCalculator.allowedBytesForMl`` (x-pack/plugin/ml/.../utils/NativeMemoryCalculator.java):
        with auto sizing, what the JVM and 200 MB for the OS leave (at most 90%); else the percentage."""
        if self.use_auto and jvm_bytes is not None:
            if machine_memory - jvm_bytes <= OS_OVERHEAD or machine_memory == 0:
                return machine_memory // 100
            return round(machine_memory * min(0.90, (machine_memory - jvm_bytes - OS_OVERHEAD) / machine_memory))
        return int(machine_memory * (self.max_machine_memory_percent / 100.0))


def ml_nodes(body: Mapping[str, Any], memory: MemorySettings = MemorySettings()) -> tuple[MlNode, ...]:
    """The nodes with role ``ml``, the processors (§10.6) and the memory (§3.2) the planner may use."""
    found = []
    for node_id, node in sorted((body.get("nodes") or {}).items()):
        if "ml" not in (node.get("roles") or ()):
            continue
        attributes = node.get("attributes") or {}
        processors = attributes.get("ml.allocated_processors_double", attributes.get("ml.allocated_processors"))
        machine = _bytes(attributes.get("ml.machine_memory"))
        found.append(
            MlNode(
                id=node_id,
                name=str(node.get("name", node_id)),
                allocated_processors=_number(processors, 0.0),
                memory_bytes=machine,
                ml_memory_bytes=None
                if machine is None
                else memory.allowed_bytes_for_ml(machine, _bytes(attributes.get("ml.max_jvm_size"))),
                hardware_threads=hardware_threads(node.get("os")),
            )
        )
    return tuple(found)


def hardware_threads(os_info: Any) -> int | None:
    """A node's ``os.available_processors`` (the JVM's count, ES ``OsProbe.osInfo``), ``None`` when absent.

    The native process clamps to ``hardware_concurrency`` (§3.3), which ignores container CPU
    quotas while the JVM honours them, so this may be below what the process sees; it is
    never above it, and Elasticsearch keeps ``node.processors`` within it (``EsExecutors``).
    """
    value = os_info.get("available_processors") if isinstance(os_info, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _bytes(value: Any) -> int | None:
    """A byte-count attribute (a string of digits in ``GET _nodes``), ``None`` when absent or unreadable."""
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _setting(settings: Mapping[str, Any] | None, name: str) -> Any:
    for scope in ("transient", "persistent", "defaults"):
        value = ((settings or {}).get(scope) or {}).get(name)
        if value is not None:
            return value
    return None


def scaling_possible(
    settings: Mapping[str, Any] | None, ml_node_count: int, smallest_node_memory: int | None = None
) -> bool | None:
    """§1.6 C.8: ``xpack.ml.max_lazy_ml_nodes`` > number of ML nodes, or the smallest ML node
    below ``xpack.ml.max_ml_node_size`` (ML autoscaling); ``None`` when unreadable."""
    lazy = _setting(settings, "xpack.ml.max_lazy_ml_nodes")
    if lazy is None:
        return None
    try:
        more_nodes = int(lazy) > ml_node_count
    except (TypeError, ValueError):
        return None
    largest_allowed = _byte_size(_setting(settings, "xpack.ml.max_ml_node_size"))
    bigger_nodes = (
        largest_allowed is not None
        and largest_allowed > 0
        and smallest_node_memory is not None
        and smallest_node_memory < largest_allowed
    )
    return more_nodes or bigger_nodes


_BYTE_UNITS = {"b": 1, "kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40, "pb": 2**50}


def _byte_size(value: Any) -> int | None:
    """A byte-size setting (``64gb``, ``0b``, ``1024``), as Elasticsearch's ``ByteSizeValue`` reads it."""
    text = str(value).strip().lower() if value is not None else ""
    for unit in sorted(_BYTE_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(text[: -len(unit)]) * _BYTE_UNITS[unit])
    return int(text) if text.isdigit() else None


def _version_and_flavor(root: Mapping[str, Any]) -> tuple[Version, str]:
    info = root.get("version") if isinstance(root, Mapping) else None
    if not isinstance(info, Mapping) or "number" not in info:
        raise SetupError("GET / did not return an Elasticsearch version (no version.number)")
    # OpenSearch answers GET / like Elasticsearch 7 but names itself in version.distribution;
    # its version numbers are not Elasticsearch's, so no profile applies to it.
    distribution = info.get("distribution")
    if isinstance(distribution, str) and distribution.lower() != "elasticsearch":
        product = "OpenSearch" if distribution.lower() == "opensearch" else distribution
        raise SetupError(
            f"the target is {product} {info['number']} (version.distribution: {distribution}), "
            "not Elasticsearch: it has no trained-model deployment _update API to judge"
        )
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
        settings: Mapping[str, Any] | None = _get_json(target, "/_cluster/settings", params)
        return settings
    except SetupError:
        return None


def newer_than_known(reported: Version | None) -> str | None:
    """A warning when the target reports a version past the newest profile's minor release:
    it is judged by the newest profile, whose contract may have changed since."""
    from conformance.schemas import profile_named, profile_names

    newest = profile_named(profile_names()[-1])
    if reported is None or (reported.major, reported.minor) <= (newest.version.major, newest.version.minor):
        return None
    return (
        f"the target reports Elasticsearch {reported}, newer than any profile this suite knows: "
        f"judged by the newest profile, {newest.name}"
    )


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
