"""Which row of the comparison table a factual question asks about: a small classifier learnt from written examples.

The table's row names ("Continuity", "Control style") share few words and little meaning with the way people
ask ("does it hang on to my video's length?", "how do I steer it?"). So 455 questions written for this
(`row_questions/`, see its CARD.md), each labelled with the row that answers it or "other" (the intro, guide or
FAQ answers it), train a classifier at ingest, beside the decider and the same way: MiniLM's top layers,
fine-tuned on the question's states at the split layer (`ingest/decider/rows.py`). Answering runs it on the
states the encoder computed once for retrieval, and only for a factual answer.

It replaced a nearest-examples vote over sentence vectors (five nearest of each label): on the same examples,
5-fold cross-validated, the vote found the row of 306 of the 380 questions that ask about one, the classifier
358-362 (2026-12-04).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.deciders.top import ExportedTop

ROW_QUESTIONS = Path(__file__).with_name("row_questions")
OTHER = "other"  # answered outside the table
ROW_MODEL = "rows.int8.onnx"  # in the decider's folder, trained with it
ROW_MODEL_FP32 = "rows.onnx"


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


def row_classes(questions: list[RowQuestion]) -> list[str]:
    """The classifier's classes: the rows the examples name, in a fixed order, and OTHER last."""
    return [*sorted({q.row for q in questions} - {OTHER}), OTHER]


class RowModel:
    """The exported row classifier: split-layer states -> {row: probability} for the row asked about."""

    def __init__(self, model_dir: Path, classes: list[str]) -> None:
        self._top = ExportedTop(model_dir / ROW_MODEL)
        self.classes = classes

    def reading(self, states: np.ndarray) -> tuple[str, float]:
        """The likeliest class (a row, or OTHER) and its probability."""
        probs = self._top.probabilities(states)
        best = int(np.argmax(probs))
        return self.classes[best], float(probs[best])

    @staticmethod
    def as_row(reading: tuple[str, float]) -> dict[str, float]:
        """{row: its probability} for the row a question asks about; {} when it asks about none."""
        label, sure = reading
        return {} if label == OTHER else {label: sure}

    def named_in(self, question: str) -> dict[str, float]:
        """{row: 1.0} when the question says one row's whole name ("the production use row, 3.2 vs 3"), else {}: the
        table's own words settle it, whatever the classifier reads ("other" for "how do they differ in production
        use?"). Quote dev set 143 -> 145 of 148; no evals/dev answer changed (2026-12-05)."""
        said = [row for row in self.classes if row != OTHER and _says(question, row)]
        return {said[0]: 1.0} if len(said) == 1 else {}

    def asked(self, states: np.ndarray) -> dict[str, float]:
        return self.as_row(self.reading(states))


def _says(question: str, name: str) -> bool:
    """Does the question say the whole name, word for word (any case, any spacing)?"""
    words = r"\s+".join(re.escape(word) for word in name.lower().split())
    return re.search(rf"\b{words}\b", question.lower()) is not None
