"""What the learned decision costs per answer, on this machine (a benchmark, not a test).

    .venv/bin/python scripts/bench_decide.py [--n 400] [--follow-ups]

Asks the decider's dev-split messages (never the eval cases) through the real assistant and prints the
p50/p95 of the decide step (the decider's top layers on the shared encoding, plus picking the quotes),
of retrieve (which includes the one encoder pass that the decision reuses), and of the whole answer.
With --follow-ups, it asks the written follow-ups with their conversations instead: an unsure follow-up
also reads the turn before it (`FollowUps._settled_earlier`), and a factual one the message alone. As
in a chat, the turn before is asked first (not timed), so its encoding is the one the pipeline keeps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from assistant import Assistant
from assistant.cores import run_threads
from ingest.decider.data import DATA_DIR, load_examples


def follow_ups() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every written message that continues a conversation, with its earlier turns."""
    rows = [json.loads(line) for path in sorted(DATA_DIR.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["text"], row["history"]) for row in rows if row.get("history")]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--follow-ups", action="store_true", help="follow-ups with their conversations")
    args = parser.parse_args()
    bot = Assistant.from_settings()
    if args.follow_ups:
        chats = follow_ups()
        asked = [chats[(i * 7919) % len(chats)] for i in range(args.n)]  # spread over every writer's file
    else:
        dev = [e for e in load_examples() if e.split == "dev" and not e.context]
        asked = [(dev[i % len(dev)].text, []) for i in range(args.n)]
    for q, history in asked[:20]:  # warm the caches and the ONNX sessions
        bot.ask(q, history)
    steps: dict[str, list[float]] = {"decide": [], "retrieve": [], "total": []}
    started = time.perf_counter()
    for q, history in asked:
        if args.follow_ups:
            last = max(i for i, turn in enumerate(history) if turn["role"] == "user")
            bot.ask(history[last]["content"], history[:last])  # the turn before, as the chat asked it
        timings = bot.ask(q, history).timings_ms
        for name, values in steps.items():
            values.append(timings[name])
    wall = time.perf_counter() - started
    # One asking thread; each ONNX run then has the process to itself, so it runs on `cores.run_threads()` threads.
    print(f"{len(asked)} answers in {wall:.1f} s, one at a time (ONNX runs on {run_threads()} threads)")
    print(f"{'step':<10}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, values in steps.items():
        print(f"{name:<10}{pct(values, 0.5):>10.2f}{pct(values, 0.95):>10.2f}{statistics.fmean(values):>10.2f}")


if __name__ == "__main__":
    main()
