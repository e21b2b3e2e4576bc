"""The emulated cluster: nodes, models, deployments, and every state change, under one lock.

Each step of a state change is a small named method (``validate_update``,
``plan_increase``, ``reduce_to``, ``apply_update``, ``assignment_json``...) so that the
mutants can break exactly one rule by overriding exactly one method. The public methods are
operations (the endpoints' entry points, each holding the lock) or such steps (run with the
lock held); :mod:`conformance.reference.locking` states the rule, :data:`OPERATIONS` and
:data:`STEPS` list them.

Convergence (§2.4, §3.4) is lazy: a route records when it settles, and every read first
calls :meth:`Cluster.settle` with the clock. No background thread, hence deterministic.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable
from typing import Any

from conformance.reference import errors, inference, native, scaler, shutdown, views
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.locking import marked, operation, step
from conformance.reference.model import (
    ABSENT,
    Deployment,
    InferenceEndpoint,
    Route,
    StartRequest,
    TrainedModel,
    UpdateRequest,
)
from conformance.reference.planner import (
    Demand,
    NodeLoad,
    Placement,
    allowed_bytes_for_ml,
    memory_estimate,
    node_processors,
    place,
    planner_memory,
    reduce_to as plan_reduction,
)
from conformance.reference.shutdown import NodeShutdown
from conformance.reference.validation import adaptive_errors
from conformance.reference.versions import Behaviour, behaviour_for

INFERENCE_SERVICES = ("elasticsearch", "elser")
"""Services whose endpoints deploy a trained model (§1.6 B); ``PUT _inference`` refuses any other."""


class Cluster:
    """All state of one reference server, and every change of it, serialised by :attr:`lock`.

    Operations (``@operation``) are what the endpoints call: each holds the lock for its whole
    run. Steps (``@step``) are the named pieces of an operation, one rule each, cited: they are
    called with the lock held, only by operations and other steps, and they are the only
    methods a mutant overrides. Every other method is private. The facts of the configuration
    (:attr:`config`, :attr:`behaviour`, :attr:`nodes`) never change and need no lock.
    """

    def __init__(self, config: ServerConfig = ServerConfig(), clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.behaviour: Behaviour = behaviour_for(config.es_version)
        self.clock = clock
        self.lock = threading.RLock()
        """Held by every operation for its whole run; re-entrant, as an operation may call another."""
        self.models: dict[str, TrainedModel] = {}
        self.deployments: dict[str, Deployment] = {}
        self.inference_endpoints: dict[str, InferenceEndpoint] = {}
        self.model_aliases: dict[str, str] = {}
        """Model alias -> model id (ES ``ModelAliasMetadata``)."""
        self.shutdowns: dict[str, NodeShutdown] = {}
        """Node id -> its shutdown record (ES ``NodesShutdownMetadata``, §11.5)."""

    @property
    def _can_scale(self) -> bool:
        """Whether over-asking is planned partially (scaling possible, §1.6 C.8): Serverless scales itself."""
        return self.config.scaling_possible or self.config.flavor == "serverless"

    @property
    def nodes(self) -> tuple[NodeSpec, ...]:
        """The ML nodes, in cluster order: fixed by the configuration."""
        return self.config.nodes

    # -- capacity (§3.2) -------------------------------------------------------------------

    @operation
    def ml_node_limits(self) -> list[tuple[int, int]]:
        """Each ML node's processors and memory for ML, as the planner counts them (``_ml/info``, §3.2)."""
        return [(self.node_capacity(node), self._ml_memory(node)) for node in self.nodes]

    @step
    def node_capacity(self, node: NodeSpec) -> int:
        """§3.2: the processors the planner may fill on ``node``."""
        return node_processors(node.allocated_processors)

    def _ml_memory(self, node: NodeSpec) -> int:
        """The node's memory for ML (§3.2, ES ``NativeMemoryCalculator.allowedBytesForMl``)."""
        return allowed_bytes_for_ml(
            node.memory_bytes,
            node.max_jvm_bytes,
            self.config.max_machine_memory_percent,
            self.config.use_auto_machine_memory_percent,
        )

    @step
    def deployment_memory(self, deployment: Deployment) -> int:
        """§3.2: the memory a deployment needs on each node it has a route on."""
        return memory_estimate(deployment.model_bytes, deployment.cache_size_bytes)

    def _node_loads(self, excluding: Deployment | None = None) -> list[NodeLoad]:
        loads = []
        for node in self._plannable_nodes():
            used_processors = used_memory = low = 0
            for deployment in self.deployments.values():
                route = deployment.routes.get(node.id)
                if deployment is excluding or route is None:
                    continue
                used_memory += self.deployment_memory(deployment)
                cores = route.target * deployment.threads_per_allocation
                if deployment.low_priority:
                    low += cores
                else:
                    used_processors += cores
            loads.append(
                NodeLoad(
                    node.id,
                    self.node_capacity(node),
                    used_processors,
                    planner_memory(self._ml_memory(node)),
                    used_memory,
                    low,
                )
            )
        return loads

    @step
    def plan_increase(self, deployment: Deployment, wanted_total: int) -> Placement:
        """§3.2: place ``wanted_total - current targets`` more allocations around the existing routes.

        The deployment's own routes occupy their nodes like any other's; on those nodes it needs
        no more memory (``place`` charges memory only to nodes outside ``hosting``)."""
        demand = Demand(
            max(wanted_total - deployment.total_target, 0),
            deployment.threads_per_allocation,
            deployment.low_priority,
            self.deployment_memory(deployment),
        )
        return place(demand, self._node_loads(), set(deployment.routes))

    @step
    def reduce_to(self, deployment: Deployment, wanted_total: int) -> None:
        """§1.6 C.7: lower targets; kept routes keep ``current`` until they settle."""
        targets = plan_reduction({node: route.target for node, route in deployment.routes.items()}, wanted_total)
        settles_at = self.clock() + self.config.convergence_delay
        for node_id in list(deployment.routes):
            if node_id not in targets:
                del deployment.routes[node_id]
            elif deployment.routes[node_id].target != targets[node_id]:
                deployment.routes[node_id].target = targets[node_id]
                deployment.routes[node_id].settles_at = settles_at

    @step
    def add_routes(self, deployment: Deployment, placement: Placement, failure: str | None) -> None:
        """§2.4: new routes start with current = target, ``starting``; existing ones get a new target."""
        settles_at = self.clock() + self.config.convergence_delay
        created = False
        for node in self.nodes:  # routing tables list nodes in cluster order
            added = placement.added.get(node.id, 0)
            if not added:
                continue
            route = deployment.routes.get(node.id)
            if route is None:
                state, reason = ("failed", failure) if failure else ("starting", "")
                deployment.routes[node.id] = Route(added, added, state, reason, settles_at)
                created = True
            else:
                route.target += added
                route.settles_at = settles_at
        if created:  # keep the table in cluster order
            deployment.routes = {
                node.id: deployment.routes[node.id] for node in self.nodes if node.id in deployment.routes
            }
        deployment.record_max_assigned()

    def _unsatisfied_reason(self, placement: Placement) -> str:
        return "|".join(placement.reasons)

    # -- convergence (§2.4, §2.5, §3.4) -----------------------------------------------------

    @step
    def settle(self, deployment: Deployment) -> None:
        """Bring routes whose time has come to ``started``, their process running what it can (§3.4)."""
        now = self.clock()
        self.scale_idle_to_zero(deployment, now)
        self.drain_stopping_routes(deployment, now)
        for node_id, route in deployment.routes.items():
            if route.state == "failed" or now < route.settles_at:
                continue
            route.state = "started" if route.state == "starting" else route.state
            self.run_process(deployment, self._node_spec(node_id), route)
        deployment.record_max_assigned()

    def _node_spec(self, node_id: str) -> NodeSpec:
        return next(node for node in self.nodes if node.id == node_id)  # routes exist on known nodes only

    @step
    def hardware_threads(self, node: NodeSpec) -> int:
        """What ``hardware_concurrency`` tells the node's process: not its allocated processors (§3.3)."""
        return node.threads

    @step
    def run_process(self, deployment: Deployment, node: NodeSpec, route: Route) -> None:
        """§3.4 ``TrainedModelAssignmentNodeService``: a new route's process is loaded with the
        route's current count, which stays as the rebalancer wrote it; a started route whose
        current differs from its target gets a live update, and the count the process reports
        becomes ``current_allocations``. It is re-sent on every settle while they differ, as the
        node retries on later cluster changes, so a clamped route keeps its lower current."""
        if route.target < 1:
            route.current = route.target
            return
        threads = self.hardware_threads(node)
        if route.process is None:
            route.process = native.started(threads, route.current, deployment.threads_per_allocation)
        if route.current != route.target:
            route.process = native.updated(threads, route.process, route.target)
            route.current = route.process.allocations

    def _settle_all(self) -> None:
        for deployment in self.deployments.values():
            self.settle(deployment)

    @operation
    def seconds_until_settled(self, deployment_id: str) -> float:
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            return 0.0
        pending = [r.settles_at for r in deployment.routes.values() if r.state != "failed"]
        return max([0.0] + [at - self.clock() for at in pending])

    # -- models ---------------------------------------------------------------------------------

    @operation
    def put_model(self, model_id: str, config: dict[str, Any]) -> TrainedModel:
        """ES ``TransportPutTrainedModelAction``: an id may be neither an alias nor (8.8+) the id of
        a current deployment (§11.1), checked before the store finds an existing model."""
        if model_id in self.model_aliases:
            raise errors.status_exception(
                400,
                f"requested model_id [{model_id}] is the same as an existing model_alias. Model "
                "model_aliases and ids must be unique",
            )
        if self.behaviour.deployment_ids and model_id in self.deployments:
            raise errors.status_exception(
                400, f"Cannot create model [{model_id}] the id is the same as an current model deployment"
            )
        if model_id in self.models:
            raise errors.EsError(
                400,
                "resource_already_exists_exception",
                f"Trained machine learning model [{model_id}] already exists",
            )
        model = TrainedModel(model_id, config, int(self.clock() * 1000))
        self.models[model_id] = model
        return model

    def _model(self, model_id: str) -> TrainedModel:
        model = self.models.get(model_id)
        if model is None:
            raise errors.missing_model(model_id)
        return model

    @operation
    def put_vocabulary(self, model_id: str, vocabulary: list[str]) -> None:
        self._model(model_id).vocabulary = list(vocabulary)

    @operation
    def put_definition_part(self, model_id: str, part: int, data: bytes, total_parts: int, total_length: int) -> None:
        model = self._model(model_id)
        if part >= total_parts:
            raise errors.validation_failed(["[part] must be less than [total_parts]"])
        model.total_parts = total_parts
        model.total_definition_length = total_length
        model.parts[part] = data

    @operation
    def matching_models(self, pattern: str, allow_no_match: bool) -> list[TrainedModel]:
        """The models of a comma-separated ``pattern``; a part that matches nothing is a 404
        unless it is a wildcard and ``allow_no_match``."""
        found = []
        for part in pattern.split(","):
            models = self._find_models(part)
            if not models and (not _is_wildcard(part) or not allow_no_match):
                raise errors.missing_model(part)
            found += [m for m in models if m not in found]
        return found

    def _find_models(self, pattern: str) -> list[TrainedModel]:
        """Models whose id matches ``pattern``; an exact alias names its model (``ModelAliasMetadata``)."""
        if pattern in self.model_aliases:
            return [self.models[self.model_aliases[pattern]]]
        return [self.models[i] for i in sorted(self.models) if _matches(pattern, i)]

    @operation
    def delete_model(self, model_id: str, force: bool) -> None:
        self._model(model_id)
        deployed = [d for d in self.deployments.values() if d.model_id == model_id]
        if deployed and not force:
            raise errors.status_exception(409, f"Cannot delete model [{model_id}] as it is currently deployed")
        for deployment in deployed:
            self._remove_deployment(deployment)
        del self.models[model_id]
        # ES TransportDeleteTrainedModelAction deletes the model's aliases with it
        self.model_aliases = {alias: target for alias, target in self.model_aliases.items() if target != model_id}

    # -- start (§1.7, §3.2, §5.1) ------------------------------------------------------------

    @operation
    def start_deployment(self, request: StartRequest) -> Deployment:
        model = self._model(request.model_id)
        if model.packaged and not model.fully_defined:
            # The reference has no network: a package's download never ends (as in ES's own
            # YAML test, §11.1). ES ``TransportStartTrainedModelDeploymentAction`` answers a start
            # while the download task runs with 408 (``RestStatus.REQUEST_TIMEOUT``).
            raise errors.status_exception(
                408,
                f"Model download task is currently running. Wait for trained model [{model.model_id}] "
                "download task to complete then try again",
            )
        if not model.fully_defined:
            raise errors.status_exception(400, f"Could not find trained model definition [{request.model_id}]")
        self._check_deployment_id(request)
        deployment = self._new_deployment(request, model)
        placement = self.plan_increase(deployment, deployment.number_of_allocations)
        if placement.total < deployment.number_of_allocations and not self._can_scale:
            raise self._start_capacity_error(placement)
        failure = (
            None
            if model.is_torchscript()
            else ("Failed to start deployment: the model definition is not a TorchScript archive")
        )
        self.add_routes(deployment, placement, failure)
        if placement.total < deployment.number_of_allocations:
            deployment.reason = self._unsatisfied_reason(placement)
        self.deployments[deployment.deployment_id] = deployment
        self._drop_lost_deployments()  # a start rebalances (§11.5 C)
        return deployment

    def _check_deployment_id(self, request: StartRequest) -> None:
        if request.deployment_id in self.deployments:
            raise errors.status_exception(
                400,
                "Could not start model deployment because an existing deployment with the same id "
                f"[{request.deployment_id}] exist",
            )
        if request.deployment_id != request.model_id and request.deployment_id in self.models:
            raise errors.status_exception(
                400,
                f"Deployment id [{request.deployment_id}] is the same as an another model which is not the "
                "model being deployed. Deployment id can be the same as the model being deployed but cannot "
                "match a different model",
            )

    def _new_deployment(self, request: StartRequest, model: TrainedModel) -> Deployment:
        adaptive = _normalised(request.adaptive)
        allocations = request.number_of_allocations
        if allocations is None:  # §1.7 computeNumberOfAllocations
            minimum = (adaptive or {}).get("min_number_of_allocations")
            allocations = minimum if minimum else 1
        return Deployment(
            deployment_id=request.deployment_id,
            model_id=model.model_id,
            model_bytes=model.model_bytes,
            threads_per_allocation=request.threads_per_allocation,
            number_of_allocations=allocations,
            queue_capacity=request.queue_capacity,
            priority=request.priority,
            start_time_ns=time.time_ns(),
            cache_size=request.cache_size,
            cache_size_bytes=request.cache_size_bytes,
            per_deployment_memory_bytes=model.declared_memory("per_deployment_memory_bytes"),
            per_allocation_memory_bytes=model.declared_memory("per_allocation_memory_bytes"),
            adaptive_allocations=adaptive,
            inference_id=request.inference_id,
            idle_since=self.clock(),
        )

    def _start_capacity_error(self, placement: Placement) -> errors.EsError:
        if placement.total == 0:
            cause = errors.status_exception(
                429,
                "Could not start deployment because no suitable nodes were found, allocation explanation "
                f"[{self._unsatisfied_reason(placement)}]",
            )
            return errors.EsError(
                429,
                "status_exception",
                "Could not start deployment because no ML nodes with sufficient capacity were found",
                cause,
            )
        return errors.status_exception(
            429,
            "Could not start deployment because there are not enough resources to provide all requested allocations",
        )

    # -- update (§1.6) -------------------------------------------------------------------------

    @operation
    def update_deployment(self, deployment_id: str, request: UpdateRequest) -> dict[str, Any]:
        """§1.6 in order: A request validation, B inference check, C cluster-service steps."""
        request = self.validate_update_request(request)
        self.check_not_inference_owned(deployment_id)
        deployment = self.find_deployment(deployment_id)
        self.settle(deployment)
        merged = self.merge_adaptive(deployment.adaptive_allocations, request.adaptive)
        self.validate_update(deployment, request, merged)
        if not self.has_updates(deployment, request, merged):
            return self.update_answer(deployment)  # C.5: before the state check
        self.check_started(deployment)
        self.apply_update(deployment, request, merged)
        return self.update_answer(deployment)

    @step
    def validate_update_request(self, request: UpdateRequest) -> UpdateRequest:
        """§1.6 A: ``Request.validate()``, errors accumulated; returns the request the later steps
        apply (the one given: a mutant may read it otherwise)."""
        messages: list[str] = []
        allocations = request.number_of_allocations
        if allocations is not None and allocations < 1:
            messages.append("[number_of_allocations] must be a positive integer")
        adaptive = request.adaptive if isinstance(request.adaptive, dict) else None
        if allocations is not None and adaptive is not None and adaptive.get("enabled") is True:
            messages.append("[number_of_allocations] cannot be set if adaptive allocations is enabled")
        if adaptive is not None:
            messages += adaptive_errors(adaptive)
        if messages:
            raise errors.validation_failed(messages)
        return request

    @step
    def check_started(self, deployment: Deployment) -> None:
        """§1.6 C.6: only a ``started`` deployment can change. A method of its own so that a
        mutant can drop exactly this 409 and no other (e.g. not the §1.6 B one)."""
        if deployment.state != "started":
            raise errors.status_exception(409, "cannot update deployment that is not in [started] state")

    @step
    def check_not_inference_owned(self, deployment_id: str) -> None:
        """§1.6 B (newest versions): deployments of inference endpoints are updated elsewhere."""
        if not self.behaviour.inference_endpoint_conflict:
            return
        endpoint = self.inference_endpoints.get(deployment_id)
        if endpoint is not None:  # only INFERENCE_SERVICES endpoints exist: others are refused at PUT
            raise errors.status_exception(
                409,
                f"Cannot update deployment [{deployment_id}] as it was created by inference endpoint "
                f"[{deployment_id}]. This model deployment must be updated through the inference API.",
            )

    @step
    def find_deployment(self, deployment_id: str) -> Deployment:
        """§1.2/§1.6 C.1: by deployment id (8.8+; before, deployment id = model id)."""
        deployment = self.deployments.get(deployment_id)
        if deployment is None:
            raise errors.missing_deployment(deployment_id)
        return deployment

    @step
    def merge_adaptive(self, existing: dict[str, Any] | None, update: Any) -> dict[str, Any] | None:
        """§1.4 merge: absent keeps, null removes, else field by field (``-1`` clears a bound)."""
        if update is ABSENT:
            return existing
        if update is None:
            return None
        if existing is None:
            return _normalised(update)
        merged = dict(existing)
        if update.get("enabled") is not None:
            merged["enabled"] = update["enabled"]
        for key in ("min_number_of_allocations", "max_number_of_allocations"):
            if update.get(key) is not None:
                merged[key] = None if update[key] == -1 else update[key]
        return merged

    @step
    def validate_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        """§1.6 C.3, C.4 and D, against the merged adaptive settings."""
        if merged is not None and merged.get("enabled") is True and request.number_of_allocations is not None:
            raise errors.validation_failed(
                ["[number_of_allocations] cannot be set if adaptive allocations is enabled"], "validation_exception"
            )
        if merged is not None:
            messages = adaptive_errors(merged)
            if messages:
                raise errors.validation_failed(messages)
        if deployment.low_priority and self.behaviour.low_priority_update_rejected:
            self._check_low_priority_update(deployment, request, merged)

    def _check_low_priority_update(
        self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None
    ) -> None:
        """§1.6 D. The real text and status are unknown (§9): a 400 naming `low` priority."""
        if request.number_of_allocations is not None and request.number_of_allocations > 1:
            raise errors.status_exception(
                400,
                f"Cannot update low priority model deployment [{deployment.deployment_id}] to more than 1 allocation",
            )
        maximum = (merged or {}).get("max_number_of_allocations")
        if maximum is not None and maximum > 1:
            raise errors.status_exception(
                400,
                f"Cannot set [max_number_of_allocations] above 1 for low priority model deployment "
                f"[{deployment.deployment_id}]",
            )

    @step
    def has_updates(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> bool:
        """§1.6 C.5: a new allocation count or different adaptive settings."""
        allocations = request.number_of_allocations
        return (allocations is not None and allocations != deployment.number_of_allocations) or (
            merged != deployment.adaptive_allocations
        )

    @step
    def apply_update(self, deployment: Deployment, request: UpdateRequest, merged: dict[str, Any] | None) -> None:
        """§1.6 C.7/C.8: increase through the planner (429 changes nothing), decrease by the reducer."""
        wanted = request.number_of_allocations
        if wanted is not None and wanted > deployment.number_of_allocations:
            self.increase(deployment, wanted)
        elif wanted is not None and wanted < deployment.number_of_allocations:
            self.decrease(deployment, wanted)
        deployment.adaptive_allocations = merged

    @step
    def increase(self, deployment: Deployment, wanted: int) -> None:
        """§1.6 C.7/C.8: plan the larger count; a 429 unless it fits or the cluster can scale."""
        placement = self.plan_increase(deployment, wanted)
        reachable = deployment.total_target + placement.total
        if reachable < wanted and not self._can_scale:
            raise errors.status_exception(
                429,
                "Could not update deployment because there are not enough resources to provide all "
                "requested allocations",
            )
        self.add_routes(deployment, placement, failure=None)
        deployment.number_of_allocations = wanted
        deployment.reason = None if reachable >= wanted else self._unsatisfied_reason(placement)
        self._drop_lost_deployments()  # an increase rebalances (§11.5 C)

    @step
    def decrease(self, deployment: Deployment, wanted: int) -> None:
        """§1.6 C.7: reduce the targets; the reason is cleared once the targets can hold the count."""
        if wanted < deployment.total_target:
            self.reduce_to(deployment, wanted)
        if wanted <= deployment.total_target:
            deployment.reason = None
        deployment.number_of_allocations = wanted

    # -- stop ------------------------------------------------------------------------------------

    @operation
    def stop_deployments(self, pattern: str, allow_no_match: bool) -> None:
        matched = self._match_deployments(pattern)
        if not matched and not allow_no_match:
            raise errors.missing_deployment(pattern)
        for deployment in matched:
            self._remove_deployment(deployment)

    def _match_deployments(self, pattern: str) -> list[Deployment]:
        found: dict[str, Deployment] = {}
        for part in pattern.split(","):
            direct = [d for d in self.deployments.values() if _matches(part, d.deployment_id)]
            if not direct:  # a model id addresses its deployments
                direct = [d for d in self.deployments.values() if d.model_id == part]
            found.update((d.deployment_id, d) for d in direct)
        return list(found.values())

    def _remove_deployment(self, deployment: Deployment) -> None:
        self.deployments.pop(deployment.deployment_id, None)

    # -- inference (§11.1; ES TransportInternalInferModelAction) ----------------------------------

    @operation
    def infer(self, request_id: str, docs: list[Any], timeout: float) -> list[dict[str, Any]]:
        """``_infer``: an alias or model id, else a deployment id; documents go to ``started``
        routes with allocations, weighted by their allocations; each counts on its node."""
        model_id = self.model_aliases.get(request_id, request_id)
        deployment = self._inference_deployment(request_id, model_id)
        self.settle(deployment)
        deployment.idle_since = self.clock()  # a request resets the scaler's idle time (§11.5 C)
        routes = [
            (node, route) for node, route in deployment.routes.items() if route.state == "started" and route.current > 0
        ]
        if not routes:
            raise errors.status_exception(409, f"Trained model deployment [{request_id}] is not allocated to any nodes")
        model = self.models[deployment.model_id]
        definition = b"".join(model.parts[index] for index in range(model.total_parts or 0))
        reason = inference.not_emulated_reason(model.config, definition)
        if reason is not None:
            raise errors.status_exception(
                400, f"Inference for model [{model.model_id}] is not emulated by the reference server: {reason}"
            )
        return [self._infer_one(deployment, model, routes, doc, timeout) for doc in docs]

    def _inference_deployment(self, request_id: str, model_id: str) -> Deployment:
        """The deployment of that id, else the model's (``started`` first, then by id); a model
        without one gets 409 (PyTorch) and an unknown id 404, as ``getModelAndInfer`` answers."""
        deployment = self.deployments.get(model_id)
        if deployment is not None:
            return deployment
        own = sorted(
            (d for d in self.deployments.values() if d.model_id == model_id),
            key=lambda d: (d.state != "started", d.deployment_id),
        )
        if own:
            return own[0]
        if model_id not in self.models:
            raise errors.not_found(f"Could not find trained model [{request_id}]")
        raise errors.status_exception(
            409,
            f"Model [{request_id}] must be deployed to use. Please deploy with the start trained model deployment API.",
        )

    def _infer_one(
        self, deployment: Deployment, model: TrainedModel, routes: list[tuple[str, Route]], doc: Any, timeout: float
    ) -> dict[str, Any]:
        node_id, route = _weighted_pick(routes, deployment.inferences_routed)
        deployment.inferences_routed += 1
        field = ((model.config.get("input") or {}).get("field_names") or ["input"])[0]
        text = doc.get(field) if isinstance(doc, dict) else None
        if text is None:
            raise errors.status_exception(400, f"Input field [{field}] does not exist in the source document")
        if not isinstance(text, str):
            raise errors.status_exception(400, f"Input value [{text}] for field [{field}] must be a string")
        settings = inference.BertSettings.of(model.config["inference_config"]["pass_through"])
        ids, truncated = inference.tokenize(text, model.vocabulary or [], settings)
        if timeout == 0:  # the emulated model answers at once: only a zero timeout expires first
            route.timeout_count += 1
            raise errors.status_exception(408, "timeout [0s] waiting for inference result")
        route.inference_count += 1
        route.last_access_ms = int(self.clock() * 1000)
        capacity = deployment.cache_size_bytes if deployment.cache_size_bytes is not None else model.model_bytes
        cache = deployment.caches.setdefault(node_id, inference.InferenceCache(capacity))
        if cache.lookup(ids):
            route.cache_hits += 1
        result: dict[str, Any] = {"predicted_value": [list(row) for row in inference.MODEL_OUTPUT]}
        if truncated:
            result["is_truncated"] = True
        return result

    @operation
    def clear_cache(self, deployment_id: str) -> None:
        """``POST .../deployment/cache/_clear``: empties every node's cache; counters stay."""
        deployment = self.find_deployment(deployment_id)
        for cache in deployment.caches.values():
            cache.clear()

    # -- model aliases (ES TransportPutTrainedModelAliasAction, TransportDeleteTrainedModelAliasAction) --

    @operation
    def put_model_alias(self, alias: str, model_id: str, reassign: bool) -> None:
        old_id = self.model_aliases.get(alias)
        if old_id is not None and not reassign:
            raise errors.status_exception(
                400,
                f"cannot assign model_alias [{alias}] to model_id [{model_id}] as model_alias already refers "
                f"to [{old_id}]. Set parameter [reassign] to [true] if model_alias should be reassigned.",
            )
        if alias in self.models:
            raise errors.status_exception(400, "model_alias cannot be the same as an existing trained model_id")
        new = self._model(model_id)
        old = self.models.get(old_id) if old_id is not None else None
        if old is not None:
            self._check_reassignment(alias, old, new)
        self.model_aliases[alias] = model_id

    def _check_reassignment(self, alias: str, old: TrainedModel, new: TrainedModel) -> None:
        """Moving an alias keeps the task type and the model type, and never leaves a deployed model
        for one that is not deployed (or not yet allocated)."""
        old_task, new_task = _task_name(old), _task_name(new)
        if old_task and new_task and old_task != new_task:
            raise errors.status_exception(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}] with inference config type "
                f"[{new_task}] from model [{old.model_id}] with type [{old_task}]",
            )
        old_deployments = [d for d in self.deployments.values() if d.model_id == old.model_id]
        new_deployments = [d for d in self.deployments.values() if d.model_id == new.model_id]
        if not old_deployments:
            return
        if not new_deployments:
            raise errors.status_exception(
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}] from model [{old.model_id}] as "
                "it is not yet deployed",
            )
        old_running = any(views.allocation_count_of(d) > 0 for d in old_deployments)
        if old_running and any(views.allocation_count_of(d) == 0 for d in new_deployments):
            raise errors.status_exception(  # sic: two spaces, as in ES
                400,
                f"cannot reassign model_alias [{alias}] to model [{new.model_id}]  from model [{old.model_id}] as "
                "it is not yet allocated to any nodes",
            )

    @operation
    def delete_model_alias(self, alias: str, model_id: str) -> None:
        referenced = self.model_aliases.get(alias)
        if referenced is None:
            raise errors.status_exception(404, f"model_alias [{alias}] could not be found")
        if referenced != model_id:
            raise errors.status_exception(
                409, f"model_alias [{alias}] does not refer to provided model_id [{model_id}]"
            )
        del self.model_aliases[alias]

    # -- inference endpoints (§1.6 B) ------------------------------------------------------------

    @operation
    def list_inference_endpoints(self) -> list[InferenceEndpoint]:
        """Every inference endpoint, by id (``GET _inference/_all``)."""
        return sorted(self.inference_endpoints.values(), key=lambda e: e.inference_id)

    @operation
    def put_inference_endpoint(self, endpoint: InferenceEndpoint, start: StartRequest) -> None:
        if endpoint.inference_id in self.inference_endpoints:
            raise errors.status_exception(400, f"Inference endpoint [{endpoint.inference_id}] already exists")
        self.start_deployment(start)
        self.inference_endpoints[endpoint.inference_id] = endpoint

    @operation
    def delete_inference_endpoint(self, inference_id: str) -> None:
        if self.inference_endpoints.pop(inference_id, None) is None:
            raise errors.not_found(f"Inference endpoint not found [{inference_id}]")
        deployment = self.deployments.get(inference_id)
        if deployment is not None:
            self._remove_deployment(deployment)

    # -- node shutdown (§11.5) --------------------------------------------------------------------

    def _plannable_nodes(self) -> tuple[NodeSpec, ...]:
        """The ML nodes new allocations may go to: those without a shutdown record, whatever its
        type (ES ``getAssignableNodes`` leaves out ``nodesShuttingDown``, §11.5 B). Starts,
        increases and rebalances all plan through :meth:`_node_loads`, so none places on the rest."""
        return tuple(node for node in self.nodes if node.id not in self.shutdowns)

    @operation
    def put_node_shutdown(self, record: NodeShutdown) -> None:
        """Register or replace a node's record; a node newly shutting down that still holds an
        active route makes the master rebalance (ES ``haveMlNodesChanged``, §11.5 B)."""
        self._settle_all()
        newly = record.node_id not in self.shutdowns
        self.shutdowns[record.node_id] = record
        if newly and self._routes_on(record.node_id, active_only=True):
            self._rebalance_for_shutdown()

    @operation
    def delete_node_shutdown(self, node_id: str) -> None:
        """Clear a node's record; a returning ML node is plannable again and the master rebalances
        onto it (ES ``haveMlNodesChanged``: returning nodes count as added, §11.5 B)."""
        if self.shutdowns.pop(node_id, None) is None:
            raise shutdown.not_shutting_down(node_id)
        self._settle_all()
        if any(node.id == node_id for node in self.nodes):
            for deployment in self.deployments.values():
                self.top_up(deployment)

    @operation
    def node_shutdowns(self, node_ids: str | None) -> list[dict[str, Any]]:
        """``GET _nodes[/{ids}]/shutdown``: the records asked for, in the order they were made."""
        self._settle_all()
        wanted = None if node_ids is None else set(node_ids.split(","))  # ids, comma-separated
        return [
            shutdown.status_json(record, plugins_complete=not self._routes_on(record.node_id, active_only=False))
            for record in self.shutdowns.values()
            if wanted is None or record.node_id in wanted
        ]

    def _routes_on(self, node_id: str, active_only: bool) -> bool:
        """Whether a deployment has a route on the node (``active_only``: one not yet stopping)."""
        return any(
            node_id in deployment.routes and not (active_only and deployment.routes[node_id].state == "stopping")
            for deployment in self.deployments.values()
        )

    def _rebalance_for_shutdown(self) -> None:
        """ES ``rebalanceAssignments`` then ``setShuttingDownNodeRoutesToStopping`` (§11.5 B, C):
        routes on shutting-down nodes drain, what they held is planned on the other nodes.

        The reference plans deployment by deployment, in the order they were started, where
        Elasticsearch plans them together."""
        self._drop_lost_deployments()
        for deployment in self.deployments.values():
            self.stop_shutting_down_routes(deployment)
            self.top_up(deployment)

    def _drop_lost_deployments(self) -> None:
        """Every rebalance while some node is shutting down (its own, a start's, an increase's)
        ends in ``setShuttingDownNodeRoutesToStopping``, which before ES#146910 lost the
        deployments :meth:`lost_in_shutdown_rebalance` names (§11.5 C)."""
        if not self.shutdowns:
            return
        for deployment in list(self.deployments.values()):
            if self.lost_in_shutdown_rebalance(deployment):
                self._remove_deployment(deployment)

    @step
    def lost_in_shutdown_rebalance(self, deployment: Deployment) -> bool:
        """ES#146806: before ES#146910 a deployment scaled to zero (no routes, none to a
        shutting-down node) was never written back after the rebalance, so it left the cluster
        state; since, it is carried forward (§11.5 C)."""
        return (
            not self.behaviour.zero_allocations_survive_shutdown
            and deployment.number_of_allocations == 0
            and not deployment.routes
        )

    @step
    def stop_shutting_down_routes(self, deployment: Deployment) -> None:
        """``createShuttingDownRoute``: a ``starting``/``started`` route on a shutting-down node
        becomes ``stopping`` with its counts; the node drains it, then it goes (§11.5 B)."""
        settles_at = self.clock() + self.config.convergence_delay
        for node_id, route in deployment.routes.items():
            if node_id in self.shutdowns and route.state in ("starting", "started"):
                route.state = "stopping"
                route.reason = shutdown.SHUTTING_DOWN_ROUTE_REASON
                route.settles_at = settles_at

    @step
    def drain_stopping_routes(self, deployment: Deployment, now: float) -> None:
        """A drained route is gone: the node reports ``stopped`` and the master removes the
        entry (ES ``updateModelRoutingTable``, §11.5 B)."""
        for node_id in [n for n, r in deployment.routes.items() if r.state == "stopping" and now >= r.settles_at]:
            del deployment.routes[node_id]

    @step
    def top_up(self, deployment: Deployment) -> None:
        """Place on plannable nodes what the active routes leave of the count. A rebalance has no
        caller to refuse: what does not fit stays unplanned and the reason says why (§2.2)."""
        active = {node_id: route for node_id, route in deployment.routes.items() if route.state != "stopping"}
        missing = deployment.number_of_allocations - sum(route.target for route in active.values())
        if missing <= 0:
            return
        demand = Demand(
            missing, deployment.threads_per_allocation, deployment.low_priority, self.deployment_memory(deployment)
        )
        placement = place(demand, self._node_loads(), set(active))
        self.add_routes(deployment, placement, failure=None)
        deployment.reason = None if placement.total >= missing else self._unsatisfied_reason(placement)

    @step
    def scale_idle_to_zero(self, deployment: Deployment, now: float) -> None:
        """The adaptive scaler's internal ``_update`` to 0: the reducer removes every route (§11.5 C)."""
        if self.behaviour.adaptive_allocations and scaler.idle_to_zero(deployment, now):
            deployment.number_of_allocations = 0
            deployment.routes = {}
            deployment.reason = None

    # -- views ------------------------------------------------------------------------------------

    @operation
    def deployment_view(self, deployment_id: str) -> dict[str, Any]:
        """The settled assignment of one deployment (used after a start)."""
        deployment = self.find_deployment(deployment_id)
        self.settle(deployment)
        return self.assignment_json(deployment)

    @step
    def assignment_json(self, deployment: Deployment) -> dict[str, Any]:
        """§2.2 field order; optional fields per version (§2.6)."""
        return views.assignment_json(deployment, self.behaviour)

    @step
    def update_answer(self, deployment: Deployment) -> dict[str, Any]:
        """§2.1: the assignment an ``_update`` answers with, as the update left it."""
        return self.assignment_json(deployment)

    @operation
    def model_stats(self, pattern: str, allow_no_match: bool) -> list[dict[str, Any]]:
        """``_stats`` of a comma-separated ``pattern`` of model or deployment ids, settled: one
        entry per deployment, one per undeployed model, models by id and each model's
        deployments by deployment id (§7, §11.1)."""
        self._settle_all()
        nodes = {node.id: node for node in self.nodes}
        by_model: dict[str, list[Deployment]] = {}
        for deployment in self.deployments.values():
            by_model.setdefault(deployment.model_id, []).append(deployment)
        total = sum(d.number_of_allocations for d in self.deployments.values())

        def entry(model: TrainedModel, deployment: Deployment | None) -> dict[str, Any]:
            if self.behaviour.per_deployment_memory_stats:
                allocations = deployment.number_of_allocations if deployment is not None else 0
            else:  # ES#107831: every entry was computed with the sum over all deployments
                allocations = total
            return views.model_stats_json(model, deployment, nodes, self.behaviour, allocations)

        entries = []
        for part in pattern.split(","):
            deployments = self._match_deployments(part)
            models = self._find_models(part)
            if not deployments and not models and (not _is_wildcard(part) or not allow_no_match):
                raise errors.missing_model(part)
            for deployment in deployments:
                model = self.models.get(deployment.model_id)
                if model is not None:
                    entries.append(entry(model, deployment))
            for model in models:
                own = by_model.get(model.model_id, [])
                if not own:
                    entries.append(entry(model, None))
                elif not deployments:  # a model id matched no deployment id: list the model's deployments
                    entries += [entry(model, d) for d in own]
        return sorted(_unique(entries), key=_stats_order)


OPERATIONS = marked(Cluster, "operation")
"""The entry points of the endpoints: each takes :attr:`Cluster.lock` for its whole run."""
STEPS = marked(Cluster, "step")
"""The override points of the mutants: each runs with :attr:`Cluster.lock` held."""


def _normalised(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    return {
        "enabled": settings.get("enabled"),
        "min_number_of_allocations": None
        if settings.get("min_number_of_allocations") in (None, -1)
        else settings["min_number_of_allocations"],
        "max_number_of_allocations": None
        if settings.get("max_number_of_allocations") in (None, -1)
        else settings["max_number_of_allocations"],
    }


def _weighted_pick(routes: list[tuple[str, Route]], sequence: int) -> tuple[str, Route]:
    """The route of document number ``sequence`` in a round robin weighted by current
    allocations (ES picks at random with the same weights: ``selectRandomNodesWeighedOnAllocations``)."""
    slot = sequence % sum(route.current for _, route in routes)
    for node_id, route in routes:
        if slot < route.current:
            return node_id, route
        slot -= route.current
    raise AssertionError("unreachable: the slots cover every allocation")


def _task_name(model: TrainedModel) -> str | None:
    task = model.config.get("inference_config")
    return next(iter(task)) if isinstance(task, dict) and len(task) == 1 else None


def _matches(pattern: str, value: str) -> bool:
    return pattern in ("_all", "*", "") or fnmatch.fnmatchcase(value, pattern)


def _is_wildcard(pattern: str) -> bool:
    """``_all``, empty or with a ``*``: may match nothing without a 404 when ``allow_no_match``."""
    return pattern in ("_all", "") or "*" in pattern


def _stats_order(entry: dict[str, Any]) -> tuple[str, str]:
    """Models by id, each model's deployments by deployment id (§11.1)."""
    return entry["model_id"], (entry.get("deployment_stats") or {}).get("deployment_id", "")


def _unique(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, result = set(), []
    for entry in entries:
        key = (entry["model_id"], (entry.get("deployment_stats") or {}).get("deployment_id"))
        if key not in seen:
            seen.add(key)
            result.append(entry)
    return result
