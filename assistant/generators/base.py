"""The generator protocol: what turns evidence and a decision into answer text with quotes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from assistant.schema import Decision, Draft, Passage


@runtime_checkable
class Generator(Protocol):
    name: str

    def generate(self, question: str, passages: list[Passage], decision: Decision) -> Draft: ...

    def stream(self, question: str, passages: list[Passage], decision: Decision) -> Iterator[str | Draft]:
        """Yield text pieces as they are written, then the final Draft (unverified) last."""
        ...
