"""Whether a follow-up only adds a detail that changes nothing about the choice: a small classifier learnt from
written examples.

"the owner loves retro stuff, he's 60" after an idea with nothing filmed, "budget's about 5k all in" after a
sequence: the decider reads such a turn, alone or with the conversation, as a new situation about as surely as it
reads "turns out my cousin filmed the whole thing" (0.97 and 0.97), because it learnt situations, not turns that
leave one as it was. So examples written for this (`ingest/decider/data/details/`, see its CARD.md), each a
follow-up labelled as a detail (the audience, a date, the budget, a mood) or not (footage turns up or is dropped,
a later step, another job, any question, push-back, thanks), train a second top at ingest, beside the decider
and the same way (`ingest/decider/details.py`). Answering runs it on the message's own states, only for a
follow-up whose turn before settled the situation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.deciders.top import ExportedTop
from assistant.text import MESSAGE_SENTENCE_END

DETAIL_MODEL = "details.int8.onnx"  # in the decider's folder, trained with it
DETAIL_MODEL_FP32 = "details.onnx"
DETAIL_CLASSES = ("detail", "other")


class DetailModel:
    """The exported detail classifier: a message's split-layer states -> the probability it only adds a detail."""

    def __init__(self, model_dir: Path) -> None:
        self._top = ExportedTop(model_dir / DETAIL_MODEL)

    def detail(self, states: np.ndarray) -> float:
        return float(self._top.probabilities(states)[DETAIL_CLASSES.index("detail")])


def said_before_asking(message: str) -> str | None:
    """What a message states before the one question it closes with ("The launch is on TikTok and the audience is
    Gen Z. | Does that change anything?"), or None when it is not shaped so (one sentence, or a question earlier).
    Such a question asks whether the statements change the answer: they, read alone, are what it adds."""
    sentences = [s for s in MESSAGE_SENTENCE_END.split(message.strip()) if s]
    if len(sentences) < 2 or not sentences[-1].endswith("?") or any("?" in s for s in sentences[:-1]):
        return None
    return " ".join(sentences[:-1])
