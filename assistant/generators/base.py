"""The generator protocol: what turns evidence and a decision into answer text with quotes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assistant.schema import Citation, Passage, Recommendation


class GeneratorError(RuntimeError):
    """A generator could not write a draft (timeout, refused connection, 5xx, malformed reply).

    The core catches exactly this and falls back to the extractive answer, logging the message.
    """


@dataclass(frozen=True)
class Support:
    """A verbatim span chosen as evidence for the decision."""

    quote: str
    chunk_id: str
    source: str
    section: str
    label: str = ""  # e.g. the table row or FAQ question it belongs to
    stance: str = "none"


@dataclass
class Decision:
    label: Recommendation
    abstain: bool
    support: list[Support] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # asked-about topics the documents never mention
    reason: str = ""  # a short, internal trace of why (for debugging and evals)


@dataclass
class Draft:
    answer: str
    recommendation: Recommendation
    abstained: bool
    citations: list[Citation]
    generator: str


@runtime_checkable
class Generator(Protocol):
    name: str

    def generate(self, question: str, passages: list[Passage], decision: Decision) -> Draft: ...

    def stream(self, question: str, passages: list[Passage], decision: Decision) -> Iterator[str | Draft]:
        """Yield text pieces as they are written, then the final Draft (unverified) last."""
        ...
