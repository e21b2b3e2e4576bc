"""The mutant registry: every family covered, every mutant documented and pointing at a real rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

import conformance.rules  # noqa: F401 - registers every rule
from conformance.context import Version
from conformance.exchange import Exchange, Intent
from conformance.mutants import FAMILIES, REGISTRY, UNJUDGED
from conformance.provisioning import Provisioner
from conformance.reference import ServerConfig, running_server
from conformance.rules.base import CATALOGUE, Outcome, Verdict
from conformance.suite.bursts import fire, plan
from conformance.suite.runner import Run, RunSettings, open_run
from conformance.target import Target, TargetConfig

OTHER = Intent("other", detail="a mutant's defect, seen by hand")


def test_at_least_thirty_mutants_cover_every_family() -> None:
    assert len(REGISTRY) >= 30
    assert {m.family for m in REGISTRY.values()} == set(FAMILIES)


def test_every_mutant_names_its_defect_and_an_existing_rule() -> None:
    for mutant in REGISTRY.values():
        assert mutant.defect and mutant.defect.endswith((".", ")")), mutant.name
        assert "§" in mutant.doc, f"{mutant.name}: the docstring must cite the behaviour section it breaks"
        if mutant.expects != UNJUDGED:
            assert mutant.expects in CATALOGUE, f"{mutant.name}: {mutant.expects!r} is not a rule id"


def test_only_the_time_family_expects_an_unjudged_run() -> None:
    unjudged = {m.name for m in REGISTRY.values() if m.expects == UNJUDGED}
    assert unjudged == {m.name for m in REGISTRY.values() if m.family == "time"}


def test_every_mutant_builds_an_asgi_app_for_its_configuration() -> None:
    for mutant in REGISTRY.values():
        assert isinstance(mutant.config, ServerConfig)
        assert callable(mutant.build(mutant.config)), mutant.name


# -- the blind spots of issue 8: one mutant per class, each caught by its rule ------------------

BLIND_SPOTS = {
    "pre-update-assignment": "update.number-of-allocations-applied",  # a stale _update answer
    "routes-by-ephemeral-id": "update.routes-on-ml-nodes",  # a routing table naming a node that does not exist
    "missing-routing-table": "shape.assignment-schema",
    "bare-assignment": "shape.assignment-schema",  # no {"assignment": ...} envelope
    "cut-off-body": "shape.assignment-schema",  # truncated JSON
    "stale-stats-cache": "stats.agree-with-assignment",  # _stats served a few seconds stale
    "fails-when-overlapping": "errors.valid-never-5xx",  # 5xx only when requests overlap
    "stats-threads-from-allocations": "stats.agree-with-assignment",  # ES#91095
    "stats-memory-of-all-deployments": "stats.memory-of-others-unchanged",  # ES#107831
}


def test_every_blind_spot_has_a_mutant_expecting_its_rule() -> None:
    assert {name: REGISTRY[name].expects for name in BLIND_SPOTS} == BLIND_SPOTS


@contextmanager
def deployed(name: str, *deployment_ids: str) -> Iterator[Target]:
    """The mutant ``name`` served over HTTP with the tiny model deployed as ``deployment_ids`` (1 allocation each)."""
    found = REGISTRY[name]
    with running_server(found.config, app=found.build(found.config)) as url, Target(TargetConfig(url=url)) as target:
        provisioner = Provisioner(target, "t", Version.parse(found.config.es_version))
        provisioner.upload_model("tiny")
        for deployment_id in deployment_ids or ("dep",):
            provisioner.start(
                "tiny",
                deployment_id=deployment_id,
                threads_per_allocation=1,
                number_of_allocations=1,
                priority="normal",
                adaptive_allocations=None,
                wait_for="started",
            )
        yield target


def update(target: Target, count: int, deployment_id: str = "dep") -> Exchange:
    return target.request(
        "POST",
        f"/_ml/trained_models/{deployment_id}/deployment/_update",
        intent=OTHER,
        json={"number_of_allocations": count},
    )


def stats_of(target: Target, deployment_id: str = "dep") -> dict:
    document = target.request("GET", "/_ml/trained_models/_stats", intent=OTHER).response.json()
    return next(
        entry
        for entry in document["trained_model_stats"]
        if entry["deployment_stats"]["deployment_id"] == deployment_id
    )


@pytest.mark.slow
def test_answer_mutants_break_the_update_answer_as_documented() -> None:
    with deployed("pre-update-assignment") as target:
        assert update(target, 2).response.json()["assignment"]["task_parameters"]["number_of_allocations"] == 1
    with deployed("routes-by-ephemeral-id") as target:
        nodes = target.request("GET", "/_nodes", intent=OTHER).response.json()["nodes"]
        assert not set(update(target, 2).response.json()["assignment"]["routing_table"]) & set(nodes)
    with deployed("missing-routing-table") as target:
        assert "routing_table" not in update(target, 2).response.json()["assignment"]
    with deployed("bare-assignment") as target:
        assert set(update(target, 2).response.json()) >= {"task_parameters", "assignment_state"}
    with deployed("cut-off-body") as target:
        answer = update(target, 2).response
        assert answer.status == 200 and len(answer.body) == int(answer.header("content-length")) <= 256
        assert answer.json() is None  # whole as HTTP, cut off as JSON


@pytest.mark.slow
def test_read_path_mutants_break_the_stats_as_documented() -> None:
    with deployed("stale-stats-cache") as target:
        stats_of(target)
        update(target, 2)
        assert stats_of(target)["deployment_stats"]["number_of_allocations"] == 1  # the cached read
        deadline = time.monotonic() + 10
        while stats_of(target)["deployment_stats"]["number_of_allocations"] != 2:
            assert time.monotonic() < deadline, "the cached answer never expired"
            time.sleep(0.1)
    with deployed("stats-threads-from-allocations") as target:
        update(target, 3)
        assert stats_of(target)["deployment_stats"]["threads_per_allocation"] == 3
    with deployed("stats-memory-of-all-deployments", "dep", "dep2") as target:
        before = stats_of(target, "dep2")["model_size_stats"]["required_native_memory_bytes"]
        update(target, 3)
        assert stats_of(target, "dep2")["model_size_stats"]["required_native_memory_bytes"] > before


def test_updates_fail_only_when_they_overlap() -> None:
    """Alone, every update is answered; in a burst, some request meets another and gets a 500."""
    with deployed("fails-when-overlapping") as target:
        assert [update(target, count).response.status for count in (2, 3, 1)] == [200, 200, 200]
        deadline = time.monotonic() + 20
        while True:
            gate = threading.Barrier(8)

            def send(count: int, gate: threading.Barrier = gate) -> Exchange:
                gate.wait()
                return update(target, count)

            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = [ex.response.status for ex in pool.map(send, range(1, 9))]
            if 500 in statuses:
                break
            assert time.monotonic() < deadline, f"no request of a burst overlapped: {statuses}"
        assert 200 in statuses


@contextmanager
def suite_run(name: str) -> Iterator[Run]:
    """The suite's own run (discovery, provisioning, judging) against the mutant ``name``."""
    found = REGISTRY[name]
    with running_server(found.config, app=found.build(found.config)) as url:
        # A mutant whose routes never settle as promised holds the first wait to its ceiling.
        run = open_run(RunSettings(target=TargetConfig(url=url), run_id="dc-blind", convergence_timeout=3.0))
        try:
            yield run
        finally:
            run.close()


def failed(verdicts: list[Verdict]) -> set[str]:
    return {verdict.rule_id for verdict in verdicts if verdict.outcome is Outcome.FAIL}


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in BLIND_SPOTS if name != "fails-when-overlapping"])
def test_the_first_judged_update_fails_the_expected_rule(name: str) -> None:
    """One update of the primary, as the suite sends and judges it, already shows the defect."""
    with suite_run(name) as run:
        if name == "stats-memory-of-all-deployments":
            run.deployments.start()  # the deployment whose figure the update must leave alone
        exchange = run.update(run.primary, body={"number_of_allocations": 2})
        assert BLIND_SPOTS[name] in failed(run.verdicts_on(exchange))


def test_a_burst_fails_the_expected_rule_when_its_updates_overlap() -> None:
    with suite_run("fails-when-overlapping") as run:
        deployment = run.deployment(run.primary)
        deadline = time.monotonic() + 20
        while True:
            log = fire(run.target, deployment, plan(run.ctx, 12), None)
            found = set().union(*(failed(run.judge(entry.exchange)) for entry in log))
            if found:
                break
            assert time.monotonic() < deadline, "no request of a burst overlapped"
        assert {"errors.valid-never-5xx", "concurrency.burst-answers"} <= found
