"""Latency of answers: cold `ray-advisor ask` (a fresh process) and warm p50/p95 in one process.

Run after `make ingest` (uses the index the settings point at): `.venv/bin/python scripts/bench_ask.py`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "I have product footage and need to relight it. Which model?",
    "nothing has been filmed yet, which one?",
    "Can I use Ray 3 and Ray 3.2 together?",
    "Which is better, Ray 3 or Ray 3.2?",
    "How much does Ray 3.2 cost?",
    "What does Ray 3.2 preserve from the source?",
]


def main() -> None:
    cli = str(Path(sys.executable).with_name("ray-advisor"))
    colds = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([cli, "ask", QUESTIONS[0], "--json"], check=True, capture_output=True, cwd=ROOT)
        colds.append(time.perf_counter() - t0)
    print(f"cold `ray-advisor ask`: median {statistics.median(colds):.2f} s over {len(colds)} runs")

    from assistant import Assistant

    t0 = time.perf_counter()
    bot = Assistant.from_settings()
    print(f"Assistant.from_settings (model load + index open): {time.perf_counter() - t0:.2f} s")
    times = []
    for _ in range(10):
        for question in QUESTIONS:
            t0 = time.perf_counter()
            bot.ask(question)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"warm ask over {len(times)} answers: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
