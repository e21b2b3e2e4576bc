"""Wall time of a default embedded run, this checkout beside another build of the tool.

Run by hand: ``python bench/compare_runs.py --baseline PATH/TO/deployment-conformance
[--runs 4]``. Each round runs ``deployment-conformance run --seed 42`` once with the
baseline's command and once with this environment's, alternating, so both see the same
machine load; it prints the median wall time of each (start-up and reports included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THIS = str(Path(sys.executable).with_name("deployment-conformance"))


def wall_time(cli: str) -> float:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DC_") and k != "CI"}
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        done = subprocess.run(
            [cli, "run", "--seed", "42", "--report-dir", folder],
            capture_output=True,
            text=True,
            env=environment,
            cwd=folder,
            check=False,
        )
        took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{cli} exited {done.returncode}:\n{done.stdout[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the other build's deployment-conformance command")
    parser.add_argument("--runs", type=int, default=4, help="rounds (default: 4)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {args.baseline: [], THIS: []}
    for _ in range(args.runs):
        for cli in times:
            times[cli].append(wall_time(cli))
    for cli, found in times.items():
        print(f"{cli}: median {statistics.median(found):.2f} s ({', '.join(f'{t:.2f}' for t in found)})")


if __name__ == "__main__":
    main()
