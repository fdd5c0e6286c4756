"""The generator protocol: what turns evidence and a decision into answer text with quotes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.schema import Citation, Decision, Passage, Recommendation


class GeneratorError(RuntimeError):
    """A generator could not write a draft (timeout, refused connection, 5xx, malformed reply).

    The core catches exactly this and falls back to the extractive answer, logging the message.
    """


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
