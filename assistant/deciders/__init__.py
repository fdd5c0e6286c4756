"""Deciders: what turn a question (and the conversation) into a label, a confidence and supporting spans.

Two implementations sit behind one protocol, like the generators: the offline learned decider (the
default, a classifier trained on data kept apart from the eval cases) and the LLM, which decides in its
structured reply when one is configured (`assistant.deciders.llm` rules whether that reply stands).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.schema import Decision, Passage

# The vector of a message encoded for the decider's reading only (`Pipeline._read_states`): the turn before a
# follow-up, or the follow-up read without its conversation. Empty, so that ranking anything by it fails loudly.
NO_VECTOR = np.zeros(0, dtype=np.float32)
NO_VECTOR.setflags(write=False)


@dataclass(frozen=True)
class Query:
    """The question as encoded once and shared: retrieval reads the vector, the decider the token states."""

    text: str  # the user's message, injections removed, model names normalised
    context: str  # the earlier turns it continues ("" for a first question)
    embedding: np.ndarray  # [H], L2-normalised: what retrieval and span ranking compare (`NO_VECTOR`: not computed)
    states: np.ndarray  # [T, H], the encoder's hidden states at the decider's split layer
    # The conversation's last user turn as it was asked (with the turns before it), encoded only when called:
    # a follow-up read as "depends" asks whether that turn had already settled the situation. None: no turn.
    earlier: Callable[[], Query | None] | None = None
    # The message encoded without the turns before it, only when called (None for a first question): a factual
    # follow-up's own subject ("what about continuity?") comes before the conversation's.
    alone: Callable[[], Query] | None = None
    # Any message encoded with a context of our choosing, only when called: a message that points at one item of an
    # enumeration ("what about the second one?") is read with that item alone (`items.pointed_at`).
    read_with: Callable[[str, str], Query] | None = None


@runtime_checkable
class Decider(Protocol):
    name: str

    def decide(self, query: Query, history: Sequence[Any], passages: list[Passage]) -> Decision: ...


__all__ = ["NO_VECTOR", "Decider", "Query"]
