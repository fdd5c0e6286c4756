"""Warm-answer timing shared by `bench.py` (Ray Advisor) and `baseline_langchain.py` (the plain RAG, run in
its own venv): the same warm-up, questions and percentiles for both, so their figures compare. Standard
library only, since the baseline's venv has none of Ray Advisor's packages."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def warm_latencies(ask: Callable[[str], object], warmup: Sequence[str], questions: Sequence[str]) -> dict[str, float]:
    """Ask the `warmup` questions (untimed), then each of `questions` once, timed: p50, p95 (ms) and the count.

    Each timed question is new to the process: Ray Advisor keeps its last 512 question encodings and the decider's
    readings of them, so a question asked again costs a fraction of an answer (1.2 ms p50 against 8-9 ms)."""
    for question in warmup:
        ask(question)
    times = []
    for question in questions:
        t0 = time.perf_counter()
        ask(question)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": statistics.median(times), "p95_ms": percentile(times, 95), "answers": len(times)}
