"""The native inference process's thread settings: what ``pytorch_inference`` really runs (§3.3).

Elasticsearch stores and answers the count it was asked for (§3.1); the process on each
ML node then fits the allocations and threads it is told into the node's hardware threads
(``std::thread::hardware_concurrency()``, which ignores container CPU quotas) and reports
what it runs (§3.4). This module is that process, and nothing else: no routes, no locks.

The rule modelled is ml-cpp's ``CThreadSettings`` from 8.4.0 on (elastic/ml-cpp PR #2369,
commit d471174a421a6fef57cf4599240a0f61314cb872; unchanged on every branch 8.4 to 9.3, the
8.13 change a8634eb4d only widened the integer types), ``bin/pytorch_inference/CThreadSettings.cc``:

- at start (``validateThreadingParameters``): allocations into ``[1, maxThreads]``, then
  threads per allocation into ``[1, ceil(maxThreads / allocations)]``;
- on a live update (the ``numAllocations`` setter, sent by the control message of
  ``bin/pytorch_inference/Main.cc``): allocations into ``[1, ceil(maxThreads / threads)]``,
  with the threads fixed at start.

The older rule (ml-cpp PR #2141, commit efab4e77c, 8.1.0 to 8.3.x: leave one thread, and
allocations + threads <= maxThreads; live updates not clamped at all) shipped only in
versions without ``_update`` (added in 8.6, §4), so no version this server emulates has it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThreadSettings:
    """What the process reports with ``writeThreadSettings`` (§3.4)."""

    allocations: int
    threads_per_allocation: int


def _within(value: int, highest: int) -> int:
    return max(1, min(value, highest))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def started(hardware_threads: int, allocations: int, threads_per_allocation: int) -> ThreadSettings:
    """The settings a process starts with when asked for ``allocations`` x ``threads_per_allocation``."""
    max_threads = max(hardware_threads, 1)  # "Could not determine hardware concurrency": 1
    runs = _within(allocations, max_threads)
    return ThreadSettings(runs, _within(threads_per_allocation, _ceil_div(max_threads, runs)))


def updated(hardware_threads: int, running: ThreadSettings, allocations: int) -> ThreadSettings:
    """The settings after a live update to ``allocations`` (threads stay as started)."""
    max_threads = max(hardware_threads, 1)
    limit = _ceil_div(max_threads, running.threads_per_allocation)
    return ThreadSettings(_within(allocations, limit), running.threads_per_allocation)
