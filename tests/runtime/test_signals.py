"""Ctrl-C and SIGTERM at any moment: never exit 0, never anything left on the target.

Each case runs ``deployment-conformance run`` in a process of its own against one served
reference, sends the signals at a chosen moment (a fixed random draw of delays, two
signals 50 ms apart, one during clean-up) and then reads the target through its API.
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from runtime_helpers import PYTHON, cli_env, run_prefixed_objects

_DRAW = random.Random(20261201)
MOMENTS = [
    *[("after", round(_DRAW.uniform(0.3, 6.0), 2), (signal.SIGINT,)) for _ in range(3)],
    *[("after", round(_DRAW.uniform(0.3, 6.0), 2), (signal.SIGTERM,)) for _ in range(2)],
    ("after", 2.0, (signal.SIGINT, signal.SIGINT)),
    ("after", 3.5, (signal.SIGTERM, signal.SIGINT)),
    ("phase:provisioning", 0.0, (signal.SIGINT, signal.SIGINT)),
    ("phase:cleanup", 0.0, (signal.SIGINT,)),
    ("phase:cleanup", 0.0, (signal.SIGTERM, signal.SIGTERM)),
]


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.mark.slow
@pytest.mark.parametrize(("when", "delay", "signals"), MOMENTS, ids=[f"{w}-{d}-{len(s)}" for w, d, s in MOMENTS])
def test_signals_never_read_green_and_leave_nothing(
    served: str, tmp_path: Path, when: str, delay: float, signals: tuple[int, ...]
) -> None:
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "conformance",
            "run",
            "--target",
            served,
            "--seed",
            "3",
            "--max-examples",
            "10",
            "--report-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    if when.startswith("phase:"):
        phase = when.split(":", 1)[1]
        deadline = time.monotonic() + 120
        while not any(f"deployment-conformance: {phase}" in line for line in seen):
            seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
    else:
        time.sleep(delay)  # the moment of the signal is the thing under test, not a wait for state
    for index, sig in enumerate(signals):
        if index:
            time.sleep(0.05)
        if process.poll() is None:
            process.send_signal(sig)
    code = process.wait(timeout=120)
    while not lines.empty():
        seen.append(lines.get())
    finished_first = any("exit code 0" in line for line in seen) and when == "after"
    assert code != 0 or finished_first, "".join(seen)
    # A signal during the interpreter's own start-up, before the command runs, kills it
    # (a negative code): nothing was created yet. Afterwards every end is a verdict.
    started = any("deployment-conformance: discovery" in line for line in seen)
    assert code in (0, 1, 3) or (code < 0 and not started), "".join(seen)
    assert run_prefixed_objects(served) == [], "".join(seen)
