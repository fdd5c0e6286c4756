"""How many cores one ONNX run may use: this process's share of the machine, when nothing else in it is running.

A follow-up's decision is mostly the decider's top over the whole conversation (about 57 tokens at p50), on one
thread 4.9 ms p50, on two 3.4 ms, with the same probabilities to the bit (2026-12-06, 2 cores). But when two answers
run at once in one process (the API lets its share of cores do so, `ui.api.answer_threads`), two-thread runs would
take each other's cores. So a run that starts while no other is running uses the process's share (at most `WIDEST`
threads), and one that starts beside another runs on one thread, as before. With `serve --workers N` each worker's
share is the cores divided by N: on 2 cores and 2 workers, always one thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

WORKERS_ENV = "RAY_ADVISOR_SERVE_WORKERS"  # how many worker processes share the cores (`ui.workers` sets it)
# At most this many threads a run: a run is a few dozen tokens, and a host with many cores (or a container whose CPU
# quota is below the cores it may run on, which the affinity mask does not show) would otherwise start dozens of
# threads for it. Measured only up to 2 here.
WIDEST = 4


def share() -> int:
    """The cores this process may use: those it may run on, divided among the serving workers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        workers = max(1, int(os.environ.get(WORKERS_ENV, "") or 1))
    except ValueError:
        workers = 1
    return max(1, cores // workers)


def run_threads() -> int:
    """The threads a run alone in this process may use: its `share`, at most `WIDEST`."""
    return min(WIDEST, share())


class Runs:
    """ONNX runs in flight in this process: `with RUNS.started() as alone:` says whether this one is alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    @contextlib.contextmanager
    def started(self) -> Iterator[bool]:
        with self._lock:
            alone = self._running == 0
            self._running += 1
        try:
            yield alone
        finally:
            with self._lock:
                self._running -= 1


RUNS = Runs()
