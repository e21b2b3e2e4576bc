"""The embedded reference server: an Elasticsearch-like trained-model deployment API.

Public API: :func:`create_app` (ASGI app), :func:`running_server` / :func:`serve` (uvicorn),
:class:`ServerConfig` / :class:`NodeSpec` / :func:`parse_nodes` (configuration) and
:class:`Cluster` (the state model, subclassed by the mutants).
"""

from conformance.reference.app import create_app
from conformance.reference.cluster import Cluster
from conformance.reference.config import DEFAULT_VERSION, NodeSpec, ServerConfig, parse_nodes
from conformance.reference.server import running_server, serve

__all__ = [
    "DEFAULT_VERSION",
    "Cluster",
    "NodeSpec",
    "ServerConfig",
    "create_app",
    "parse_nodes",
    "running_server",
    "serve",
]
