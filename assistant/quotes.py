"""Quotes a reader can follow: whole sentences, and table cells with their row and column.

The decider picks spans, which can be a clause ("while Ray 3.2 is better when ...") or a sentence that
leans on the one before ("Its value is the combination of ..."). Before an answer is written, each is
widened to the whole sentence (with the sentence before it when it opens with a pronoun, or when that one is an FAQ
answer's opening verdict: "Not always.", "Start with the job, not the model name."); a table cell stays the cell,
and carries its row and column labels.
Spans that widen to the same sentence, or to one that another quote holds, are shown once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from assistant.schema import Citation, Decision, Passage, Support
from assistant.text import models_named, normalise_ws, split_sentences

_LEANS_BACK = re.compile(r"^(?:it|its|it's|this|that|these|those|they|their|them|such|the result)\b", re.IGNORECASE)
_CELL_LABEL = re.compile(r"^(?P<row>.+) \((?P<column>[^()]+)\)$")


def _body(passage: Passage) -> str:
    """The passage's own running text, without the heading or FAQ question written in front of it."""
    text = normalise_ws(passage.text)
    if passage.kind == "faq" and " A: " in text:
        return text.split(" A: ", 1)[1]
    heading = normalise_ws(passage.heading)
    if heading and text.startswith(heading + " "):
        return text[len(heading) + 1:]
    return text


def whole_sentence(quote: str, passage: Passage) -> str:
    """The sentence of the passage that holds `quote`, with the one before if it opens with a pronoun, or if that one
    is the verdict an FAQ answer opens with, short or naming no model ("Not always. Ray 3.2 is better for production
    when continuity matters."; "Start with the job, not the model name. If you have footage, start with Ray 3.2."):
    such a verdict alone is never quoted, and without it the quote hides the FAQ's direct answer."""
    needle = normalise_ws(quote)
    sentences = split_sentences(_body(passage))
    for i, sentence in enumerate(sentences):
        if needle and needle in sentence:
            opening = sentences[0]
            short_or_general = len(opening.split()) < 3 or not models_named(opening)
            verdict = i == 1 and passage.kind == "faq" and short_or_general
            if i > 0 and (_LEANS_BACK.match(sentence) or verdict):
                return f"{sentences[i - 1]} {sentence}"
            return sentence
    return quote


def widen(decision: Decision, passages: dict[str, Passage], verbatim: Callable[[Support, Passage], bool]) -> Decision:
    """The decision with each supporting quote made readable; a widened quote is kept only if still verbatim."""
    out: list[Support] = []
    seen: dict[str, int] = {}
    for support in decision.support:
        passage = passages.get(support.chunk_id)
        item = support
        if passage is not None and passage.kind == "table-row":
            cell = _CELL_LABEL.match(support.label)
            if cell:
                item = replace(support, row=cell["row"], column=cell["column"])
        elif passage is not None and passage.kind in ("faq", "prose"):
            wider = whole_sentence(support.quote, passage)
            if wider != support.quote:
                candidate = replace(support, quote=wider)
                if verbatim(candidate, passage):
                    item = candidate
        key = normalise_ws(item.quote)
        # Two clauses of one sentence, or a sentence and the wider quote that holds it ("Start with the job, not the
        # model name." and "Start with the job, not the model name. If you have footage, ..."): shown once, the
        # wider, speaking for both.
        held = key if key in seen else next((k for k in seen if k in key or key in k), None)
        if held is not None:
            n = seen.pop(held)
            kept = out[n] if len(held) >= len(key) else item
            out[n] = replace(kept, stance=kept.stance if out[n].stance == item.stance else "none")
            seen[normalise_ws(out[n].quote)] = n
            continue
        seen[key] = len(out)
        out.append(item)
    return replace(decision, support=out)


def label_cells(citations: list[Citation], passages: dict[str, Passage]) -> list[Citation]:
    """Row and column for every quoted table cell, whichever generator quoted it."""
    out = []
    for citation in citations:
        passage = passages.get(citation.chunk_id)
        if passage is not None and passage.kind == "table-row" and not citation.row:
            quote = normalise_ws(citation.quote)
            for span in passage.spans:
                cell = _CELL_LABEL.match(span.label)
                if cell and normalise_ws(span.text) == quote:
                    citation = citation.model_copy(update={"row": cell["row"], "column": cell["column"]})
                    break
        out.append(citation)
    return out


def shown_in(text: str, quote: str) -> bool:
    """Is the quote already in the answer text? Then a sources list names where it is from, not the words again."""
    needle = normalise_ws(quote)
    return bool(needle) and needle in normalise_ws(text)


def place(citation: Citation) -> str:
    """Where a quote is from, for a reader: "FAQ", or "Comparison, Best starting point (Ray 3.2)" for a cell."""
    if citation.row and citation.column:
        return f"{citation.section}, {citation.row} ({citation.column})"
    return citation.section
