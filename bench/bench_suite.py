"""Wall time and checked requests per second of a default run, next to a plain httpx loop.

Run by hand (``.venv/bin/python bench/bench_suite.py [--runs N] [--updates K]``); never
part of the tests (issue #4). It starts ``deployment-conformance serve`` once in its own
process and measures, against that one server:

- ``deployment-conformance run --target URL`` (N times, each in a subprocess);
- ``deployment-conformance run`` without ``--target`` (the embedded server, N times);
- a keep-alive ``httpx.Client`` sending K ``_update`` requests and judging nothing,
  the ceiling any suite run could approach on this machine.

"Checked" requests are the exchanges the suite judged (``run.judged_exchanges`` in each
run's ``results.json``); the snapshots and set-up calls around them are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from conformance.discovery import discover
from conformance.provisioning import Provisioner
from conformance.target import Target, TargetConfig

BENCH_DIR = Path(__file__).resolve().parent
CLI = str(Path(sys.executable).with_name("deployment-conformance"))
STARTUP_DEADLINE = 30.0  # seconds for the server to answer GET /
RUN_DEADLINE = 600.0  # seconds for one suite run before it is killed
MODEL_ID = "bench-plain-loop"
# pytest's last line, framed or not: "== 41 passed, 2 skipped in 7.82s ==", "43 passed, 4 skipped in 2.09s"
PYTEST_SUMMARY = re.compile(rb"\b(?:passed|failed|errors?|skipped)\b[^\n]* in ([0-9.]+)s")


# -- the reference server in its own process -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``deployment-conformance serve`` on a free loopback port, killed on exit."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")  # noqa: SIM115 - open while the server runs, closed in close()
        self._process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> ServerProcess:
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        delay = 0.02
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self._process.returncode}: {self._log_tail()}")
            try:
                if httpx.get(self.url + "/", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer GET / within {STARTUP_DEADLINE:g}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _log_tail(self) -> str:
        self._log.flush()
        lines = Path(self._log.name).read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def stop(self) -> int:
        """Terminate (then kill) the server; return its exit status."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        return int(self._process.returncode)


# -- timed suite runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteRun:
    wall: float
    session: float  # pytest's own duration, without start-up, preflight and reports
    exit_code: int
    judged: int
    verdicts: int  # sum of the per-rule counts in results.json
    cleanup_problems: tuple[str, ...]

    @property
    def checked_per_second(self) -> float:
        return self.judged / self.wall


def time_suite_run(extra_args: Sequence[str], scratch: Path, index: int) -> SuiteRun:
    report_dir = scratch / f"reports-{index}"
    started = time.perf_counter()
    completed = subprocess.run(
        [CLI, "run", *extra_args, "--report-dir", str(report_dir)],
        capture_output=True,
        timeout=RUN_DEADLINE,
    )
    wall = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        sys.stderr.write(completed.stderr.decode(errors="replace")[-2000:])
        raise RuntimeError(f"run {' '.join(extra_args) or '(embedded)'} exited {completed.returncode}")
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    summary = PYTEST_SUMMARY.findall((report_dir / "pytest.log").read_bytes())  # pytest's output goes there
    return SuiteRun(
        wall=wall,
        session=float(summary[-1]) if summary else float("nan"),
        exit_code=completed.returncode,
        judged=results["run"]["judged_exchanges"],
        verdicts=sum(sum(rule["counts"].values()) for rule in results["rules"]),
        cleanup_problems=tuple(results["run"].get("cleanup_problems") or ()),
    )


# -- the plain httpx loop --------------------------------------------------------------------


@dataclass(frozen=True)
class PlainLoop:
    updates: int
    wall: float
    non_200: int

    @property
    def per_second(self) -> float:
        return self.updates / self.wall


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: HTTP {response.status_code} {response.text[:300]}"
        )
    return response


def plain_loop(url: str, updates: int) -> PlainLoop:
    """K updates alternating 1 and 2 allocations, so every one changes state (no no-op).

    The tiny model is provisioned and removed by the suite's own :class:`Provisioner`
    (§5.3), so the loop meets the deployment a suite run meets; only the loop is timed.
    """
    with Target(TargetConfig(url=url)) as target:
        provisioner = Provisioner(target, MODEL_ID, discover(target).version)
        try:
            provisioner.upload_model(MODEL_ID)
            provisioner.start(
                MODEL_ID,
                deployment_id=MODEL_ID,
                threads_per_allocation=1,
                number_of_allocations=1,
                priority="normal",
                adaptive_allocations=None,
                wait_for="started",
            )
            loop = _timed_updates(url, f"/_ml/trained_models/{MODEL_ID}/deployment/_update", updates)
        finally:
            problems = provisioner.cleanup()
    if problems:
        raise RuntimeError(f"the plain loop left things behind: {problems}")
    return loop


def _timed_updates(url: str, path: str, updates: int) -> PlainLoop:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        non_200 = 0
        started = time.perf_counter()
        for index in range(updates):
            response = client.post(path, json={"number_of_allocations": 1 + index % 2})
            non_200 += response.status_code != 200
        return PlainLoop(updates, time.perf_counter() - started, non_200)


def leftovers(url: str) -> list[str]:
    """Models and deployments still on the server after every measurement."""
    with httpx.Client(base_url=url, timeout=10.0) as client:
        models = _ok(client.get("/_ml/trained_models")).json().get("trained_model_configs", [])
        stats = _ok(client.get("/_ml/trained_models/_stats")).json().get("trained_model_stats", [])
    found = [f"model {m.get('model_id')}" for m in models]
    found += [f"deployment {s['deployment_stats'].get('deployment_id')}" for s in stats if s.get("deployment_stats")]
    return found


# -- report ----------------------------------------------------------------------------------


def _median_int(counts: Iterable[int]) -> str:
    values = list(counts)
    low, high = min(values), max(values)
    middle = statistics.median(values)
    return f"{middle:.0f}" if low == high else f"{middle:.0f} ({low}–{high})"


def suite_row(mode: str, runs: list[SuiteRun]) -> str:
    walls = [r.wall for r in runs]
    cells = [
        mode,
        str(len(runs)),
        f"{statistics.median(walls):.2f}",
        f"{min(walls):.2f}",
        f"{max(walls):.2f}",
        f"{statistics.median(r.session for r in runs):.2f}",
        _median_int(r.judged for r in runs),
        _median_int(r.verdicts for r in runs),
        f"{statistics.median(r.checked_per_second for r in runs):.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, 1-minute load average {os.getloadavg()[0]:.2f}"
    )


def print_report(target_runs: list[SuiteRun], embedded_runs: list[SuiteRun], loop: PlainLoop) -> None:
    print(f"Machine: {machine()}\n")
    print(
        "| run mode | runs | wall s (median) | min | max | pytest session s | judged exchanges "
        "| verdicts | checked requests/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(suite_row("`run --target URL` (server in its own process)", target_runs))
    print(suite_row("`run` (embedded server)", embedded_runs))
    print(
        f"\nPlain keep-alive `httpx.Client` loop, same server: {loop.updates} `_update` requests in "
        f"{loop.wall:.2f} s = **{loop.per_second:.0f} requests/s** ({loop.non_200} non-200, nothing judged)."
    )
    print(
        "\nMedians over the runs (range in brackets when runs differ: each run draws a new seed). "
        "Checked requests/s = judged exchanges / wall time of the whole command, start-up included."
    )


# -- main ------------------------------------------------------------------------------------


def measure(label: str, runs: int, action: Callable[[int], SuiteRun]) -> list[SuiteRun]:
    measured = []
    for index in range(runs):
        result = action(index)
        print(
            f"  {label} #{index + 1}: {result.wall:.2f} s, {result.judged} judged, exit {result.exit_code}",
            file=sys.stderr,
        )
        if result.cleanup_problems:
            raise RuntimeError(f"{label} left things behind: {result.cleanup_problems}")
        measured.append(result)
    return measured


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Turn ``kill`` into an exception, so that the server and the running child are stopped."""
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="suite runs per mode (default 3)")
    parser.add_argument("--updates", type=int, default=2000, help="requests of the plain loop (default 2000)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch_name:
        scratch = Path(scratch_name)
        with ServerProcess(scratch / "server.log") as server:
            target_runs = measure("--target", args.runs, lambda i: time_suite_run(["--target", server.url], scratch, i))
            embedded_runs = measure("embedded", args.runs, lambda i: time_suite_run([], scratch, args.runs + i))
            loop = plain_loop(server.url, args.updates)
            left = leftovers(server.url)
    print_report(target_runs, embedded_runs, loop)
    if left:
        print(f"\nLeft on the server after the runs: {', '.join(left)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
