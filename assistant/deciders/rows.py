"""Which row of the comparison table a factual question asks about, learnt from written examples.

The table's row names ("Continuity", "Control style") share few words and little meaning with the way people
ask ("does it hang on to my video's length?", "how do I steer it?"), so a question compared with the names alone
finds the wrong row or none. Instead, 455 questions written for this (`row_questions/`, see its CARD.md), each
labelled with the row that answers it or "other" (the intro, guide or FAQ answers it), are embedded once (the
vectors are cached beside the encoder). A question's row is the label whose nearest examples are most like it;
its margin over the runner-up (another row, or "other") says how sure that is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROW_QUESTIONS = Path(__file__).with_name("row_questions")
OTHER = "other"  # answered outside the table
# How many nearest examples of each label are averaged. Chosen with `support.ROW_WEIGHT` on the quote dev set's
# tune half (`ingest/decider/data/quotes/`, never the frozen test set), with a first draft of the examples (458,
# before 3 coinciding with dev or frozen questions and 1 duplicate were dropped): right quotes 54 of 68 with the
# row names; 52 / 53 / 55 for 1 / 3 / 5 nearest at weight 2; at 5 nearest, 58 / 61 / 61 / 60 at weight
# 4 / 8 / 16 / 32 (3 or 8 nearest: 60 at 8). With the final examples, 5 nearest at weight 8: tune 60 of 68, and
# the check half, never used to choose, 72 -> 75 of 80.
NEAREST = 5


@dataclass(frozen=True)
class RowQuestion:
    text: str
    row: str  # a row name of the table, or OTHER


def load_row_questions(folder: Path = ROW_QUESTIONS) -> list[RowQuestion]:
    questions = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                questions.append(RowQuestion(str(row["q"]), str(row["row"])))
    return questions


class RowFinder:
    """The table row a question asks about, by its nearest written examples."""

    def __init__(self, questions: list[RowQuestion], vectors: np.ndarray, rows: list[str]) -> None:
        # Only the rows this corpus's table has (and "other"): an example for a row the table lost counts as
        # "other", so it still says "not a row of this table".
        labels = [q.row if q.row in rows else OTHER for q in questions]
        self.members = {label: np.array([i for i, got in enumerate(labels) if got == label]) for label in set(labels)}
        self.vectors = vectors

    def asked(self, query: np.ndarray) -> dict[str, float]:
        """{row: margin} for the row a question asks about; {} when it asks about none (or there is no table)."""
        if len(self.members) < 2:
            return {}
        sims = self.vectors @ query
        score = {label: float(np.sort(sims[members])[-NEAREST:].mean()) for label, members in self.members.items()}
        best, runner_up = sorted(score, key=score.__getitem__, reverse=True)[:2]
        return {} if best == OTHER else {best: score[best] - score[runner_up]}
