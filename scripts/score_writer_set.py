"""How the whole assistant does on labelled situations it was not trained on (a measurement, not a test).

    .venv/bin/python scripts/score_writer_set.py new_round/*.jsonl

(Every round kept unseen until stop 48 is trained on now, `ingest/decider/data/raw/was_unseen_*.jsonl`.)

Each line is a training-data line (`ingest/decider/data/LABELS.md`); it is asked through the real
assistant, with its history, and counted right when both the recommendation and the abstention match, as
the held-out sets are scored. Prints accuracy overall, by class and by file, then each miss. Used on a
new writers' round before it is trained on; it reads only the files it is given, in the training
data's format.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from assistant import Assistant
from assistant.errors import RayAdvisorError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--misses", action="store_true", help="also print every miss")
    args = parser.parse_args()
    bot = Assistant.from_settings()
    groups: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for path in args.files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            want: tuple[str, bool] = ("none" if row["abstain"] else str(row["label"]), bool(row["abstain"]))
            got: tuple[str, bool]
            try:
                answer = bot.ask(row["text"], row.get("history") or [])
                got = (answer.recommendation, answer.abstained)
            except RayAdvisorError as exc:  # a message the assistant refuses to read (too long, empty...)
                got = (f"refused: {exc}", True)
            ok = got == want
            for key in ("all", "class " + ("abstain" if row["abstain"] else row["label"]), "file " + path.stem):
                groups[key].append(ok)
            if not ok:
                misses.append(f"{path.stem}: want {want}, got {got}: {row['text'][:100]!r}")
    print_scores(groups, misses if args.misses else [], width=32)


def print_scores(groups: dict[str, list[bool]], misses: list[str], width: int) -> None:
    """Accuracy per group, "all" first, then each miss given (also used by score_quotes.py)."""
    for key, oks in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        print(f"{key:{width}} {sum(oks) / len(oks):.3f} ({sum(oks)}/{len(oks)})")
    if misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
