"""Every stance-bearing span of the corpus, embedded once when the assistant starts, and ranked for a question.

Every span has a stance (the table column, the guide list or the model a sentence names). Spans are ranked by
meaning (the question's embedding, reused from retrieval), by shared content words and by retrieval rank; for a
factual question (or a general one that surely names a row), the cells of the table row it asks about
(`rows.RowModel`) rank higher. Which of them an answer quotes is `support.pick_support`'s choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.retrieve import lexical_tokens
from assistant.schema import Passage, Span

# How much the row a factual question asks about (`RowModel.asked`: its probability) lifts its cells. Chosen on the
# quote dev set's tune half (`ingest/decider/data/quotes/`, never the frozen test set), 2026-12-04: right quotes of
# 68 at 0.5 / 1 / 2 / 4: 60 / 61 / 60 / 59 (the row's probability less the runner-up's, at 1: 61, precision lower).
ROW_WEIGHT = 1.0
# A table cell is quoted with the prose sentence of its model that says the same at length, when one shares at
# least this many of the cell's content words. Set from the documents, not from questions: at 3 five of the twelve
# cells get one, each restating its cell ("Keyframes, adherence, locks" -> "...keyframes, Motion adherence,
# Structure adherence, and locks..."; "Preserves source duration and motion" -> "...something worth keeping, such as
# timing, camera motion, actor performance, product placement, or edit duration."); at 2 the next ones pair a cell
# with a sentence on another subject ("Existing source clip" -> "...when the source take matters: timing...").
ELABORATION_TERMS = 3
_GENERIC = frozenset(lexical_tokens(
    "ray luma model models video which what when how does do is are use using choose pick better best "
    "should tell me about explain describe difference between vs versus one good work two both each them"))
_SIDE_BY_SIDE = re.compile(r"\b(?:vs\.?|versus)(?!\w)", re.IGNORECASE)


@dataclass
class IndexedSpan:
    span: Span
    passage: Passage
    vector: np.ndarray
    terms: frozenset[str]  # its content words, computed once rather than per question
    evidence: bool  # False for a question or a side-by-side title (`_asserts_nothing`), also computed once


class SpanIndex:
    """Every stance-bearing span of the corpus, embedded once when the assistant starts."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray) -> None:
        self.items: list[IndexedSpan] = []
        n = 0
        for passage in passages:
            for span in passage.spans:
                terms = frozenset(content_terms(span.text + " " + span.label))
                self.items.append(IndexedSpan(span, passage, vectors[n], terms, not _asserts_nothing(span, passage)))
                n += 1
        self.texts = {normalise_quote(i.span.text): i for i in self.items}
        self.elaborations = _elaborations(self.items)
        self._by_passage: dict[str, list[IndexedSpan]] = {}
        for item in self.items:
            self._by_passage.setdefault(item.passage.chunk_id, []).append(item)

    def of_passage(self, item: IndexedSpan) -> list[IndexedSpan]:
        """Every span of `item`'s passage, in the passage's order (a row's cells, a list's items, an FAQ answer's
        sentences)."""
        return self._by_passage[item.passage.chunk_id]

    @staticmethod
    def texts_of(passages: list[Passage]) -> list[str]:
        return [f"{s.label}: {s.text}" if s.label and s.label != s.text else s.text
                for p in passages for s in p.spans]

    def stance_of(self, quote: str) -> str | None:
        """The stance of the span a quote was taken from (a quote may be part of a span); none for a question
        or a title, which are no evidence."""
        needle = normalise_quote(quote)
        if not needle:
            return None
        exact = self.texts.get(needle)
        if exact is not None:
            return exact.span.stance if exact.evidence else None
        found = {i.span.stance for i in self.items if i.evidence and (
            needle in normalise_quote(i.span.text) or (len(needle) > 40 and normalise_quote(i.span.text) in needle))}
        return found.pop() if len(found) == 1 else ("mixed" if found else None)

    def ranked(self, query: np.ndarray, question_terms: set[str], retrieved: dict[str, int],
               stance: str | None = None, row: dict[str, float] | None = None) -> list[tuple[float, IndexedSpan]]:
        """Spans by meaning, shared content words and retrieval rank; with `row` (`RowModel.asked`), the cells of
        the table row a factual question asks about rank higher by how sure that is."""
        out = []
        for item in self.items:
            if stance is not None and item.span.stance != stance:
                continue
            if not item.evidence:
                continue
            score = float(np.dot(query, item.vector))
            score += 0.2 * len(question_terms & item.terms)
            if row and item.passage.kind == "table-row":
                score += ROW_WEIGHT * row.get(item.passage.heading, 0.0)
            rank = retrieved.get(item.passage.chunk_id)
            score += 0.08 / (1 + rank) if rank is not None else 0.0
            out.append((score, item))
        return sorted(out, key=lambda si: -si[0])


def _elaborations(items: list[IndexedSpan]) -> dict[int, IndexedSpan]:
    """For each table cell, the prose sentence of its model that says the same at length (shares at least
    `ELABORATION_TERMS` of its content words): "Keyframes, adherence, locks" -> the FAQ's "...keyframes, Motion
    adherence, Structure adherence, and locks...". Keyed by the cell's id."""
    out: dict[int, IndexedSpan] = {}
    prose = [i for i in items if i.passage.kind != "table-row" and i.evidence and len(i.span.text.split()) >= 3]
    for cell in items:
        if cell.passage.kind != "table-row" or not cell.evidence or cell.span.text == cell.passage.heading:
            continue
        words = content_terms(cell.span.text)
        shared = [(len(words & content_terms(p.span.text)), float(np.dot(cell.vector, p.vector)), n)
                  for n, p in enumerate(prose) if p.span.stance == cell.span.stance]
        if shared:
            k, _, n = max(shared)
            if k >= ELABORATION_TERMS:
                out[id(cell)] = prose[n]
    return out


def _asserts_nothing(span: Span, passage: Passage) -> bool:
    """A question (the FAQ's, the page's title) or a title that only sets the models side by side ("Ray 3.2 vs
    Ray 3 at a glance") states no case for either, so it is never quoted as evidence."""
    text = span.text.strip()
    heading = text == passage.heading
    return text.endswith("?") or (heading and (passage.kind == "faq" or bool(_SIDE_BY_SIDE.search(text))))


def normalise_quote(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .")


def content_terms(text: str) -> set[str]:
    return set(lexical_tokens(text)) - _GENERIC
