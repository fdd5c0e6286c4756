"""Pick the verbatim spans that support a decision, from the stances the corpus's spans were given at ingest.

The spans come ranked for the question (`spans.SpanIndex.ranked`). One model's answer quotes the nearest, then
those that add most, and the jobs its model serves; a sequence, the documents' prescriptions in order; a general
answer, the page's verdict and one condition for each model; a factual one, what answers it: a cell with the
sentence that says it at length, an item of the decision guide's lists with the rest of its list (or an FAQ answer
whole), both sides when it asks about both.
"""

from __future__ import annotations

import numpy as np

from assistant.deciders.named import models_meant, sections_named
from assistant.deciders.spans import IndexedSpan, SpanIndex, content_terms
from assistant.retrieve import lexical_tokens
from assistant.schema import Passage, Recommendation, Support

MIN_FACT_SIMILARITY = 0.35  # below this, no span answers a factual question: abstain rather than guess
FACT_MARGIN = 0.12  # a second quote for a factual answer must be nearly as relevant as the first
# How near the question a sentence must be to be quoted beside a table cell that answers a factual question. Chosen on
# dev (2026-12-05): quote dev set / the fresh factual dev set `facts3` (76) at 0.35, 0.5, 0.65, 0.8, 0.95: 143+40,
# 143+40, 143+40 (the best quote precision of the three), 142+39, 142+37; without it 142+37; evals/dev unchanged.
# Unseen eval-format sets 892 -> 893, against a bound of 893 set before measuring.
PROSE_BESIDE_CELL = 0.65
# How many passages an answer for one model quotes: the `MOST_RELEVANT` nearest the question, then, one at a time,
# the span with the best relevance plus `NEW_WORD_WEIGHT` for each content word no quote so far has said, so the
# documents' reasons come in ("relight a clip i already have": the FAQ's "...need swaps, relighting, new
# environments...") rather than another way of saying "you have a clip". Dev situations (`evals/dev/situations.yaml`,
# 118, each requiring the documents' words for why the model fits), fully right, the other dev sets unchanged
# throughout: the nearest 3 / 4 / 5: 65 / 73 / 80 (five nearest read as a wall of "you have a clip"); 2 nearest and 2
# that add most: 82 (83 once an FAQ's verdict came with its sentence, `quotes.py`); 2 and 3: 91. All four by what
# they add: 84, but then nearly the same quotes whatever was asked
# (23 new words outweigh any relevance). Weights 0.02 / 0.06, a cap of 8 or 10 words, their square root, rare words
# (IDF), maximal marginal relevance, one per kind of passage, lifting the row the row classifier names, discounting
# spans near every question (hubness): no better. Unseen eval-format sets, fully right: the ten older 648 (3 nearest)
# -> 652 (4) -> 653 (2+2) -> 657 (2+3); the two written after 2+2 was chosen (marketers, crew) 104 -> 109 -> 112 of
# 129, against a bound of 111 set before measuring; the frozen set's answer support 0.978 -> 0.981 (2026-12-05).
ONE_MODEL_QUOTES = 5
MOST_RELEVANT = 2
NEW_WORD_WEIGHT = 0.04
# The table row that names the jobs each model serves ("Relight, restyle, product swap, localization"; "Concept, first
# draft, scene generation"). A one-model answer quotes its model's cell too, when its five quotes do not have it: the
# documents' word for the job asked ("restyle" for "make it look like a watercolour", "product swap" for "the bottles
# show the old label") is often only there, and a cell of four words ranks low against long sentences. Dev situations
# 91 -> 103 of 118, the other dev sets unchanged; as the third quote with two covering ones after it 97, replacing the
# fifth 99, the cell of the row the row classifier names 95, a sixth quote chosen by `_covering` instead 92. Unseen
# eval-format sets, fully right: 880 -> 888 of 969 against a bound of 883 set before measuring (2026-12-05).
JOBS_ROW = "Production use"
PRESCRIPTIVE = ("guide", "faq")  # passage kinds that tell the reader what to do, not only describe the models
MODEL_TERMS = frozenset(lexical_tokens("Ray 3, Ray 3.2"))


def pick_support(label: Recommendation, index: SpanIndex, query: np.ndarray, question: str,
                 retrieved: list[Passage], both_sides: bool = False,
                 row: dict[str, float] | None = None, context: str = "") -> list[IndexedSpan]:
    """The spans to quote for `label`; none when no span is even near a factual question (`MIN_FACT_SIMILARITY`).
    `row` is the table row a factual or general question asks about, if any (`RowModel.asked`); `context`, the turns
    before it (`inputs.context_of`): a follow-up that names no model asks about the one its last user turn named,
    or else the one the last answer recommended.

    Whether the documents cover a question is the decider's call (its "abstain" class), not word overlap: an
    unsure factual reading used to need half the question's words in its best spans, and that check refused
    only answerable questions (27 of 27 times on the writer rounds and eval-format sets, 2026-12-04): other
    languages, shorthand ("v2v or t2v"), "what would you say the older one is best at?". (On round 5, with
    the decider then installed, it had also caught 4 uncovered questions; with today's, it caught none.)
    """
    terms = content_terms(question)
    ranks = {p.chunk_id: i for i, p in enumerate(retrieved)}
    if label in ("ray-3.2", "ray-3"):
        ranked_one = index.ranked(query, terms, ranks, stance=label)
        chosen = _covering(ranked_one, _diverse(ranked_one, MOST_RELEVANT), ONE_MODEL_QUOTES)
        return chosen + [job for job in _jobs(index, label) if job not in chosen]
    if label == "ray-3-then-ray-3.2":
        # The documents' prescriptions (the decision guide's lists, the FAQ's answers) say how to use the two in
        # turn; a prose sentence that names both ("Ray 3 and Ray 3.2 are not interchangeable") only compares them.
        # A list's title ("Use both in sequence") is no step: the steps are quoted, up to the guide's three in its
        # order, beside the FAQ's answer. With its title and two spans of a passage, "brainstorm first, then French
        # and Spanish versions" was answered with the title and "Pick the strongest take" alone. Chosen for how it
        # reads: no dev or unseen case moved; the frozen set's answer support 0.981 -> 0.982 (2026-12-05).
        both = index.ranked(query, terms, ranks, stance="both")
        prescribed = [(score, item) for score, item in both
                      if item.passage.kind in PRESCRIPTIVE and item.span.text != item.passage.heading]
        steps = _in_list_order(_diverse(prescribed, 4, per_chunk=3) or _diverse(both, 3, per_chunk=2))
        # And what the Ray 3.2 step is for, in its own words ("...end with product swaps for 4 flavours": "Relight,
        # restyle, product swap, localization"): dev situations 73 -> 76 of 118, the other dev sets and the unseen
        # eval-format sets unchanged (2026-12-05).
        used = {item.passage.chunk_id for item in steps}
        change = [(score, item) for score, item in index.ranked(query, terms, ranks, stance="ray-3.2")
                  if item.passage.chunk_id not in used]
        return steps + _diverse(change, 1)
    if label == "depends":
        paired = _paired(index.ranked(query, terms, ranks, row=row), factual=False)
        return _general_verdict(index) + paired if paired else []
    # A factual question is ranked by what it asks about, its words without the models' names (they pick the
    # side, by stance): "how is control handled in Ray 3.2 compared with Ray 3?" is the Control style row, not
    # a sentence that names both models and says "control" in passing.
    subject, row = terms - MODEL_TERMS, row or {}
    # "According to the FAQ, ..." is answered from the FAQ, and no table row is lifted for it (`_from_sections`).
    sections = sections_named(question)
    row = row if not sections or "Comparison" in sections else {}
    if both_sides:
        # one ranking serves both ways of answering
        ranked_all = _from_sections(index.ranked(query, subject, ranks, row=row), sections)
        return _together(index, ranked_all) or _paired(ranked_all, factual=True)
    # "what does Ray 3.2 keep?" is answered from Ray 3.2's side, and so is "what kinds of adherence?" after "how is
    # Ray 3.2 steered?", and "what does it hold on to?" after an answer that recommended Ray 3.2.
    named = models_meant(question, context)
    ranked = [(score, item) for score, item in index.ranked(query, subject, ranks, row=row)
              if _informative(item) and (len(named) != 1 or item.span.stance in named)]
    ranked = _from_sections(ranked, sections)
    if not ranked or ranked[0][0] < MIN_FACT_SIMILARITY:
        return []
    best = ranked[0][0]
    if not named and ranked[0][1].passage.kind == "table-row":
        # It names neither model ("which one keeps the clip's timing, and what about the other?"): the row's
        # two cells answer it, each with its column, rather than one cell that hides the comparison.
        cells = ranked[0][1].passage.chunk_id
        return [item for item in index.items if item.passage.chunk_id == cells][:2]
    chosen = _diverse([(score, item) for score, item in ranked if score >= best - FACT_MARGIN], 2)
    # The cell of the row asked about, with the sentence that says it at length, when the documents have one: "what
    # control tools does 3.2 give you?" is answered by "Keyframes, adherence, locks" and the FAQ's full list.
    at_length = index.elaborations.get(id(chosen[0])) if chosen and row.get(chosen[0].passage.heading) else None
    if at_length is None and chosen and chosen[0].passage.kind == "guide":
        return _whole_list(index, chosen[0]) or chosen
    if at_length is None and chosen and chosen[0].passage.kind == "faq" and not named:
        # An FAQ answer is two or three sentences, each one side of it: "what does the guide tell first-timers to
        # start with?" is answered by all of "Start with the job... If you have footage... If you only have an
        # idea...", not its Ray 3 sentence alone. Not when one model is asked about: its side answers. Dev factual
        # 50 -> 52 of 58, the other dev sets and the quote dev set (142 of 148) unchanged (2026-12-05).
        whole = _whole_list(index, chosen[0])
        return whole
    if at_length is None and chosen and chosen[0].passage.kind == "table-row":
        # A cell of a few words, lifted by the row it answers, leaves every sentence outside `FACT_MARGIN`: "in what
        # situation is Ray 3.2 at its strongest, per the intro?" got "Video-to-video transformation" alone. The
        # nearest sentence comes too, when near enough (`PROSE_BESIDE_CELL`).
        prose = [item for score, item in ranked if item.passage.kind != "table-row" and score >= PROSE_BESIDE_CELL]
        return chosen + [item for item in prose[:1] if item not in chosen]
    return [chosen[0], at_length] if at_length is not None else chosen


def _from_sections(ranked: list[tuple[float, IndexedSpan]], sections: set[str]) -> list[tuple[float, IndexedSpan]]:
    """Only the spans of the parts of the documents a factual question names as its source, when one of them is near
    enough to answer it (else all): "per the decision guide's quick rule, what points to Ray 3?" is its "Start from
    the asset you have...", not the table's Best starting point. A bare "guide" is not such a name: people call the
    whole page that ("what does the guide tell first-timers?" is the FAQ's). Fresh factual dev set 41 -> 42 of 76;
    with "guide" as a name, 43 but evals/dev factual 52 -> 49; the other dev sets and the quote dev set unchanged."""
    kept = [(score, item) for score, item in ranked if item.passage.section in sections]
    return kept if kept and kept[0][0] >= MIN_FACT_SIMILARITY else ranked


def _general_verdict(index: SpanIndex) -> list[IndexedSpan]:
    """The page's own general answer, which a general (`depends`) answer opens with: its first prose sentence on the
    two models that is no title ("Ray 3 and Ray 3.2 are not interchangeable."), with the next sentence when that one
    names neither model and so goes on with it ("The practical difference is simple: one is better for inventing a
    shot, the other is better for transforming a shot you already have."). Dev situations 103 -> 105 of 118, the
    other dev sets unchanged; the first sentence alone 104, after the two conditions 104 (2026-12-05)."""
    first = next((i for i in index.items if i.passage.kind == "prose" and i.span.stance == "both" and i.evidence
                  and i.span.text != i.passage.heading), None)
    return _continued(index, first) if first is not None else []


def _continued(index: SpanIndex, item: IndexedSpan) -> list[IndexedSpan]:
    """`item`, with the next sentence of its passage when that one names neither model and so goes on with it."""
    spans = [i for i in index.items if i.passage.chunk_id == item.passage.chunk_id and i.evidence]
    after = spans[spans.index(item) + 1:][:1]
    return [item] + [i for i in after if i.span.stance not in ("ray-3.2", "ray-3", "both")]


def _jobs(index: SpanIndex, stance: str) -> list[IndexedSpan]:
    """The `JOBS_ROW` cell of one model's column ([] if the table has no such row)."""
    return [i for i in index.items if i.passage.kind == "table-row" and i.passage.heading == JOBS_ROW
            and i.span.stance == stance and i.evidence][:1]


def _whole_list(index: SpanIndex, item: IndexedSpan) -> list[IndexedSpan]:
    """Every item of the decision guide's list (or sentence of the FAQ answer) that `item` is from, in order: one
    sign alone does not answer "what signs does the guide list for Ray 3.2?". Quote dev set 141 -> 142 of 148;
    evals/dev unchanged (2026-12-05)."""
    return [i for i in index.items if i.passage.chunk_id == item.passage.chunk_id and i.evidence
            and i.span.text != i.passage.heading]


def _paired(ranked: list[tuple[float, IndexedSpan]], factual: bool) -> list[IndexedSpan]:
    """One span for each model, best from the same passage: a row, or a sentence that states both conditions.
    `ranked` is every span, best first (`SpanIndex.ranked`)."""
    best_32 = [si for si in ranked if si[1].span.stance == "ray-3.2" and _informative(si[1])]
    best_3 = [si for si in ranked if si[1].span.stance == "ray-3" and _informative(si[1])]
    if not best_32 or not best_3 or (factual and max(best_32[0][0], best_3[0][0]) < MIN_FACT_SIMILARITY):
        return []
    pairs = [(a[0] + b[0], a[1], b[1]) for a in best_32[:12] for b in best_3[:12]
             if a[1].passage.chunk_id == b[1].passage.chunk_id]
    if pairs:
        _, a, b = max(pairs, key=lambda t: t[0])
        return [a, b]
    return [best_32[0][1], best_3[0][1]]


def _together(index: SpanIndex, ranked: list[tuple[float, IndexedSpan]]) -> list[IndexedSpan]:
    """A question about both models that asks how they work together ("in the combined workflow, what does Ray 3.2
    do after Ray 3?") is answered by the documents' sentence on the two in turn, when it ranks above every sentence
    about one model; otherwise [] (one side each, `_paired`). Quote dev set, tune half: 63 -> 64 of 68 (2026-12-04).
    So is one about the two as a pair ("are they interchangeable, per the page?"): the page's sentence on both, with
    the one that goes on with it (`_continued`). Fresh factual dev set 42 -> 43 of 76; no other dev answer changed."""
    ranked = [(score, item) for score, item in ranked if _informative(item)]
    best_side = next((score for score, item in ranked if item.span.stance in ("ray-3.2", "ray-3")), None)
    best_both = next(((score, item) for score, item in ranked
                      if item.span.stance == "both" and item.passage.kind in (*PRESCRIPTIVE, "prose")), None)
    if best_both is None or best_side is None or best_both[0] < max(best_side, MIN_FACT_SIMILARITY):
        return []
    return _continued(index, best_both[1]) if best_both[1].passage.kind == "prose" else [best_both[1]]


def _explains(item: IndexedSpan) -> bool:
    """A table cell, or a span of three words or more: "Ray 3.2." or "Yes." alone explains nothing."""
    return len(item.span.text.split()) >= 3 or item.passage.kind == "table-row"


def _informative(item: IndexedSpan) -> bool:
    return _explains(item) and item.span.text != item.passage.heading


def _diverse(ranked: list[tuple[float, IndexedSpan]], n: int, per_chunk: int = 1) -> list[IndexedSpan]:
    chosen: list[IndexedSpan] = []
    used: dict[str, int] = {}
    for _, item in ranked:
        if not _explains(item):
            continue
        if used.get(item.passage.chunk_id, 0) >= per_chunk:
            continue
        chosen.append(item)
        used[item.passage.chunk_id] = used.get(item.passage.chunk_id, 0) + 1
        if len(chosen) == n:
            break
    return chosen


def _covering(ranked: list[tuple[float, IndexedSpan]], chosen: list[IndexedSpan], n: int) -> list[IndexedSpan]:
    """`chosen`, then up to `n` in all, each the span (of a passage not yet quoted) with the best relevance plus
    `NEW_WORD_WEIGHT` for each content word the quotes so far do not have."""
    chosen = list(chosen)
    said = set().union(*(item.terms for item in chosen))
    used = {item.passage.chunk_id for item in chosen}
    pool = [(score, item) for score, item in ranked if _explains(item)]
    while len(chosen) < n:
        left = [(score + NEW_WORD_WEIGHT * len(item.terms - said), item) for score, item in pool
                if item.passage.chunk_id not in used]
        if not left:
            break
        best = max(left, key=lambda si: si[0])[1]
        chosen.append(best)
        said |= best.terms
        used.add(best.passage.chunk_id)
    return chosen


def _in_list_order(items: list[IndexedSpan]) -> list[IndexedSpan]:
    """Steps quoted from one list read in the list's order ("Generate..." before "Transform..."); passages keep
    the order they were chosen in."""
    first = {id(i.passage): n for n, i in reversed(list(enumerate(items)))}
    return sorted(items, key=lambda i: (first[id(i.passage)], i.passage.spans.index(i.span)))


def to_support(items: list[IndexedSpan]) -> list[Support]:
    return [Support(quote=i.span.text, chunk_id=i.passage.chunk_id, source=i.passage.sources[0],
                    section=i.passage.section, label=i.span.label, stance=i.span.stance) for i in items]
