"""What the learned decision costs per answer, on this machine (a benchmark, not a test).

    .venv/bin/python scripts/bench_decide.py [--n 400]

Asks the decider's dev-split messages (never the eval cases) through the real assistant and prints the
p50/p95 of the decide step (the decider's top layers on the shared encoding, plus picking the quotes),
of retrieve (which includes the one encoder pass that the decision reuses), and of the whole answer.
"""

from __future__ import annotations

import argparse
import statistics
import time

from assistant import Assistant
from ingest.decider.data import load_examples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    args = parser.parse_args()
    bot = Assistant.from_settings()
    dev = [e for e in load_examples() if e.split == "dev" and not e.context]
    questions = [dev[i % len(dev)].text for i in range(args.n)]
    for q in questions[:20]:  # warm the caches and the ONNX sessions
        bot.ask(q)
    steps: dict[str, list[float]] = {"decide": [], "retrieve": [], "total": []}
    started = time.perf_counter()
    for q in questions:
        timings = bot.ask(q).timings_ms
        for name, values in steps.items():
            values.append(timings[name])
    wall = time.perf_counter() - started
    print(f"{len(questions)} answers in {wall:.1f} s ({len(questions) / wall:.0f}/s, one thread)")
    print(f"{'step':<10}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, values in steps.items():
        print(f"{name:<10}{pct(values, 0.5):>10.2f}{pct(values, 0.95):>10.2f}{statistics.fmean(values):>10.2f}")


if __name__ == "__main__":
    main()
