"""Every rule in the catalogue fails on an exchange that breaks it and passes on a correct one.

The table below is the proof. ``test_every_rule_is_proven`` makes a new rule without a
row fail the build.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from conformance.context import Context, MlNode
from conformance.exchange import Exchange, Response
from conformance.expectations import BurstCapacity, BurstLog, BurstWrite, ConvergencePromise
from conformance.rules import CATALOGUE, Outcome, evaluate
from conformance.rules.errors import INVALID_CASES
from rules.factories import (
    NODE,
    NODE_B,
    assignment,
    changed,
    context,
    error,
    exchange,
    info,
    observation,
    ok,
    request,
    response,
    snapshot,
    stats_doc,
    stats_request,
)
from rules.native_proofs import native_proofs

CTX = context()
NOT_ENOUGH = "Could not update deployment because there are not enough resources to provide all requested allocations"
LAST = assignment(1)


@dataclass(frozen=True)
class Proof:
    rule_id: str
    bad: Exchange
    good: Exchange
    ctx: Context = CTX

    def __str__(self) -> str:
        return self.rule_id


def update(body, resp: Response, last=LAST, **kw) -> Exchange:
    return exchange("update", request(body), resp, deployment=info(last), **kw)


def stats(doc, kind: str = "read-stats", **kw) -> Exchange:
    return exchange(kind, stats_request(), response(200, doc), **kw)


# Sample reasons per invalid case, as Elasticsearch writes them (§1.3-§1.6).
SAMPLE_REASONS = {
    "zero": "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
    "negative": "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
    "empty-object": "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
    "non-integer-string": "[1:28] [cluster:admin/xpack/ml/trained_models/deployment/update] failed to parse field "
    "[number_of_allocations]",
    "wrong-type": "[1:26] [cluster:admin/xpack/ml/trained_models/deployment/update] number_of_allocations doesn't "
    "support values of type: VALUE_BOOLEAN",
    "unknown-field": "[1:35] [cluster:admin/xpack/ml/trained_models/deployment/update] unknown field [foo]",
    "non-updatable-field": "[1:2] [cluster:admin/xpack/ml/trained_models/deployment/update] unknown field "
    "[threads_per_allocation]",
    "missing-body": "request body is required",
    "inconsistent-model-id": "Inconsistent model_id; 'some-other-id' specified in the body differs from 'dep' "
    "specified as a URL argument",
    "unknown-query-param": "request [/_ml/trained_models/dep/deployment/_update] contains unrecognized parameter: "
    "[foo]",
    "query-param-unrecognized": "request [/_ml/trained_models/dep/deployment/_update] contains unrecognized parameter: "
    "[number_of_allocations]",
    "query-and-body": "request [POST /_ml/trained_models/dep/deployment/_update] does not support having a body",
    "query-non-integer": "Failed to parse int parameter [number_of_allocations] with value [abc]",
    "query-zero": "Validation Failed: 1: [number_of_allocations] must be a positive integer;",
    "adaptive-with-allocations": "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations "
    "is enabled;",
    "allocations-while-adaptive-enabled": "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive "
    "allocations is enabled;",
    "adaptive-min-negative": "Validation Failed: 1: [min_number_of_allocations] must be a non-negative integer "
    "or null;",
    "adaptive-max-below-one": "Validation Failed: 1: [max_number_of_allocations] must be a positive integer or null;",
    "adaptive-min-above-max": "Validation Failed: 1: [min_number_of_allocations] must not be larger than "
    "[max_number_of_allocations];",
    "adaptive-wrong-type": "[1:25] [cluster:admin/xpack/ml/trained_models/deployment/update] adaptive_allocations "
    "doesn't support values of type: VALUE_NUMBER",
    "adaptive-unknown-field": "[1:43] [autoscaling_settings] unknown field [foo]",
    "low-priority-above-one": "cannot update a low priority deployment to more than 1 allocation",
    "inference-endpoint-deployment": "Cannot update deployment [dep] as it was created by inference endpoint [dep]. "
    "This model deployment must be updated through the inference API.",
}


def invalid_case_proofs() -> list[Proof]:
    proofs = []
    for name, case in INVALID_CASES.items():
        ctx = context("8.6") if case.until else CTX
        status = min(case.statuses)
        req = request(raw=case.body, query=case.query)
        good = error(status, case.error_type or "status_exception", SAMPLE_REASONS[name])
        wrong_reason = error(status, case.error_type or "status_exception", "something else entirely")
        bad = wrong_reason if name != "low-priority-above-one" else ok(assignment(2, priority="low"))
        proofs.append(
            Proof(
                f"errors.invalid-{name}",
                exchange("update-invalid", req, bad, deployment=info(LAST), case=name),
                exchange("update-invalid", req, good, deployment=info(LAST), case=name),
                ctx,
            )
        )
    return proofs


def over_capacity(resp: Response) -> Exchange:
    """5 allocations asked on a 4-processor node where another deployment uses 2: only 2 fit."""
    before = snapshot(observation(1), observation(2, {NODE: 2}, deployment_id="other"))
    return exchange(
        "update", request({"number_of_allocations": 5}), resp, deployment=info(LAST), before=before, after=before
    )


def openapi_pair() -> tuple[Exchange, Exchange]:
    """A Schemathesis case answered with a 500 (no documented status, a server error) and with a 200."""
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    from conformance.rules.openapi import OpenApiCase
    from conformance.schemas import profile_named

    operation = schemathesis.openapi.from_dict(profile_named("9.3").openapi())[
        "/_ml/trained_models/{model_id}/deployment/_update"
    ]["POST"]
    case = operation.Case(
        path_parameters={"model_id": "dep"}, body={"number_of_allocations": 2}, media_type="application/json"
    )
    expected = OpenApiCase(case, (not_a_server_error, status_code_conformance, response_schema_conformance))
    sent = request({"number_of_allocations": 2})
    bad = exchange("update", sent, error(500, "null_pointer_exception", "boom"), expected=expected)
    good = exchange("update", sent, ok(assignment(2)), expected=expected)
    return bad, good


MB = 2**20
MEMORY_CTX = replace(
    CTX,
    nodes=(
        MlNode(NODE, "ml-0", 4, ml_memory_bytes=530 * MB),  # 500 MB for deployments
        MlNode(NODE_B, "ml-1", 4, ml_memory_bytes=530 * MB),
    ),
)


def memory_bound(resp: Response, other_on_b: int) -> Exchange:
    """2 allocations asked of a 250 MB deployment on NODE; NODE_B hosts another of ``other_on_b`` MB."""
    before = snapshot(
        replace(observation(1), required_native_memory_bytes=250 * MB),
        replace(
            observation(1, {NODE_B: 1}, deployment_id="other", priority="low"),
            required_native_memory_bytes=other_on_b * MB,
        ),
    )
    return exchange(
        "update", request({"number_of_allocations": 2}), resp, deployment=info(LAST), before=before, after=before
    )


def proofs() -> list[Proof]:
    partial = (
        "Could not assign (more) allocations on node [uckeG3R8TLe2MMNBQ6AGrw]. Reason: This node has "
        "insufficient allocated processors. Available processors [4], free processors [0], processors "
        "required for each allocation of this model [1]"
    )
    adaptive_on = assignment(
        1, adaptive={"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}
    )
    fine = update({"number_of_allocations": 2}, ok(assignment(2)))
    rows = [
        Proof(
            "shape.assignment-schema",
            update({"number_of_allocations": 2}, ok(changed(assignment(2), "start_time", 12))),
            fine,
        ),
        Proof(
            "shape.integers-written-as-integers",
            update(
                {"number_of_allocations": 2},
                ok(changed(assignment(2), "routing_table.uckeG3R8TLe2MMNBQ6AGrw.target_allocations", 2.0)),
            ),
            fine,
        ),
        Proof(
            "shape.error-envelope",
            update({"number_of_allocations": 0}, response(400, {"message": "bad"})),
            update({"number_of_allocations": 0}, error(400, "action_request_validation_exception", "x")),
        ),
        Proof(
            "shape.error-status-matches-http",
            update(
                {"number_of_allocations": 0},
                response(400, {"error": {"root_cause": [], "type": "x", "reason": "y"}, "status": 500}),
            ),
            update({"number_of_allocations": 0}, error(400, "x", "y")),
        ),
        Proof(
            "shape.json-content-type",
            update(
                {"number_of_allocations": 2},
                response(
                    200,
                    {"assignment": assignment(2)},
                    (("content-type", "text/plain"), ("x-elastic-product", "Elasticsearch")),
                ),
            ),
            update(
                {"number_of_allocations": 2},
                response(
                    200,
                    {"assignment": assignment(2)},
                    (
                        ("Content-Type", "application/vnd.elasticsearch+json; compatible-with=9"),
                        ("X-Elastic-Product", "Elasticsearch"),
                    ),
                ),
            ),
        ),
        Proof(
            "shape.product-header",
            update(
                {"number_of_allocations": 2},
                response(200, {"assignment": assignment(2)}, (("content-type", "application/json"),)),
            ),
            fine,
        ),
        Proof("shape.openapi-response", *openapi_pair()),
        Proof(
            "shape.stats-schema",
            stats(changed(stats_doc(("dep", 1, {NODE: 1})), "count", "one")),
            stats(stats_doc(("dep", 1, {NODE: 1}))),
        ),
        Proof("enums.assignment-state", update({"number_of_allocations": 2}, ok(assignment(2, state="failed"))), fine),
        Proof(
            "enums.routing-state",
            update(
                {"number_of_allocations": 2},
                ok(changed(assignment(2), f"routing_table.{NODE}.routing_state", "STARTED")),
            ),
            fine,
        ),
        Proof(
            "enums.priority",
            stats(
                changed(
                    stats_doc(("dep", 1, {NODE: 1})),
                    "trained_model_stats",
                    [
                        {
                            **stats_doc(("dep", 1, {NODE: 1}))["trained_model_stats"][0],
                            "deployment_stats": {
                                **stats_doc(("dep", 1, {NODE: 1}))["trained_model_stats"][0]["deployment_stats"],
                                "priority": "default",
                            },
                        }
                    ],
                )
            ),
            stats(stats_doc(("dep", 1, {NODE: 1}))),
        ),
        Proof(
            "enums.allocation-status-state",
            stats(
                _with_stats(
                    stats_doc(("dep", 1, {NODE: 1})),
                    allocation_status={"allocation_count": 1, "target_allocation_count": 1, "state": "allocated"},
                )
            ),
            stats(stats_doc(("dep", 1, {NODE: 1}))),
        ),
        Proof(
            "update.number-of-allocations-applied",
            update({"number_of_allocations": "3"}, ok(assignment(2))),
            exchange("update", request(query="number_of_allocations=3"), ok(assignment(3)), deployment=info(LAST)),
        ),
        Proof(
            "update.immutable-fields-unchanged",
            update(
                {"number_of_allocations": 2},
                ok(changed(assignment(2, threads=2), "start_time", "2022-11-02T11:50:35Z")),
            ),
            update(
                {"number_of_allocations": 2}, ok(changed(assignment(2), "start_time", "2022-11-02T11:50:34.766591000Z"))
            ),
        ),
        Proof(
            "update.deployment-id-is-path-id",
            update({"number_of_allocations": 2}, ok(assignment(2, deployment_id="tiny"))),
            fine,
        ),
        Proof(
            "update.same-value-is-noop",
            exchange(
                "update-not-started",
                request({"number_of_allocations": 1}),
                error(409, "status_exception", "cannot update deployment that is not in [started] state"),
                deployment=info(assignment(1, state="starting")),
            ),
            exchange(
                "update-not-started",
                request({"number_of_allocations": 1}),
                ok(assignment(1, state="starting")),
                deployment=info(assignment(1, state="starting")),
            ),
        ),
        Proof(
            "update.empty-body-is-noop",
            exchange(
                "update-invalid",
                request({}),
                error(400, "action_request_validation_exception", "must be a positive integer"),
                deployment=info(LAST),
                case="empty-object",
            ),
            exchange("update-invalid", request({}), ok(LAST), deployment=info(LAST), case="empty-object"),
        ),
        Proof(
            "update.max-assigned-covers-current",
            update({"number_of_allocations": 2}, ok(assignment(3, current={NODE: 3}, max_assigned=2))),
            fine,
        ),
        Proof(
            "update.max-assigned-never-decreases",
            update({"number_of_allocations": 1}, ok(assignment(1)), last=assignment(4, max_assigned=4)),
            update({"number_of_allocations": 1}, ok(assignment(1, max_assigned=4)), last=assignment(4, max_assigned=4)),
        ),
        Proof(
            "update.no-negative-allocations",
            update({"number_of_allocations": 2}, ok(assignment(2, current={NODE: -1}))),
            fine,
        ),
        Proof(
            "update.routes-on-ml-nodes",
            update({"number_of_allocations": 2}, ok(assignment(2, {f"{NODE}-ephemeral": 2}))),
            fine,
        ),
        Proof(
            "update.started-after-increase",
            update({"number_of_allocations": 2}, ok(assignment(2, state="starting"))),
            fine,
        ),
        Proof(
            "errors.invalid-never-5xx",
            exchange(
                "update-invalid",
                request({"number_of_allocations": 0}),
                error(500, "null_pointer_exception", "boom"),
                case="zero",
            ),
            exchange(
                "update-invalid",
                request({"number_of_allocations": 0}),
                error(400, "action_request_validation_exception", "x"),
                case="zero",
            ),
        ),
        Proof(
            "errors.valid-never-5xx",
            update(
                {"number_of_allocations": 3},
                error(
                    500,
                    "illegal_state_exception",
                    "cluster state update executor did not preserve version numbers: [update model deployment]",
                ),
            ),
            update({"number_of_allocations": 3}, error(429, "status_exception", NOT_ENOUGH)),
        ),
        Proof(
            "concurrency.burst-answers",
            _burst_request(2, error(429, "status_exception", NOT_ENOUGH)),
            _burst_request(5, error(429, "status_exception", NOT_ENOUGH)),
        ),
        Proof(
            "stats.agree-with-assignment",  # ES#91095: threads reported as the count after an allocation change
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1)),
                after=snapshot(observation(2, threads=2, node_threads=1)),
            ),
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1)),
                after=snapshot(observation(2)),
            ),
        ),
        Proof(
            "stats.others-unchanged",
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1), observation(1, deployment_id="other", cache_size="10kb")),
                after=snapshot(observation(2), observation(1, deployment_id="other")),
            ),
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1), observation(1, deployment_id="other", cache_size="10kb")),
                after=snapshot(observation(2), observation(1, deployment_id="other", cache_size="10kb")),
            ),
        ),
        Proof(
            "stats.memory-of-others-unchanged",  # ES#107831: the estimate followed every deployment's allocations
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1), observation(1, deployment_id="other", memory=400)),
                after=snapshot(observation(2), observation(1, deployment_id="other", memory=500)),
            ),
            update(
                {"number_of_allocations": 2},
                ok(assignment(2)),
                before=snapshot(observation(1), observation(1, deployment_id="other", memory=400)),
                after=snapshot(observation(2), observation(1, deployment_id="other", memory=400)),
            ),
        ),
        Proof(
            "errors.unknown-deployment-404",
            exchange(
                "update-unknown-deployment",
                request({"number_of_allocations": 1}, deployment_id="nope"),
                error(404, "resource_not_found_exception", "No known model deployment with id [dep]"),
            ),
            exchange(
                "update-unknown-deployment",
                request({"number_of_allocations": 1}, deployment_id="nope"),
                error(404, "resource_not_found_exception", "No known model deployment with id [nope]"),
            ),
        ),
        Proof(
            "errors.not-deployed-model-404",
            exchange(
                "update-not-deployed-model",
                request({"number_of_allocations": 1}, deployment_id="tiny"),
                error(400, "status_exception", "not deployed"),
            ),
            exchange(
                "update-not-deployed-model",
                request({"number_of_allocations": 1}, deployment_id="tiny"),
                error(404, "resource_not_found_exception", "No known model deployment with id [tiny]"),
            ),
        ),
        Proof(
            "errors.model-id-of-other-deployment-404",
            exchange(
                "update-by-model-id", request({"number_of_allocations": 2}, deployment_id="tiny"), ok(assignment(2))
            ),
            exchange(
                "update-by-model-id",
                request({"number_of_allocations": 2}, deployment_id="tiny"),
                error(404, "resource_not_found_exception", "No known model deployment with id [tiny]"),
            ),
        ),
        Proof(
            "errors.not-started-409",
            exchange(
                "update-not-started",
                request({"number_of_allocations": 2}),
                error(409, "resource_not_found_exception", "cannot update deployment that is not in [started] state"),
                deployment=info(assignment(1, state="starting")),
            ),
            exchange(
                "update-not-started",
                request({"number_of_allocations": 2}),
                error(409, "status_exception", "cannot update deployment that is not in [started] state"),
                deployment=info(assignment(1, state="starting")),
            ),
        ),
        Proof(
            "errors.wrong-method-405",
            exchange(
                "update-wrong-method",
                request(method="GET"),
                response(
                    405,
                    {
                        "error": "Incorrect HTTP method for uri [/_ml/trained_models/dep/deployment/_update] "
                        "and method [GET], allowed: [POST]",
                        "status": 405,
                    },
                ),
            ),
            exchange(
                "update-wrong-method",
                request(method="GET"),
                response(
                    405,
                    {
                        "error": "Incorrect HTTP method for uri [/_ml/trained_models/dep/deployment/_update] "
                        "and method [GET], allowed: [POST]",
                        "status": 405,
                    },
                    (("content-type", "application/json"), ("x-elastic-product", "Elasticsearch"), ("allow", "POST")),
                ),
            ),
        ),
        Proof(
            "errors.wrong-content-type-406",
            exchange(
                "update-wrong-content-type",
                request({"number_of_allocations": 2}, content_type="text/plain"),
                ok(assignment(2)),
            ),
            exchange(
                "update-wrong-content-type",
                request({"number_of_allocations": 2}, content_type="text/plain"),
                response(406, {"error": "Content-Type header [text/plain] is not supported", "status": 406}),
            ),
        ),
        Proof(
            "errors.malformed-json-400",
            exchange(
                "update-malformed-json",
                request(raw=b'{"number_of_allocations": }'),
                error(500, "json_parse_exception", "Unexpected character"),
            ),
            exchange(
                "update-malformed-json",
                request(raw=b'{"number_of_allocations": }'),
                error(400, "x_content_parse_exception", "[1:28] Unexpected character"),
            ),
        ),
        Proof(
            "errors.truncated-json-400",
            exchange(
                "update-malformed-json",
                request(raw=b"{"),
                error(500, "x_content_e_o_f_exception", "Unexpected end-of-input"),
                case="truncated",
            ),
            exchange(
                "update-malformed-json",
                request(raw=b"{"),
                error(400, "x_content_parse_exception", "Unexpected end-of-input"),
                case="truncated",
            ),
        ),
        Proof(
            "capacity.targets-within-requested",
            update({"number_of_allocations": 2}, ok(assignment(2, {NODE: 2, NODE_B: 1}))),
            fine,
        ),
        Proof(
            "capacity.node-processors-not-exceeded",
            update(
                {"number_of_allocations": 4},
                ok(assignment(4, threads=2)),
                last=assignment(1, threads=2),
                before=snapshot(observation(1, threads=2)),
                after=snapshot(observation(1, threads=2)),
            ),
            update(
                {"number_of_allocations": 2},
                ok(assignment(2, threads=2)),
                last=assignment(1, threads=2),
                before=snapshot(observation(1, threads=2)),
                after=snapshot(observation(1, threads=2)),
            ),
        ),
        Proof(
            "capacity.over-capacity-answer",
            over_capacity(ok(assignment(5))),
            over_capacity(error(429, "status_exception", NOT_ENOUGH)),
        ),
        Proof(
            "capacity.429-contract",
            update({"number_of_allocations": 9}, error(429, "es_rejected_execution_exception", "rejected execution")),
            update({"number_of_allocations": 9}, error(429, "status_exception", NOT_ENOUGH)),
        ),
        Proof(
            "capacity.429-leaves-state-unchanged",
            update(
                {"number_of_allocations": 9},
                error(429, "status_exception", NOT_ENOUGH),
                before=snapshot(observation(1)),
                after=snapshot(observation(9, target_count=9)),
            ),
            update(
                {"number_of_allocations": 9},
                error(429, "status_exception", NOT_ENOUGH),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
        ),
        Proof(
            "capacity.partial-has-reason",
            update({"number_of_allocations": 6}, ok(assignment(6, {NODE: 4}, reason="not enough room"))),
            update({"number_of_allocations": 6}, ok(assignment(6, {NODE: 4}, reason=partial))),
        ),
        Proof(
            "capacity.node-memory-not-exceeded",
            memory_bound(ok(assignment(2, {NODE: 1, NODE_B: 1})), 300),
            memory_bound(ok(assignment(2, {NODE: 1, NODE_B: 1})), 200),
            MEMORY_CTX,
        ),
        Proof(
            "capacity.fitting-increase-planned-in-full",
            update(
                {"number_of_allocations": 3},
                ok(assignment(3, {NODE: 1}, reason=partial)),
                before=snapshot(observation(1)),
            ),
            update({"number_of_allocations": 3}, ok(assignment(3, {NODE: 3})), before=snapshot(observation(1))),
        ),
        Proof(
            "capacity.converges",
            exchange(
                "converged",
                stats_request(),
                response(200, stats_doc(("dep", 2, {NODE: 1}))),
                deployment=info(assignment(2)),
                expected=ConvergencePromise(target_allocations={NODE: 2}, total=2, number_of_allocations=2),
            ),
            exchange(
                "converged",
                stats_request(),
                response(200, stats_doc(("dep", 2, {NODE: 2}))),
                deployment=info(assignment(2)),
                expected=ConvergencePromise(target_allocations={NODE: 2}, total=2, number_of_allocations=2),
            ),
        ),
        Proof(
            "adaptive.merge",
            update(
                {"adaptive_allocations": {"max_number_of_allocations": 8}},
                ok(assignment(1, adaptive={"enabled": False, "max_number_of_allocations": 8})),
                last=adaptive_on,
            ),
            update(
                {"adaptive_allocations": {"max_number_of_allocations": 8}},
                ok(
                    assignment(
                        1, adaptive={"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 8}
                    )
                ),
                last=adaptive_on,
            ),
        ),
        Proof(
            "adaptive.absent-keeps",
            update({"number_of_allocations": 2}, ok(assignment(2, adaptive={"enabled": False})), last=assignment(1)),
            update({"number_of_allocations": 2}, ok(assignment(2)), last=assignment(1)),
        ),
        Proof(
            "adaptive.output-form",
            update(
                {"adaptive_allocations": {"enabled": True}},
                ok(assignment(1, adaptive={"enabled": True, "min_number_of_allocations": None})),
            ),
            update({"adaptive_allocations": {"enabled": True}}, ok(assignment(1, adaptive={"enabled": True}))),
        ),
        Proof(
            "adaptive.bounds",
            update(
                {"adaptive_allocations": {"enabled": True}},
                ok(
                    assignment(
                        1, adaptive={"enabled": True, "min_number_of_allocations": 5, "max_number_of_allocations": 2}
                    )
                ),
            ),
            update(
                {"adaptive_allocations": {"enabled": True}},
                ok(
                    assignment(
                        1, adaptive={"enabled": True, "min_number_of_allocations": 2, "max_number_of_allocations": 5}
                    )
                ),
            ),
        ),
        Proof(
            "adaptive.count-rejected-while-enabled",
            update(
                {"number_of_allocations": 2},
                ok(assignment(2, adaptive=adaptive_on["adaptive_allocations"])),
                last=adaptive_on,
            ),
            update(
                {"number_of_allocations": 2},
                error(
                    400,
                    "validation_exception",
                    "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations is enabled;",
                ),
                last=adaptive_on,
            ),
        ),
        Proof("concurrency.no-lost-update", _burst(final=2), _burst(final=4)),
        Proof(
            "oracle.agrees",
            update(
                {"number_of_allocations": 9},
                ok(assignment(9)),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
            update(
                {"number_of_allocations": 9},
                error(429, "status_exception", NOT_ENOUGH),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
        ),
        Proof(
            "oracle.status",
            update(
                {"number_of_allocations": 9},
                error(409, "status_exception", "cannot update"),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
            update(
                {"number_of_allocations": 9},
                error(429, "status_exception", NOT_ENOUGH),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
        ),
        Proof(
            "oracle.resulting-state",
            update(
                {"number_of_allocations": 3},
                ok(assignment(3)),
                before=snapshot(observation(1)),
                after=snapshot(observation(1)),
            ),
            update(
                {"number_of_allocations": 3},
                ok(assignment(3)),
                before=snapshot(observation(1)),
                after=snapshot(observation(3)),
            ),
        ),
    ]
    return rows + invalid_case_proofs() + [Proof(*row) for row in native_proofs()]


def _with_stats(doc, **fields):
    doc["trained_model_stats"][0]["deployment_stats"].update(fields)
    return doc


def _burst_request(count: int, resp: Response, allocatable: int | None = 4) -> Exchange:
    """One count request of a burst, sent when ``allocatable`` allocations fitted the deployment."""
    return exchange(
        "burst-update",
        request({"number_of_allocations": count}),
        resp,
        deployment=info(LAST),
        detail="request 1 of a burst of 12: number_of_allocations",
        expected=BurstCapacity(allocatable),
    )


def _burst(final: int) -> Exchange:
    """A burst where 2 was strictly followed by 3 and 4, which overlap: 3 or 4 may be final, 2 may not."""
    log = BurstLog(
        (
            BurstWrite("number_of_allocations", 2, 200, 0.0, 1.0),
            BurstWrite("number_of_allocations", 3, 200, 1.5, 2.0),
            BurstWrite("number_of_allocations", 4, 200, 1.6, 2.5),
            BurstWrite("number_of_allocations", 5, 409, 3.0, 3.1),
        )
    )
    return exchange(
        "burst-final",
        stats_request(),
        response(200, stats_doc(("dep", final, {NODE: final}))),
        deployment=info(LAST),
        expected=log,
    )


PROOFS = proofs()


@pytest.mark.parametrize("proof", PROOFS, ids=str)
def test_rule_fails_on_the_bad_exchange(proof: Proof) -> None:
    verdict = evaluate(CATALOGUE[proof.rule_id], proof.bad, proof.ctx)
    assert verdict is not None, "the rule did not look at its bad exchange"
    assert verdict.outcome is Outcome.FAIL, verdict
    assert all(message.strip() for message in verdict.messages)


@pytest.mark.parametrize("proof", PROOFS, ids=str)
def test_rule_passes_on_the_good_exchange(proof: Proof) -> None:
    verdict = evaluate(CATALOGUE[proof.rule_id], proof.good, proof.ctx)
    assert verdict is not None, "the rule did not look at its good exchange"
    assert verdict.outcome is Outcome.PASS, verdict


def test_every_rule_is_proven() -> None:
    proven = {proof.rule_id for proof in PROOFS}
    assert [r.id for r in CATALOGUE if r.id not in proven] == []
    assert proven <= {r.id for r in CATALOGUE}


def test_every_invalid_case_has_a_sample_reason() -> None:
    assert set(SAMPLE_REASONS) == set(INVALID_CASES)


def test_over_capacity_rule_defers_to_adaptive_rejection() -> None:
    """§1.6 C.3 comes before C.8: with adaptive allocations stored as enabled, a count over
    capacity is a 400, so the 429 rule must not judge that exchange."""
    adaptive = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}
    before = snapshot(observation(1, adaptive=adaptive), observation(2, {NODE: 2}, deployment_id="other"))
    ex = exchange(
        "update",
        request({"number_of_allocations": 5}),
        error(400, "validation_exception", "[number_of_allocations] cannot be set if adaptive allocations is enabled"),
        deployment=info(LAST),
        before=before,
        after=before,
    )
    rule = CATALOGUE["capacity.over-capacity-answer"]
    assert evaluate(rule, ex, context()) is None
    assert evaluate(rule, over_capacity(error(400, "validation_exception", "x")), context()).outcome is Outcome.FAIL


def test_settings_absent_from_stats_after_a_burst_are_a_lost_update() -> None:
    """Stats omit adaptive_allocations when none are set: after an acknowledged settings
    write, an omitted field means the write was lost (§1.6 C.9), not that it is unknown."""
    settings = {"enabled": False, "min_number_of_allocations": 1, "max_number_of_allocations": 3}
    log = BurstLog(
        (
            BurstWrite("adaptive_allocations", settings, 200, 0.0, 1.0),
            BurstWrite("number_of_allocations", 2, 200, 0.5, 1.5),
        )
    )

    def burst(doc):
        return exchange("burst-final", stats_request(), response(200, doc), deployment=info(LAST), expected=log)

    rule = CATALOGUE["concurrency.no-lost-update"]
    wiped = evaluate(rule, burst(stats_doc(("dep", 2, {NODE: 2}))), context())
    assert wiped.outcome is Outcome.FAIL and "adaptive_allocations" in wiped.messages[0]
    kept = evaluate(rule, burst(stats_doc(("dep", 2, {NODE: 2}), adaptive=settings)), context())
    assert kept.outcome is Outcome.PASS


def test_over_capacity_rule_judges_a_count_that_disables_adaptive_allocations() -> None:
    """§1.6 C.3 looks at the merged settings: a count sent with {"enabled": false} to an
    enabled deployment is not rejected, so the over-capacity answer is judged."""
    adaptive = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}
    before = snapshot(observation(1, adaptive=adaptive), observation(2, {NODE: 2}, deployment_id="other"))

    def call(resp: Response) -> Exchange:
        body = {"number_of_allocations": 5, "adaptive_allocations": {"enabled": False}}
        return exchange(
            "update",
            request(body),
            resp,
            deployment=info(assignment(1, adaptive=adaptive)),
            before=before,
            after=before,
        )

    rule = CATALOGUE["capacity.over-capacity-answer"]
    assert evaluate(rule, call(ok(assignment(5))), CTX).outcome is Outcome.FAIL
    assert evaluate(rule, call(error(429, "status_exception", NOT_ENOUGH)), CTX).outcome is Outcome.PASS


SETTINGS = {"enabled": False, "max_number_of_allocations": 4}


@pytest.mark.parametrize(
    ("label", "body", "bad_after", "good_after"),
    [
        (
            "settings lost by a count update",
            {"number_of_allocations": 2},
            observation(2),
            observation(2, adaptive=SETTINGS),
        ),
        ("null reset ignored", {"adaptive_allocations": None}, observation(1, adaptive=SETTINGS), observation(1)),
    ],
)
def test_resulting_state_reads_absent_settings_as_unset(label, body, bad_after, good_after) -> None:
    """Stats leave unset settings out; where the profile has adaptive allocations an absent
    field is "none", so lost settings and an ignored null reset fail."""

    def call(after) -> Exchange:
        return update(
            body,
            ok(assignment(1)),
            last=assignment(1, adaptive=SETTINGS),
            before=snapshot(observation(1, adaptive=SETTINGS)),
            after=snapshot(after),
        )

    rule = CATALOGUE["oracle.resulting-state"]
    assert evaluate(rule, call(bad_after), CTX).outcome is Outcome.FAIL
    assert evaluate(rule, call(good_after), CTX).outcome is Outcome.PASS


def test_oracle_rules_predict_once_per_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """The three oracle rules share one prediction of the same exchange (a pure function)."""
    from conformance.rules import agreement

    calls = []
    real = agreement.predict_update
    monkeypatch.setattr(agreement, "predict_update", lambda *args: calls.append(args) or real(*args))
    ex = update(
        {"number_of_allocations": 3}, ok(assignment(3)), before=snapshot(observation(1)), after=snapshot(observation(3))
    )
    for rule_id in ("oracle.agrees", "oracle.status", "oracle.resulting-state"):
        assert evaluate(CATALOGUE[rule_id], ex, CTX).outcome is Outcome.PASS
    assert len(calls) == 1


@pytest.mark.parametrize("rule_id", ["capacity.429-contract", "capacity.429-leaves-state-unchanged"])
def test_an_increase_beyond_capacity_answered_200_breaks_the_429_rules(rule_id: str) -> None:
    """Where the cluster cannot scale, such an increase must be refused: a 200 that applied it
    is judged by the 429 rules too, so a server that never answers 429 leaves them no hole."""
    from dataclasses import replace as replaced

    accepted = over_capacity(ok(assignment(5)))
    after = snapshot(observation(5, {NODE: 5}), observation(2, {NODE: 2}, deployment_id="other"))
    verdict = evaluate(CATALOGUE[rule_id], replaced(accepted, after=after), context())
    assert verdict is not None and verdict.outcome is Outcome.FAIL, verdict


def test_a_200_cut_short_is_indeterminate_for_the_rules_that_read_the_assignment() -> None:
    """Nothing to judge is said as such, never as a rule nothing reached."""
    from conformance.exchange import Response as Answer

    cut = Answer(200, (("content-type", "application/json"),), b'{"assignment":{"task_param')
    exchange_ = update({"number_of_allocations": 2}, cut)
    verdict = evaluate(CATALOGUE["update.number-of-allocations-applied"], exchange_, context())
    assert verdict is not None and verdict.outcome is Outcome.INDETERMINATE
    assert evaluate(CATALOGUE["shape.assignment-schema"], exchange_, context()).outcome is Outcome.FAIL
