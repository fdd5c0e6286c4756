"""What a factual answer leads with when the question names it: a model's decision-guide list, when the question says
it read the guide, and the one span that holds two of the question's words word for word, as a table row named word
for word is (`RowModel.named_in`)."""

from __future__ import annotations

import re
from itertools import pairwise

from assistant.deciders.named import last_user_turn, models_meant, names_the_guide
from assistant.deciders.picking import informative, signs_of
from assistant.deciders.spans import IndexedSpan, SpanIndex, content_terms


def guide_list_asked(index: SpanIndex, chosen: list[IndexedSpan], question: str, context: str) -> list[IndexedSpan]:
    """A factual question on one model that says where it read ("what signs does the guide give for Ray 3?", "and the
    ray 3 list?" after a question on the guide) is answered by that model's decision-guide list first: what the guide
    says of one model is its list. The list is rarely the nearest span (its items are a few words each, and the FAQ's
    sentences on choosing rank above them): the answer was the Control style cell and the FAQ's "Choose Ray 3 when...".
    Found in evals/dev's right-label factual answers missing a term (about ten asked for one model's signs); written
    down with its bounds before measuring (2026-12-07, stop 51): evals/dev 1,026 -> 1,034 (8 fixed, none broken), the 83
    training-side eval-format sets 5,347 -> 5,353 (none broken), twenty unseen sets 1,255 both (no answer's score
    moved), quote dev 147 of 148 both, frozen 157 both."""
    named = models_meant(question, context)
    if not chosen or len(named) != 1 or not (names_the_guide(question) or names_the_guide(last_user_turn(context))):
        return chosen
    signs = signs_of(index, next(iter(named)))
    return signs + [item for item in chosen if item not in signs]


def term_quoted(index: SpanIndex, chosen: list[IndexedSpan], question: str) -> list[IndexedSpan]:
    """A factual question that says a term of the documents word for word, two content words that only one sentence
    or cell holds ("wat is structure adherence?": the FAQ's "...keyframes, Motion adherence, Structure adherence, and
    locks..."), is answered by that span first, as a table row named word for word is (`RowModel.named_in`). Any two
    content words count, terms or not ("stay close" is that sentence's too). The row classifier had read Continuity
    for that question. Written down with its bounds before measuring (2026-12-07, stop 51); a first version that read
    cells without their row's name put "Compare the two workflows by starting point, control style, ..." first for
    every question naming a row (quote dev precision 0.721 -> 0.677), so cells say their row's name (`_said_by`):
    evals/dev 1,037 -> 1,040, the 83 training-side sets +5, twenty-four unseen sets 1,501 -> 1,504 of 1,605 (none
    broken anywhere), quote dev 147 of 148 both (precision 0.721 -> 0.722), frozen 157 both (no answer changed)."""
    if not chosen:
        return chosen
    said = [(item, _said_by(item)) for item in index.items if item.evidence]  # once, not once for each pair
    found: list[IndexedSpan] = []
    for first, second in pairwise(re.findall(r"[a-z]+", question.lower())):  # in the question's order
        if not (content_terms(first) and content_terms(second)):
            continue
        pattern = re.compile(rf"\b{first}\s+{second}\b")
        holding = [item for item, text in said if pattern.search(text)]
        if len(holding) == 1 and holding[0] not in found:
            found.append(holding[0])
    return found + [item for item in chosen if item not in found]


def _said_by(item: IndexedSpan) -> str:
    """What a span says, lower-cased: a cell says its row's name too ("control style" is the Control style row's, not
    only the table's sentence "Compare the two workflows by starting point, control style, ...")."""
    row = item.passage.heading if item.passage.kind == "table-row" else ""
    return f"{row} {item.span.text}".lower()


def the_pairs_workflow(index: SpanIndex) -> list[IndexedSpan]:
    """The documents' prescription for using the two models in turn: the decision guide's "Use both in sequence" steps,
    then the FAQ's sentence that says them ("A practical workflow is to explore a shot direction with Ray 3, choose the
    take that feels closest, then use Ray 3.2 to transform, localize, relight, or refine source footage.")."""
    said = [item for item in index.items if item.evidence and item.span.stance == "both"
            and item.passage.kind == "faq" and informative(item)]
    return signs_of(index, "both") + said
