"""Discovery endpoints (issue #2): what a client learns about version, nodes, capacity and scaling."""

from __future__ import annotations

from conformance.reference.config import NodeSpec, ServerConfig
from reference.conftest import config, make_es


def test_root_reports_version_and_flavor() -> None:
    es = make_es(config(es_version="8.15.2", cluster_name="c1"))
    body = es.client.get("/").json()
    assert body["version"]["number"] == "8.15.2"
    assert body["version"]["build_flavor"] == "default"
    assert body["cluster_name"] == "c1"


def test_s3_2_nodes_report_processor_attributes_as_strings() -> None:
    es = make_es(config(nodes=(NodeSpec("a", 2.5, 8 * 2**30), NodeSpec("b", 8))))
    nodes = es.client.get("/_nodes").json()["nodes"]
    assert list(nodes) == ["a", "b"]
    assert "ml" in nodes["a"]["roles"]
    assert nodes["a"]["attributes"]["ml.allocated_processors_double"] == "2.5"
    assert nodes["a"]["attributes"]["ml.allocated_processors"] == "3"
    assert nodes["a"]["attributes"]["ml.machine_memory"] == str(8 * 2**30)
    assert nodes["b"]["attributes"]["ml.allocated_processors_double"] == "8.0"


def test_ml_info_limits_follow_topology() -> None:
    es = make_es(config(nodes=(NodeSpec("a", 2.5, 8 * 2**30), NodeSpec("b", 8, 16 * 2**30))))
    limits = es.client.get("/_ml/info").json()["limits"]
    assert limits["max_single_ml_node_processors"] == 8
    assert limits["total_ml_processors"] == 11
    # ES TransportMlInfoAction: 30% of each node's memory (NativeMemoryCalculator), whole megabytes; the
    # effective limit is the largest node's share less 20 MB process and 30 MB native code overhead.
    assert "max_model_memory_limit" not in limits  # only when xpack.ml.max_model_memory_limit is set
    assert limits["total_ml_memory"] == f"{(int(8 * 2**30 * 0.3) + int(16 * 2**30 * 0.3)) // 2**20}mb" == "7372mb"
    assert limits["effective_max_model_memory_limit"] == "4865mb"


def test_s1_6_c8_cluster_settings_tell_whether_scaling_is_possible() -> None:
    default = make_es(ServerConfig()).client.get("/_cluster/settings", params={"include_defaults": "true"}).json()
    assert default["persistent"] == {}
    assert default["defaults"]["xpack"]["ml"]["max_lazy_ml_nodes"] == "0"
    scaling = (
        make_es(config(scaling_possible=True)).client.get("/_cluster/settings", params={"flat_settings": "true"}).json()
    )
    assert int(scaling["persistent"]["xpack.ml.max_lazy_ml_nodes"]) > 2
