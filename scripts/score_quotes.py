"""Do factual answers quote what answers them? A measurement on the quote dev set, not a test.

    .venv/bin/python scripts/score_quotes.py [--half tune|check] [--misses]

Each line of `ingest/decider/data/quotes/factual_quotes.jsonl` is a factual question and the verbatim
passages a right answer quotes, in groups: the answer passes when it quotes one passage of every group
(extra quotes are not counted against it). The set was written for choosing how factual answers pick their
quotes (`assistant/deciders/support.py`); its halves are fixed by a hash of the question, so one half can
choose and the other confirm. It is not the frozen test set, which chooses nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

from score_writer_set import print_scores  # scripts/score_writer_set.py, beside this file

from assistant import Assistant
from assistant.deciders.spans import normalise_quote
from ingest.decider.data import DATA_DIR

QUOTES = DATA_DIR.parent / "quotes" / "factual_quotes.jsonl"


def half(question: str) -> str:
    return "tune" if int(hashlib.sha256(question.encode()).hexdigest(), 16) % 2 == 0 else "check"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tune", "check"), help="only this half (default: both, each reported)")
    parser.add_argument("--misses", action="store_true", help="also print every miss")
    parser.add_argument("--file", type=Path, default=QUOTES)
    args = parser.parse_args()
    bot = Assistant.from_settings()
    groups: dict[str, list[bool]] = defaultdict(list)
    misses = []
    wanted = quoted = 0
    for line in args.file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        part = half(row["q"])
        if args.half and part != args.half:
            continue
        answer = bot.ask(row["q"])
        quotes = [normalise_quote(c.quote) for c in answer.citations]
        ok = all(any(_matches(alt, q) for alt in group for q in quotes) for group in row["expect"])
        # Extra quotes do not fail an answer, so precision is counted apart: the share of quotes in some group.
        wanted += sum(any(_matches(alt, q) for group in row["expect"] for alt in group) for q in quotes)
        quoted += len(quotes)
        for key in ("all", f"half {part}", f"kind {row['kind']}"):
            groups[key].append(ok)
        if not ok:
            misses.append(f"{row['kind']}: {row['q']!r} quoted {[c.quote[:50] for c in answer.citations]}")
    print_scores(groups, misses if args.misses else [], width=16)
    print(f"quote precision  {wanted / max(quoted, 1):.3f} ({wanted}/{quoted} quotes in an expected group)")


def _matches(alt: str, quote: str) -> bool:
    """A quote is the expected passage when one holds the other (a long quote may be part of a passage)."""
    return normalise_quote(alt) in quote or (len(quote) > 25 and quote in normalise_quote(alt))


if __name__ == "__main__":
    main()
