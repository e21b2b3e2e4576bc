"""§3.2 memory: the reference sizes ML memory as Elasticsearch does and plans within it.

ES ``NativeMemoryCalculator.allowedBytesForMl`` (30% of ``ml.machine_memory`` by default, or
what the JVM and the OS leave with auto sizing), less the 30 MB of native code per node
(``NodeLoad.getFreeMemoryExcludingPerNodeOverhead``); each deployment reserves
240 MB + 2 x model bytes on every node it runs on.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from conformance.assets import tiny_model
from conformance.reference.config import NodeSpec, ServerConfig
from conformance.reference.planner import MB, allowed_bytes_for_ml, planner_memory
from conformance.reference.server import running_server

GB = 2**30
SMALL = ServerConfig(nodes=(NodeSpec("ml-0", 4, 2 * GB), NodeSpec("ml-1", 4, 2 * GB)))
MODEL = {"model_type": "pytorch", "inference_config": {"pass_through": {}}}


def _deployable_model(url: str, model_id: str = "tiny") -> None:
    model = tiny_model()
    assert httpx.put(f"{url}/_ml/trained_models/{model_id}", json=model.config).status_code == 200
    assert (
        httpx.put(
            f"{url}/_ml/trained_models/{model_id}/vocabulary", json={"vocabulary": list(model.vocabulary)}
        ).status_code
        == 200
    )
    part = {
        "total_definition_length": len(model.definition),
        "total_parts": 1,
        "definition": base64.b64encode(model.definition).decode(),
    }
    assert httpx.put(f"{url}/_ml/trained_models/{model_id}/definition/0", json=part).status_code == 200


def _start(url: str, deployment_id: str, priority: str = "low") -> httpx.Response:
    return httpx.post(
        f"{url}/_ml/trained_models/tiny/deployment/_start",
        params={"deployment_id": deployment_id, "priority": priority, "wait_for": "started"},
    )


def test_allowed_bytes_for_ml_like_native_memory_calculator() -> None:
    assert allowed_bytes_for_ml(2 * GB, GB // 2, 30, False) == int(2 * GB * 0.3)
    # auto: what the JVM and 200 MB for the OS leave, at most 90%
    assert allowed_bytes_for_ml(2 * GB, GB // 2, 30, True) == round(2 * GB * ((2 * GB - GB // 2 - 200 * MB) / (2 * GB)))
    assert allowed_bytes_for_ml(64 * GB, 2 * GB, 30, True) == round(64 * GB * 0.9)
    assert allowed_bytes_for_ml(300 * MB, 200 * MB, 30, True) == 3 * MB  # less than the OS needs: 1%
    assert planner_memory(20 * MB) == 0


def test_nodes_report_memory_attributes_as_strings() -> None:
    with running_server(SMALL) as url:
        attributes = httpx.get(url + "/_nodes").json()["nodes"]["ml-0"]["attributes"]
        settings = httpx.get(
            url + "/_cluster/settings", params={"include_defaults": "true", "flat_settings": "true"}
        ).json()
    assert attributes["ml.machine_memory"] == str(2 * GB)
    assert attributes["ml.max_jvm_size"] == str(GB // 2)
    assert settings["defaults"]["xpack.ml.max_machine_memory_percent"] == "30"
    assert settings["defaults"]["xpack.ml.use_auto_machine_memory_percent"] == "false"


def test_small_nodes_hold_two_deployments_each_then_429() -> None:
    """2 GB nodes: 30% is 614 MB, less 30 MB of code: two 240 MB deployments fit, a third does not."""
    with running_server(SMALL) as url:
        _deployable_model(url)
        for index in range(4):  # low priority: processors never limit, only memory does
            assert _start(url, f"d{index}").status_code == 200
        stats = httpx.get(url + "/_ml/trained_models/_stats").json()["trained_model_stats"]
        hosts = [next(iter(node["node"])) for entry in stats for node in entry["deployment_stats"]["nodes"]]
        assert sorted(hosts) == ["ml-0", "ml-0", "ml-1", "ml-1"]
        refused = _start(url, "d4")
    assert refused.status_code == 429
    reason = refused.json()["error"]["caused_by"]["reason"]
    assert "insufficient available memory" in reason and "[ml-0]" in reason and "[ml-1]" in reason


def test_an_increase_does_not_spill_onto_a_node_without_memory() -> None:
    with running_server(SMALL) as url:
        _deployable_model(url)
        assert _start(url, "primary", priority="normal").status_code == 200
        for index in range(2):  # both go to the other node, which has more free processors
            assert _start(url, f"filler-{index}").status_code == 200
        stats = httpx.get(url + "/_ml/trained_models/_stats").json()["trained_model_stats"]
        hosts = {
            e["deployment_stats"]["deployment_id"]: [next(iter(n["node"])) for n in e["deployment_stats"]["nodes"]]
            for e in stats
        }
        assert hosts == {"primary": ["ml-0"], "filler-0": ["ml-1"], "filler-1": ["ml-1"]}
        update = "/_ml/trained_models/primary/deployment/_update"
        assert httpx.post(url + update, json={"number_of_allocations": 4}).status_code == 200
        assert httpx.post(url + update, json={"number_of_allocations": 5}).status_code == 429


def test_ml_info_reports_the_ml_memory() -> None:
    with running_server(SMALL) as url:
        limits = httpx.get(url + "/_ml/info").json()["limits"]
    assert limits["total_ml_memory"] == f"{2 * int(2 * GB * 0.3) // MB}mb" == "1228mb"
    assert limits["effective_max_model_memory_limit"] == f"{(int(2 * GB * 0.3) - 50 * MB) // MB}mb"


@pytest.mark.slow
def test_auto_sizing_gives_ml_more_of_the_node() -> None:
    config = ServerConfig(nodes=SMALL.nodes, use_auto_machine_memory_percent=True)
    with running_server(config) as url:
        _deployable_model(url)
        started = sum(_start(url, f"d{index}").status_code == 200 for index in range(12))
        settings = httpx.get(url + "/_cluster/settings", params={"flat_settings": "true"}).json()
        per_deployment = httpx.get(url + "/_ml/trained_models/d0/_stats").json()["trained_model_stats"][0][
            "model_size_stats"
        ]["required_native_memory_bytes"]
    assert settings["persistent"]["xpack.ml.use_auto_machine_memory_percent"] == "true"
    assert (
        started == 2 * (planner_memory(allowed_bytes_for_ml(2 * GB, GB // 2, 30, True)) // per_deployment) == 10
    )  # 5 a node, not 2
