"""Decide the recommendation from what the documents say, and pick the verbatim spans that support it.

The label comes from the user's situation (cues.py) mapped onto the page's documented cases; the
support comes from the corpus itself: every span was given a stance at ingest (the table column, the
guide list or the model a sentence names), and spans are ranked by meaning (embeddings) and words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from assistant.cues import Signals, read_signals
from assistant.generators.base import Decision, Support
from assistant.retrieve import lexical_tokens
from assistant.schema import Passage, Recommendation, Span
from assistant.text import models_named

MIN_FACT_SIMILARITY = 0.35  # below this, no span answers a factual question: abstain rather than guess
HARD_TOPICS = ("other vendors' models",)  # never answered around: the page compares only its own two models
FACT_MARGIN = 0.12  # a second quote for a factual answer must be nearly as relevant as the first
_GENERIC = frozenset(lexical_tokens(
    "ray luma model models video which what when how does do is are use using choose pick better best "
    "should tell me about explain describe difference between vs versus one good work"))


@dataclass
class IndexedSpan:
    span: Span
    passage: Passage
    vector: np.ndarray
    terms: frozenset[str]  # its content words, computed once rather than per question


class SpanIndex:
    """Every stance-bearing span of the corpus, embedded once when the assistant starts."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray) -> None:
        self.items: list[IndexedSpan] = []
        row = 0
        for passage in passages:
            for span in passage.spans:
                terms = frozenset(content_terms(span.text + " " + span.label))
                self.items.append(IndexedSpan(span, passage, vectors[row], terms))
                row += 1

    @staticmethod
    def texts(passages: list[Passage]) -> list[str]:
        return [f"{s.label}: {s.text}" if s.label and s.label != s.text else s.text
                for p in passages for s in p.spans]

    def ranked(self, query: np.ndarray, question_terms: set[str], retrieved: dict[str, int],
               stance: str | None = None) -> list[tuple[float, IndexedSpan]]:
        out = []
        for item in self.items:
            if stance is not None and item.span.stance != stance:
                continue
            if item.span.text == item.passage.heading and item.passage.kind == "faq":
                continue  # the FAQ's question is not evidence for its answer
            score = float(np.dot(query, item.vector))
            score += 0.2 * len(question_terms & item.terms)
            rank = retrieved.get(item.passage.chunk_id)
            score += 0.08 / (1 + rank) if rank is not None else 0.0
            out.append((score, item))
        return sorted(out, key=lambda si: -si[0])


def content_terms(text: str) -> set[str]:
    return set(lexical_tokens(text)) - _GENERIC


def merge_follow_up(before: Signals, now: Signals) -> Signals:
    """A follow-up keeps the situation already described, unless it says the opposite about footage."""
    merged = replace(now, sequence=now.sequence + before.sequence)
    if now.no_footage and not now.footage:  # "what if I hadn't filmed it yet?"
        return merged
    if now.footage and not now.no_footage:  # "and if I already had footage?"
        return replace(merged, transform=now.transform + before.transform)
    return replace(merged, footage=now.footage + before.footage, no_footage=now.no_footage + before.no_footage,
                   transform=now.transform + before.transform, invent=now.invent + before.invent,
                   compare=now.compare if not before.situation else 0)


def choose_label(now: Signals, before: Signals | None) -> tuple[Recommendation, str]:
    """The documented case the user's words map to, and a short trace of why."""
    s = merge_follow_up(before, now) if before is not None else now
    if s.when_model:
        return s.when_model, "asks when to choose one model"  # type: ignore[return-value]
    if s.use_both:
        return "ray-3-then-ray-3.2", "asks about using both"
    if s.about_model and not s.sequence:
        return "none", "a factual question about a model"
    invent_side = s.invent + 2 * s.no_footage + (1 if "ray-3" in s.models else 0)
    transform_side = s.transform + (1 if "ray-3.2" in s.models else 0) + s.footage
    if s.sequence and invent_side and transform_side and (s.no_footage or s.invent or len(s.models) == 2):
        return "ray-3-then-ray-3.2", "explore first, then transform"
    if s.no_footage and not s.footage:
        return "ray-3", "no source footage"
    score_32 = 2 * s.footage + s.transform
    score_3 = 2 * s.no_footage + s.invent
    if score_32 > score_3:
        return "ray-3.2", f"existing footage / transformation ({score_32} vs {score_3})"
    if score_3 > score_32:
        return "ray-3", f"invention from prompt, image or idea ({score_3} vs {score_32})"
    if score_32:
        return "depends", "both situations described equally"
    if s.compare or len(s.models) == 2:
        return "depends", "general comparison: the page answers conditionally"
    return "none", "factual question"


def pick_support(label: Recommendation, index: SpanIndex, query: np.ndarray, question: str,
                 retrieved: list[Passage]) -> list[IndexedSpan]:
    terms = content_terms(question)
    ranks = {p.chunk_id: i for i, p in enumerate(retrieved)}
    if label in ("ray-3.2", "ray-3"):
        return _diverse(index.ranked(query, terms, ranks, stance=label), 3)
    if label == "ray-3-then-ray-3.2":
        return _diverse(index.ranked(query, terms, ranks, stance="both"), 3, per_chunk=2)
    if label == "depends":
        # The best single passage that speaks for both models states both conditions in one place.
        best_32 = index.ranked(query, terms, ranks, stance="ray-3.2")
        best_3 = index.ranked(query, terms, ranks, stance="ray-3")
        pairs = [(a[0] + b[0], a[1], b[1]) for a in best_32[:12] for b in best_3[:12]
                 if a[1].passage.chunk_id == b[1].passage.chunk_id]
        if pairs:
            _, a, b = max(pairs, key=lambda t: t[0])
            return [a, b]
        return [best_32[0][1], best_3[0][1]] if best_32 and best_3 else []
    named = models_named(question)
    ranked = [(score, item) for score, item in index.ranked(query, terms, ranks)
              if (len(item.span.text.split()) >= 3 or item.passage.kind == "table-row")
              and item.span.text != item.passage.heading
              and (len(named) != 1 or item.span.stance in named)]
    if not ranked or ranked[0][0] < MIN_FACT_SIMILARITY or (terms and not _covers(terms, ranked[:3])):
        return []
    best = ranked[0][0]
    return _diverse([(score, item) for score, item in ranked if score >= best - FACT_MARGIN], 2)


def _covers(terms: set[str], ranked: list[tuple[float, IndexedSpan]]) -> bool:
    """At least half of what the question asks about appears in the best spans."""
    found = set().union(*(i.terms for _, i in ranked))
    return len(terms & found) * 2 >= len(terms)


def _diverse(ranked: list[tuple[float, IndexedSpan]], n: int, per_chunk: int = 1) -> list[IndexedSpan]:
    chosen: list[IndexedSpan] = []
    used: dict[str, int] = {}
    for _, item in ranked:
        if len(item.span.text.split()) < 3 and item.passage.kind != "table-row":
            continue  # "Ray 3.2." or "Yes." alone explains nothing
        if used.get(item.passage.chunk_id, 0) >= per_chunk:
            continue
        chosen.append(item)
        used[item.passage.chunk_id] = used.get(item.passage.chunk_id, 0) + 1
        if len(chosen) == n:
            break
    return chosen


def to_support(items: list[IndexedSpan]) -> list[Support]:
    return [Support(quote=i.span.text, chunk_id=i.passage.chunk_id, source=i.passage.sources[0],
                    section=i.passage.section, label=i.span.label, stance=i.span.stance) for i in items]


def decide(question: str, history_text: str, index: SpanIndex, query: np.ndarray,
           retrieved: list[Passage], injected: bool = False) -> Decision:
    now = read_signals(question)
    before = read_signals(history_text) if history_text else None
    if not question.strip() or now.greeting:
        reason = "only instructions, no question" if injected else "no question about the models"
        return Decision("none", True, reason=reason)
    label, reason = choose_label(now, before)
    topics = now.uncovered
    hard = [t for t in topics if t in HARD_TOPICS]
    # Owning footage is not a need the page answers: "can Ray 3 add music to my video?" asks about audio.
    covered_need = now.transform or now.invent or now.no_footage or now.use_both or now.when_model
    if hard or (topics and not covered_need):
        return Decision("none", True, uncovered=topics, reason=f"not covered: {', '.join(topics)}")
    if not now.domain and not now.situation and not now.sequence and not (before and before.situation):
        return Decision("none", True, reason="not about choosing a video model")
    items = pick_support(label, index, query, question, retrieved)
    if not items:
        return Decision("none", True, uncovered=topics, reason="no passage answers it")
    return Decision(label, False, support=to_support(items), uncovered=topics, reason=reason)
