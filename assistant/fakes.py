"""Built-in stand-ins for the parts that need model files, for fast unit tests of pipeline logic.

Like httpx's MockTransport: the same interface as the real part, in-process, deterministic. The real
encoder and the learned decider stay in the end-to-end tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.deciders import Query
from assistant.deciders.spans import SpanIndex
from assistant.deciders.support import pick_support, to_support
from assistant.schema import Decision, Passage, Recommendation
from assistant.text import stem, tokens


class HashingEncoder:
    """Sentence vectors from hashed word stems (a bag of words), L2-normalised: texts sharing words are
    close, so retrieval behaves like a rough lexical search. No model, no ONNX Runtime."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % self._dim

    def _rows(self, text: str) -> np.ndarray:
        words = [stem(t) for t in tokens(text)] or [""]
        rows = np.zeros((len(words), self._dim), dtype=np.float32)
        rows[np.arange(len(words)), [self._bucket(w) for w in words]] = 1.0
        return rows

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            summed = self._rows(text).sum(axis=0)
            out[i] = summed / max(float(np.linalg.norm(summed)), 1e-12)
        return out

    def encode_pair(self, text: str, context: str = "") -> tuple[np.ndarray, np.ndarray | None]:
        """The question's vector (its own words only) and one row per word of question and context."""
        states = self._rows(f"{text} {context}".strip())
        return self.embed([text])[0], states

    def split_states(self, text: str, context: str = "") -> np.ndarray | None:
        return self.encode_pair(text, context)[1]


class FixedDecider:
    """Always the same label, supported by the spans the real decider would pick for it."""

    name = "fixed"

    def __init__(self, spans: SpanIndex, label: Recommendation, abstain: bool = False) -> None:
        self.spans, self.label, self.abstain = spans, label, abstain

    def decide(self, query: Query, history: Sequence[Any], passages: list[Passage]) -> Decision:
        trace = [f"fixed: {self.label}{' (abstain)' if self.abstain else ''}"]
        if self.abstain:
            return Decision("none", True, trace=trace)
        items = pick_support(self.label, self.spans, query.embedding, query.text, passages)
        return Decision(self.label, False, support=to_support(items), trace=trace)
