"""Condense: resolve a follow-up against the history into a standalone question, and drop injections."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.deciders.inputs import normalise as normalise_question
from assistant.deciders.inputs import strip_injections

_FOLLOW_UP = re.compile(
    r"^(?:and|but|so|then|ok|okay|what about|how about|what if|and if|also|instead|same|why|really|"
    r"which one|that|this|it)\b|\b(?:it|its|it's|that|this|them|they|those|these|one|then|instead|"
    r"the same|as well|too)\b", re.IGNORECASE)
MAX_FOLLOW_UP_WORDS = 16


@dataclass
class Condensed:
    question: str  # the user's question, injections removed, typos and model names normalised
    standalone: str  # what retrieval searches for
    context: str  # earlier user turns this question follows up on ("" when it stands alone)
    injected: bool


def condense(question: str, history: list[dict[str, str]]) -> Condensed:
    cleaned, injected = strip_injections(question)
    cleaned = normalise_question(cleaned)
    earlier = []
    for turn in history:
        if turn.get("role") == "user":
            text, _ = strip_injections(str(turn.get("content", "")))
            if text:
                earlier.append(normalise_question(text))
    context = ""
    if earlier and cleaned and (len(cleaned.split()) <= MAX_FOLLOW_UP_WORDS and _FOLLOW_UP.search(cleaned)):
        context = " ".join(earlier[-2:])
    standalone = f"{context} {cleaned}".strip() if context else cleaned
    return Condensed(cleaned, standalone, context, injected)
