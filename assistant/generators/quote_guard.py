"""A guardrail on the LLM's answer text: quoted sentences in it must come from the passages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.schema import Decision, Passage

REMOVED_QUOTE = "[unverified quote removed]"

_OPENERS = {'"': '"', "\u201c": "\u201d"}  # straight and curly double quotes
_MIN_CHECKED_WORDS = 3  # shorter quoted bits are terms ("not always", "Ray 3.2"), not claims


def normalised(text: str) -> str:
    """Text as quotes are compared: curly quotes straightened, whitespace collapsed, case folded."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split()).casefold()


@dataclass
class QuoteGuard:
    """Passes answer text through, holding back anything in double quotes until the quote closes.

    A closed quotation of three or more words that is not in the passages is replaced by a marker, so a
    reply that obeys a planted instruction cannot put invented words in the documents' mouth. The same
    filter runs for stream() and generate(), so the streamed pieces always add up to Draft.answer.
    """

    corpus: str  # normalised text of all passages (and hint quotes)
    _held: list[str] = field(default_factory=list)
    _closer: str | None = None
    removed: list[str] = field(default_factory=list)

    def feed(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            if self._closer is None:
                if ch in _OPENERS:
                    self._closer = _OPENERS[ch]
                    self._held = [ch]
                else:
                    out.append(ch)
            else:
                self._held.append(ch)
                if ch == self._closer:
                    out.append(self._release())
        return "".join(out)

    def finish(self) -> str:
        return self._release() if self._closer is not None else ""

    def _release(self) -> str:
        held = "".join(self._held)
        self._held, self._closer = [], None
        inner = held[1:-1] if len(held) > 1 and held[-1] in _OPENERS.values() else held[1:]
        if self.is_supported(inner):
            return held
        self.removed.append(inner)
        return REMOVED_QUOTE

    def is_supported(self, quoted: str) -> bool:
        if len(quoted.split()) < _MIN_CHECKED_WORDS:
            return True
        # Models put the sentence's full stop inside the quotes and join excerpts with an ellipsis.
        parts = [p.strip(" .,;:!?") for p in re.split(r"\.\.\.|\u2026", quoted)]
        return all(normalised(p) in self.corpus for p in parts if p.strip())


def guard_for(passages: Sequence[Passage], decision: Decision) -> QuoteGuard:
    texts = [p.text for p in passages] + [s.quote for s in decision.support]
    return QuoteGuard(corpus="\n".join(normalised(t) for t in texts))


def guarded(answer: str, passages: Sequence[Passage], decision: Decision) -> str:
    """The whole answer through a fresh guard (what streaming does piece by piece)."""
    guard = guard_for(passages, decision)
    return guard.feed(answer) + guard.finish()
