"""The endpoint handlers. Each one parses (``prepare``) and returns an action to run.

The split mirrors Elasticsearch's ``BaseRestHandler``: body and parameter parse errors
come first, then unrecognized parameters, then an unread body, then the action (§1.3,
§1.5). Handlers are thin: every read and change of state is one :class:`Cluster` operation
(which holds the cluster's lock itself, :mod:`conformance.reference.locking`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conformance.reference import errors, modelconfig, parsing, shutdown, views
from conformance.reference.cluster import INFERENCE_SERVICES, Cluster
from conformance.reference.model import InferenceEndpoint, StartRequest
from conformance.reference.parsing import Call
from conformance.reference.planner import MB, NATIVE_EXECUTABLE_CODE_OVERHEAD
from conformance.reference.protocol import param_as_bool, param_as_int, parse_int
from conformance.reference.timevalue import parse_time_value
from conformance.reference.validation import start_errors

Result = tuple[int, Any]
Action = Callable[[], "Result | Awaitable[Result]"]
Prepare = Callable[[Call], Action]

_VALID_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$")
PROCESS_MEMORY_OVERHEAD = (
    20 * MB
)  # ES max(Job.PROCESS_MEMORY_OVERHEAD, DataFrameAnalyticsConfig.PROCESS_MEMORY_OVERHEAD)
PYTORCH_LICENCES = frozenset({"platinum", "enterprise", "trial"})  # §1.1: the PLATINUM pytorch-model-inference feature
_VALID_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z])?")
"""``PutTrainedModelAliasAction.VALID_MODEL_ALIAS_CHAR_PATTERN``."""
BUILD_HASH = "0" * 40
"""The build hash the reference server reports (root, ``_ml/info``, ``Warning`` headers)."""


@dataclass(frozen=True)
class Handler:
    prepare: Prepare
    params: frozenset[str]


class Api:
    """Handlers bound to one cluster. ``routes()`` is the table the app dispatches on."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.behaviour = cluster.behaviour
        self.config = cluster.config

    def routes(self) -> list[tuple[str, dict[str, Handler]]]:
        b = self.behaviour
        model_get = {
            "allow_no_match",
            "decompress_definition",
            "exclude_generated",
            "from",
            "size",
            "include",
            "tags",
            "include_model_definition",
            "model_id",
        }
        stats = {"allow_no_match", "from", "size", "model_id"}
        table: list[tuple[str, dict[str, Handler]]] = [
            ("/", {"GET": Handler(self.root, frozenset())}),
            ("/_nodes", {"GET": Handler(self.nodes, frozenset({"timeout"}))}),
            ("/_nodes/shutdown", {"GET": Handler(self.get_shutdowns, frozenset({"master_timeout"}))}),
            (
                "/_nodes/{node_id}/shutdown",
                {
                    "PUT": Handler(self.put_shutdown, frozenset({"node_id", "master_timeout", "timeout"})),
                    "GET": Handler(self.get_shutdowns, frozenset({"node_id", "master_timeout"})),
                    "DELETE": Handler(self.delete_shutdown, frozenset({"node_id", "master_timeout", "timeout"})),
                },
            ),
            ("/_ml/info", {"GET": Handler(self.ml_info, frozenset())}),
            (
                "/_cluster/settings",
                {
                    "GET": Handler(
                        self.cluster_settings,
                        frozenset({"include_defaults", "flat_settings", "master_timeout", "timeout"}),
                    )
                },
            ),
            ("/_license", {"GET": Handler(self.license, frozenset({"local", "accept_enterprise"}))}),
            (
                "/_security/user/_has_privileges",
                {"GET": Handler(self.has_privileges, frozenset()), "POST": Handler(self.has_privileges, frozenset())},
            ),
            ("/_ml/trained_models", {"GET": Handler(self.get_models, frozenset(model_get))}),
            ("/_ml/trained_models/_stats", {"GET": Handler(self.stats, frozenset(stats))}),
            ("/_ml/trained_models/{model_id}/_stats", {"GET": Handler(self.stats, frozenset(stats))}),
            (
                "/_ml/trained_models/{model_id}",
                {
                    "GET": Handler(self.get_models, frozenset(model_get)),
                    "PUT": Handler(
                        self.put_model,
                        frozenset({"model_id", "defer_definition_decompression", "wait_for_completion", "timeout"}),
                    ),
                    "DELETE": Handler(self.delete_model, frozenset({"model_id", "force", "timeout"})),
                },
            ),
            (
                "/_ml/trained_models/{model_id}/vocabulary",
                {"PUT": Handler(self.put_vocabulary, frozenset({"model_id"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/definition/{part}",
                {"PUT": Handler(self.put_definition, frozenset({"model_id", "part"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/deployment/_start",
                {"POST": Handler(self.start, parsing.start_params(b))},
            ),
            (
                "/_ml/trained_models/{model_id}/deployment/_update",
                {"POST": Handler(self.update, parsing.update_params(b))},
            ),
            (
                "/_ml/trained_models/{model_id}/deployment/_stop",
                {"POST": Handler(self.stop, frozenset({"model_id", "allow_no_match", "force", "timeout"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/_infer",
                {"POST": Handler(self.infer, frozenset({"model_id", "timeout"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/deployment/_infer",
                {"POST": Handler(self.deprecated_infer, frozenset({"model_id", "timeout"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/deployment/cache/_clear",
                {"POST": Handler(self.clear_cache, frozenset({"model_id"}))},
            ),
            (
                "/_ml/trained_models/{model_id}/model_aliases/{model_alias}",
                {
                    "PUT": Handler(self.put_model_alias, frozenset({"model_id", "model_alias", "reassign"})),
                    "DELETE": Handler(self.delete_model_alias, frozenset({"model_id", "model_alias"})),
                },
            ),
        ]
        if b.inference_endpoint_conflict:
            inference = {
                "PUT": Handler(self.put_inference, frozenset({"task_type", "inference_id", "timeout"})),
                "DELETE": Handler(self.delete_inference, frozenset({"task_type", "inference_id", "force", "dry_run"})),
            }
            table.append(("/_inference/{task_type}/{inference_id}", inference))
            table.append(("/_inference/_all", {"GET": Handler(self.list_inference, frozenset())}))
        return table

    # -- discovery -----------------------------------------------------------------------

    def root(self, call: Call) -> Action:
        version = {
            "number": str(self.behaviour.version),
            "build_flavor": self.config.flavor,
            "build_type": "docker",
            "build_hash": BUILD_HASH,
            "build_date": "2026-01-01T00:00:00.000Z",
            "build_snapshot": False,
            "lucene_version": "10.0.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        }
        body = {
            "name": self.config.nodes[0].id if self.config.nodes else "reference",
            "cluster_name": self.config.cluster_name,
            "cluster_uuid": "reference-cluster-uuid",
            "version": version,
            "tagline": "You Know, for Search",
        }
        return lambda: (200, body)

    def nodes(self, call: Call) -> Action:
        self.check_not_serverless(call)
        nodes = {node.id: views.node_json(node, self.behaviour) for node in self.config.nodes}
        body = {
            "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
            "cluster_name": self.config.cluster_name,
            "nodes": nodes,
        }
        return lambda: (200, body)

    # -- node shutdown (§11.5 A) --------------------------------------------------------------

    def put_shutdown(self, call: Call) -> Action:
        """``RestPutShutdownNodeAction``: a required body, parsed strictly, then validated."""
        node_id = call.path_params["node_id"]
        _master_timeouts(call)
        values = call.parse_body(shutdown.REQUEST)
        record = shutdown.parse_request(node_id, values, int(self.cluster.clock() * 1000))

        def run() -> Result:
            self.cluster.put_node_shutdown(record)
            return 200, {"acknowledged": True}

        return run

    def get_shutdowns(self, call: Call) -> Action:
        node_ids = call.path_params.get("node_id")
        _master_timeouts(call)
        return lambda: (200, {"nodes": self.cluster.node_shutdowns(node_ids)})

    def delete_shutdown(self, call: Call) -> Action:
        node_id = call.path_params["node_id"]
        _master_timeouts(call)

        def run() -> Result:
            self.cluster.delete_node_shutdown(node_id)
            return 200, {"acknowledged": True}

        return run

    def ml_info(self, call: Call) -> Action:
        def run() -> Result:
            nodes = self.cluster.ml_node_limits()
            processors = [processors for processors, _ in nodes]
            allowed = [memory for _, memory in nodes]
            limits: dict[str, Any] = {
                "max_single_ml_node_processors": max(processors, default=0),
                "total_ml_processors": sum(processors),
            }
            # ES TransportMlInfoAction: no max_model_memory_limit unless the setting is set; the effective
            # limit is the largest node's ML memory less the process and native code overheads; whole MB.
            if allowed and max(allowed) > 0:
                effective = max(allowed) - PROCESS_MEMORY_OVERHEAD - NATIVE_EXECUTABLE_CODE_OVERHEAD
                limits["effective_max_model_memory_limit"] = f"{max(effective, 0) // MB}mb"
            limits["total_ml_memory"] = f"{sum(allowed) // MB}mb"
            body = {
                "defaults": {"anomaly_detectors": {"model_memory_limit": "1gb"}, "datafeeds": {}},
                "upgrade_mode": False,
                "native_code": {"version": str(self.behaviour.version), "build_hash": BUILD_HASH[:12]},
                "limits": limits,
            }
            return 200, body

        return run

    def cluster_settings(self, call: Call) -> Action:
        """Scaling is possible when ``xpack.ml.max_lazy_ml_nodes`` exceeds the ML nodes (§1.6 C.8)."""
        self.check_not_serverless(call)
        flat = param_as_bool(call.params, "flat_settings", False)
        include_defaults = param_as_bool(call.params, "include_defaults", False)
        persistent = {}
        if self.config.scaling_possible:
            persistent["xpack.ml.max_lazy_ml_nodes"] = str(len(self.config.nodes) + 1)
        if self.config.max_machine_memory_percent != 30:
            persistent["xpack.ml.max_machine_memory_percent"] = str(self.config.max_machine_memory_percent)
        if self.config.use_auto_machine_memory_percent:
            persistent["xpack.ml.use_auto_machine_memory_percent"] = "true"
        defaults = {
            "xpack.ml.max_lazy_ml_nodes": "0",
            "xpack.ml.max_ml_node_size": "0b",
            "xpack.ml.allocated_processors_scale": "1",
            "xpack.ml.max_machine_memory_percent": "30",
            "xpack.ml.use_auto_machine_memory_percent": "false",
        }
        shape = (lambda settings: settings) if flat else _nest
        body: dict[str, Any] = {"persistent": shape(persistent), "transient": {}}
        if include_defaults:
            body["defaults"] = shape({k: v for k, v in defaults.items() if k not in persistent})
        return lambda: (200, body)

    def check_not_serverless(self, call: Call) -> None:
        """Serverless refuses the APIs it does not expose (ES ``RestController``, ``ApiNotAvailableException``)."""
        if self.config.flavor == "serverless":
            raise errors.EsError(
                410,
                "api_not_available_exception",
                f"Request for uri [{call.uri}] with method "
                f"[{call.method}] exists but is not available when running in serverless mode",
            )

    def license(self, call: Call) -> Action:
        """``GET _license`` (a basic licence has no expiry; the others are shown as active)."""
        self.check_not_serverless(call)
        kind = self.config.license_type
        body: dict[str, Any] = {
            "status": "active",
            "uid": "reference-license",
            "type": kind,
            "issue_date": "2026-01-01T00:00:00.000Z",
            "issue_date_in_millis": 1767225600000,
        }
        if kind != "basic":
            body.update({"expiry_date": "2099-01-01T00:00:00.000Z", "expiry_date_in_millis": 4070908800000})
        body.update(
            {
                "max_nodes": 1000,
                "max_resource_units": None,
                "issued_to": self.config.cluster_name,
                "issuer": "elasticsearch" if kind in ("basic", "trial") else "reference",
                "start_date_in_millis": -1,
            }
        )
        return lambda: (200, {"license": body})

    def has_privileges(self, call: Call) -> Action:
        """``_has_privileges`` for cluster privileges; with security off, the 500 that
        ``SecurityActionFilter`` gives every security API."""
        held = self.config.privileges
        if held is None:
            raise errors.EsError(
                500,
                "exception",
                f"Security must be explicitly enabled when using a "
                f"[{self.config.license_type}] license. Enable security by setting "
                "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.",
            )
        body = call.json_body()
        wanted = body.get("cluster") or []
        if not isinstance(wanted, list) or not all(isinstance(name, str) for name in wanted):
            raise errors.x_content_parse("[1:12] [cluster] failed to parse field [cluster]")
        cluster = {name: bool({name, "all", "manage"} & held) for name in wanted}
        return lambda: (
            200,
            {
                "username": "elastic",
                "has_all_requested": all(cluster.values()),
                "cluster": cluster,
                "index": {},
                "application": {},
            },
        )

    # -- models ----------------------------------------------------------------------------

    def get_models(self, call: Call) -> Action:
        pattern = call.path_params.get("model_id", "_all")
        allow_no_match, start, size = _listing_params(call)
        include = _includes(call)

        def run() -> Result:
            models = self.cluster.matching_models(pattern, allow_no_match)
            configs = [
                views.model_config_json(m, self.behaviour, definition_status="definition_status" in include)
                for m in models[start : start + size]
            ]
            return 200, {"count": len(models), "trained_model_configs": configs}

        return run

    def put_model(self, call: Call) -> Action:
        model_id = call.path_params["model_id"]
        body = call.json_body()
        modelconfig.check_model_id(model_id)
        parsing.check_consistent_id(body.get("model_id"), model_id)
        config = modelconfig.stored_config(model_id, body, self.behaviour)
        return lambda: (200, views.model_config_json(self.cluster.put_model(model_id, config), self.behaviour))

    def put_vocabulary(self, call: Call) -> Action:
        model_id = call.path_params["model_id"]
        body = call.json_body()
        vocabulary = body.get("vocabulary")
        if not isinstance(vocabulary, list) or not all(isinstance(word, str) for word in vocabulary):
            raise errors.validation_failed(["[vocabulary] must be an array of strings"])

        def run() -> Result:
            self.cluster.put_vocabulary(model_id, vocabulary)
            return 200, {"acknowledged": True}

        return run

    def put_definition(self, call: Call) -> Action:
        model_id = call.path_params["model_id"]
        part = parse_int(call.path_params["part"], "part")
        body = call.json_body()
        problems = []
        definition = body.get("definition")
        total_parts = body.get("total_parts")
        total_length = body.get("total_definition_length")
        if not isinstance(definition, str):
            problems.append("[definition] must not be null.")
        if not isinstance(total_parts, int) or isinstance(total_parts, bool) or total_parts < 1:
            problems.append("[total_parts] must be greater than 0")
        if not isinstance(total_length, int) or isinstance(total_length, bool) or total_length < 1:
            problems.append("[total_definition_length] must be greater than 0")
        if part < 0:
            problems.append("[part] must be greater or equal to 0")
        if problems:
            raise errors.validation_failed(problems)
        assert isinstance(definition, str) and isinstance(total_parts, int) and isinstance(total_length, int), (
            "validated above"
        )
        try:
            data = base64.b64decode(definition, validate=True)
        except (binascii.Error, ValueError):
            raise errors.x_content_parse(
                "[1:1] [trained_model_definition_part] failed to parse field [definition]",
                errors.illegal_argument("Illegal base64 character"),
            ) from None

        def run() -> Result:
            self.cluster.put_definition_part(model_id, part, data, total_parts, total_length)
            return 200, {"acknowledged": True}

        return run

    def delete_model(self, call: Call) -> Action:
        model_id = call.path_params["model_id"]
        force = param_as_bool(call.params, "force", False)

        def run() -> Result:
            self.cluster.delete_model(model_id, force)
            return 200, {"acknowledged": True}

        return run

    # -- deployments -----------------------------------------------------------------------

    def start(self, call: Call) -> Action:
        model_id = call.path_params["model_id"]
        options = parsing.parse_start(call, model_id)
        deployment_id = options.request.deployment_id
        # A packaged model's default deployment id is its own (dotted) id, valid as a model id is.
        if self.behaviour.deployment_ids and not (deployment_id == model_id and modelconfig.is_packaged(model_id)):
            _check_id("deployment_id", deployment_id)

        async def run() -> Result:
            problems = start_errors(options.request, options.wait_for, options.timeout)
            if problems:
                raise errors.validation_failed(problems)
            if self.config.license_type not in PYTORCH_LICENCES:  # §1.1; ES LicenseUtils.newComplianceException
                raise errors.EsError(403, "security_exception", "current license is non-compliant for [ml]")
            deployment = self.cluster.start_deployment(options.request)
            if options.wait_for != "starting":
                await self.wait_for_routes(deployment.deployment_id, options.timeout)
            return 200, {"assignment": self.cluster.deployment_view(deployment.deployment_id)}

        return run

    async def wait_for_routes(self, deployment_id: str, timeout: float) -> None:
        """Wait (bounded by ``timeout``) until the routes settle; the cluster knows when that is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout > 0 else None
        while (remaining := self.cluster.seconds_until_settled(deployment_id)) > 0:
            if deadline is not None and loop.time() >= deadline:
                return
            await asyncio.sleep(remaining if deadline is None else min(remaining, deadline - loop.time()))

    def update(self, call: Call) -> Action:
        deployment_id = call.path_params["model_id"]
        request = parsing.parse_update(call, deployment_id)
        return lambda: (200, {"assignment": self.cluster.update_deployment(deployment_id, request)})

    def stop(self, call: Call) -> Action:
        pattern = call.path_params["model_id"]
        allow_no_match = param_as_bool(call.params, "allow_no_match", True)
        param_as_bool(call.params, "force", False)
        if call.has_body:  # body values win over parameters, as the body is parsed into the same request
            body = call.parse_body(parsing.STOP_BODY)
            parsing.check_consistent_id(body.get("id"), pattern)
            allow_no_match = body.get("allow_no_match", allow_no_match)

        def run() -> Result:
            self.cluster.stop_deployments(pattern, allow_no_match)
            return 200, {"stopped": True}

        return run

    def stats(self, call: Call) -> Action:
        pattern = call.path_params.get("model_id", "_all")
        allow_no_match, start, size = _listing_params(call)

        def run() -> Result:
            entries = self.cluster.model_stats(pattern, allow_no_match)
            # ES counts the *models* matched (§11.1) and pages them, not their entries: ids are
            # expanded with the page parameters (``setTotalModelCount``, TransportGetTrainedModelsStatsAction),
            # then each model of the page brings all of its deployments, listed by deployment id.
            models = list(dict.fromkeys(entry["model_id"] for entry in entries))
            page = set(models[start : start + size])
            return 200, {
                "count": len(models),
                "trained_model_stats": [entry for entry in entries if entry["model_id"] in page],
            }

        return run

    # -- inference, cache and aliases (§11.1) -----------------------------------------------

    def infer(self, call: Call) -> Action:
        """``POST _ml/trained_models/{id}/_infer`` (ES ``RestInferTrainedModelAction``; 10s default timeout)."""
        request_id = call.path_params["model_id"]
        timeout = parse_time_value(call.params["timeout"], "timeout") if "timeout" in call.params else 10.0
        docs = _infer_docs(call.json_body())

        def run() -> Result:
            return 200, {"inference_results": self.cluster.infer(request_id, docs, timeout)}

        return run

    def deprecated_infer(self, call: Call) -> Action:
        """The 8.0 path, deprecated since 8.3 in favour of ``.../_infer``
        (ES ``RestInferTrainedModelDeploymentAction``)."""
        call.warnings.append(
            "[POST /_ml/trained_models/{model_id}/deployment/_infer] is deprecated! "
            "Use [POST /_ml/trained_models/{model_id}/_infer] instead."
        )
        return self.infer(call)

    def clear_cache(self, call: Call) -> Action:
        deployment_id = call.path_params["model_id"]

        def run() -> Result:
            self.cluster.clear_cache(deployment_id)
            return 200, {"cleared": True}

        return run

    def put_model_alias(self, call: Call) -> Action:
        """``PutTrainedModelAliasAction.Request.validate``: unlike ids, aliases cannot end with a digit."""
        model_id, alias = call.path_params["model_id"], call.path_params["model_alias"]
        reassign = param_as_bool(call.params, "reassign", False)
        problems = []
        if alias == model_id:
            problems.append(f"model_alias [{alias}] cannot equal model_id [{model_id}]")
        if not _VALID_ALIAS.fullmatch(alias):
            problems.append(
                f"Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), hyphens "
                "or underscores; must start with alphanumeric and cannot end with numbers"
            )
        if problems:
            raise errors.validation_failed(problems)

        def run() -> Result:
            self.cluster.put_model_alias(alias, model_id, reassign)
            return 200, {"acknowledged": True}

        return run

    def delete_model_alias(self, call: Call) -> Action:
        model_id, alias = call.path_params["model_id"], call.path_params["model_alias"]

        def run() -> Result:
            self.cluster.delete_model_alias(alias, model_id)
            return 200, {"acknowledged": True}

        return run

    # -- inference endpoints (§1.6 B) --------------------------------------------------------

    def put_inference(self, call: Call) -> Action:
        task_type = call.path_params["task_type"]
        inference_id = call.path_params["inference_id"]
        body = call.json_body()
        service = body.get("service")
        settings = body.get("service_settings")
        if service not in INFERENCE_SERVICES:
            raise errors.status_exception(400, f"Unknown service [{service}] for model [{inference_id}]")
        if not isinstance(settings, dict) or not isinstance(settings.get("model_id"), str):
            raise errors.validation_failed(["[service_settings] does not contain the required setting [model_id]"])
        allocations = settings.get("num_allocations", 1)
        threads = settings.get("num_threads", 1)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (allocations, threads)):
            raise errors.validation_failed(["[num_allocations] and [num_threads] must be integers"])
        _check_id("inference_id", inference_id)
        start = StartRequest(
            model_id=settings["model_id"],
            deployment_id=inference_id,
            number_of_allocations=allocations,
            threads_per_allocation=threads,
            inference_id=inference_id,
        )
        endpoint = InferenceEndpoint(inference_id, task_type, service, dict(settings))

        def run() -> Result:
            problems = start_errors(start, "started", 30.0)
            if problems:
                raise errors.validation_failed(problems)
            self.cluster.put_inference_endpoint(endpoint, start)
            return 200, {
                "inference_id": inference_id,
                "task_type": task_type,
                "service": service,
                "service_settings": settings,
                "task_settings": {},
            }

        return run

    def list_inference(self, call: Call) -> Action:
        """``GET _inference/_all``: ``{"endpoints": [...]}`` (SPEC ``specification/inference/get/GetResponse.ts``);
        what ``clean`` lists to find the endpoints of killed runs."""

        def run() -> Result:
            endpoints = [
                {
                    "inference_id": e.inference_id,
                    "task_type": e.task_type,
                    "service": e.service,
                    "service_settings": e.service_settings,
                    "task_settings": {},
                }
                for e in self.cluster.list_inference_endpoints()
            ]
            return 200, {"endpoints": endpoints}

        return run

    def delete_inference(self, call: Call) -> Action:
        inference_id = call.path_params["inference_id"]

        def run() -> Result:
            self.cluster.delete_inference_endpoint(inference_id)
            return 200, {"acknowledged": True, "pipelines": []}

        return run


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


def _check_id(name: str, value: str) -> None:
    if not _VALID_ID.match(value) or len(value) > 64:
        raise errors.validation_failed(
            [
                f"Invalid {name}; '{value}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; "
                "must start and end with alphanumeric"
            ]
        )


def _listing_params(call: Call) -> tuple[bool, int, int]:
    """``allow_no_match``, ``from`` and ``size`` of the two listing endpoints, parsed (and
    failing) in the same order, with Elasticsearch's defaults (``true``, 0, 100)."""
    allow_no_match = param_as_bool(call.params, "allow_no_match", True)
    return allow_no_match, param_as_int(call.params, "from", 0), param_as_int(call.params, "size", 100)


def _infer_docs(body: dict[str, Any]) -> list[Any]:
    """``docs`` is required and may not be empty (``InferTrainedModelDeploymentAction.Request.validate``);
    an ``inference_config`` update is accepted and, for a pass-through model, changes nothing here."""
    docs = body.get("docs")
    if docs is None:
        raise errors.validation_failed(["[docs] must not be null"])
    if not isinstance(docs, list):
        raise errors.x_content_parse("failed to parse field [docs]")
    if not docs:
        raise errors.validation_failed(["at least one document is required"])
    return docs


def _includes(call: Call) -> set[str]:
    """``?include=``, comma-separated (``definition_status`` adds ``fully_defined``, §11.1)."""
    return {part.strip() for part in call.params.get("include", "").split(",") if part.strip()}


def _master_timeouts(call: Call) -> None:
    """``master_timeout`` and ``timeout`` are time values; a bad one is Elasticsearch's 400."""
    for name in ("master_timeout", "timeout"):
        if name in call.params:
            parse_time_value(call.params[name], name)
