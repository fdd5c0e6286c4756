"""The small choices every kind of answer makes among ranked spans: which explain anything, one per passage, one
for each model, a sentence with the one that goes on with it."""

from __future__ import annotations

from assistant.deciders.spans import IndexedSpan, SpanIndex

PRESCRIPTIVE = ("guide", "faq")  # passage kinds that tell the reader what to do, not only describe the models


def explains(item: IndexedSpan) -> bool:
    """A table cell, or a span of three words or more: "Ray 3.2." or "Yes." alone explains nothing."""
    return len(item.span.text.split()) >= 3 or item.passage.kind == "table-row"


def informative(item: IndexedSpan) -> bool:
    return explains(item) and item.span.text != item.passage.heading


def diverse(ranked: list[tuple[float, IndexedSpan]], n: int, per_chunk: int = 1) -> list[IndexedSpan]:
    chosen: list[IndexedSpan] = []
    used: dict[str, int] = {}
    for _, item in ranked:
        if not explains(item):
            continue
        if used.get(item.passage.chunk_id, 0) >= per_chunk:
            continue
        chosen.append(item)
        used[item.passage.chunk_id] = used.get(item.passage.chunk_id, 0) + 1
        if len(chosen) == n:
            break
    return chosen


def paired(ranked: list[tuple[float, IndexedSpan]], floor: float = 0.0) -> list[IndexedSpan]:
    """One span for each model, best from the same passage: a row, or a sentence that states both conditions.
    `ranked` is every span, best first (`SpanIndex.ranked`); none when neither side's best reaches `floor`."""
    best_32 = [si for si in ranked if si[1].span.stance == "ray-3.2" and informative(si[1])]
    best_3 = [si for si in ranked if si[1].span.stance == "ray-3" and informative(si[1])]
    if not best_32 or not best_3 or max(best_32[0][0], best_3[0][0]) < floor:
        return []
    pairs = [(a[0] + b[0], a[1], b[1]) for a in best_32[:12] for b in best_3[:12]
             if a[1].passage.chunk_id == b[1].passage.chunk_id]
    if pairs:
        _, a, b = max(pairs, key=lambda t: t[0])
        return [a, b]
    return [best_32[0][1], best_3[0][1]]


def continued(index: SpanIndex, item: IndexedSpan) -> list[IndexedSpan]:
    """`item`, with the next sentence of its passage when that one names neither model and so goes on with it."""
    spans = [i for i in index.of_passage(item) if i.evidence]
    after = spans[spans.index(item) + 1:][:1]
    return [item] + [i for i in after if i.span.stance not in ("ray-3.2", "ray-3", "both")]


def whole_list(index: SpanIndex, item: IndexedSpan) -> list[IndexedSpan]:
    """Every item of the decision guide's list (or sentence of the FAQ answer) that `item` is from, in order: one
    sign alone does not answer "what signs does the guide list for Ray 3.2?". Quote dev set 141 -> 142 of 148;
    evals/dev unchanged (2026-12-05)."""
    return [i for i in index.of_passage(item) if i.evidence and i.span.text != i.passage.heading]


def signs_of(index: SpanIndex, stance: str) -> list[IndexedSpan]:
    """The decision guide's list for one model (its items, in order), [] if it has none."""
    for item in index.items:
        if item.passage.kind == "guide" and item.span.stance == stance and item.span.text == item.passage.heading:
            items = whole_list(index, item)
            if len(items) > 1:
                return items
    return []


def opening_of(index: SpanIndex, sections: set[str]) -> list[IndexedSpan]:
    """What answers a factual question that names the one part of the documents it asks about, when no span is near
    enough to answer it (`facts.MIN_FACT_SIMILARITY`) though the decider read it as covered: that part's opening
    sentence that takes neither model's side, or its first, when each takes one ("which dimensions does the comparison
    table use to tell the pair apart?": "Compare the two workflows by starting point, control style, continuity...";
    "decision guide summed up in a sentence": its quick rule). The floor had declined it. [] for none or several parts.
    Written down with its bounds before measuring (2026-12-07, stop 52): evals/dev 1,039 -> 1,041 (none broken), the 83
    training-side sets and thirty-six unseen sets unchanged, quote dev 147 of 148 both, frozen 156 both."""
    if len(sections) != 1:
        return []
    prose = [item for item in index.items if item.passage.kind == "prose" and item.passage.section in sections
             and informative(item)]
    first = next(iter([item for item in prose if item.span.stance in ("none", "both")] or prose), None)
    return continued(index, first) if first is not None else []


def with_antecedents(index: SpanIndex, items: list[IndexedSpan]) -> list[IndexedSpan]:
    """`items`, each sentence that names neither model and goes on from one on both in its passage ("The practical
    difference is simple: one is better for inventing a shot, the other...") after that sentence ("Ray 3 and Ray 3.2
    are not interchangeable."): "one" and "the other" are its models. "are the two models basically swappable for each
    other?" got the second sentence alone. Written down with its bounds before measuring (2026-12-07, stop 52):
    evals/dev 1,045 both (no answer changed), the 83 training-side sets 5,373 -> 5,374 and thirty-six unseen sets
    2,267 -> 2,268 (2 and 1 answers changed, none broken), quote dev 147 of 148 both, frozen 156 both."""
    out: list[IndexedSpan] = []
    for item in items:
        if item.passage.kind == "prose" and item.span.stance == "none":
            spans = [i for i in index.of_passage(item) if i.evidence]
            before = spans[spans.index(item) - 1] if spans.index(item) > 0 else None
            if before is not None and before.span.stance == "both" and before not in items and before not in out:
                out.append(before)
        if item not in out:
            out.append(item)
    return out
