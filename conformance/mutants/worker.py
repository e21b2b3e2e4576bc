"""One selftest target in a process of its own: serve it, run the suite against it.

``python -m conformance.mutants.worker NAME [run flags...]`` serves the mutant ``NAME``
(or the unmodified server, ``reference``) on a free loopback port and runs
``deployment-conformance run --target URL [run flags...]`` against it in this process,
exactly as a user would against a remote server. A process per target keeps every run
isolated (no state, no Hypothesis or pytest globals shared) and lets runs go in parallel.
The exit code is the run's.
"""

from __future__ import annotations

import sys

from conformance import cli
from conformance.mutants.base import REGISTRY, AsgiApp
from conformance.reference import ServerConfig, create_app, running_server

REFERENCE = "reference"


def target(name: str) -> tuple[ServerConfig, AsgiApp]:
    """The configuration and ASGI app of ``name`` (``KeyError`` for an unknown mutant)."""
    if name == REFERENCE:
        config = ServerConfig()
        return config, create_app(config)
    found = REGISTRY[name]
    return found.config, found.build(found.config)


def main(argv: list[str]) -> int:
    import conformance.mutants  # noqa: F401 - registers every mutant

    name, run_flags = argv[0], argv[1:]
    config, app = target(name)
    with running_server(config, app=app) as url:
        return cli.main(["run", "--target", url, "--allow-scaling", *run_flags])  # an emulator scales for free


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
