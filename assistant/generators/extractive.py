"""The default generator: the answer is composed only of the documents' own sentences.

Verdict first, then why (each supporting sentence quoted verbatim with its citation number); for a
conditional answer, each condition with its model. Nothing is written that the documents do not say (an answer
about one item of the user's list names it, in their own words, before the verdict).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.schema import Citation, Decision, Draft, Passage, Support

VERDICT = {
    "ray-3.2": "Use **Ray 3.2**.",
    "ray-3": "Use **Ray 3**.",
    "ray-3-then-ray-3.2": "Use **both in sequence**: explore with **Ray 3**, then transform with **Ray 3.2**.",
    "depends": "**It depends** on what you start from: **Ray 3.2** for footage you already have, "
               "**Ray 3** for a shot you are still inventing.",
    "none": "Here is what Luma's documents say:",
}
# Before the verdict when the turn only added a detail or questioned the recommendation (`Decision.carried`), so the
# user sees it was read. The push-back line retells the FAQ's "Start with the job, not the model name."
CARRIED = {"depends": "That detail doesn't settle it yet."}
CARRIED_DEFAULT = "That detail doesn't change the recommendation."
PUSHBACK = "The recommendation stands: it follows the job you described, not the model's name."
WHY = {
    "ray-3.2": "Why, in Luma's words:",
    "ray-3": "Why, in Luma's words:",
    "ray-3-then-ray-3.2": "Luma's documents describe this workflow:",
    "depends": "Luma's documents give each condition:",
    "none": "",
}
CONDITION = {"ray-3.2": "**Ray 3.2**", "ray-3": "**Ray 3**"}


def abstention_text(decision: Decision) -> str:
    if decision.uncovered:
        topics = " or ".join(decision.uncovered)
        return (f"The documents don't say anything about {topics}, so I can't answer that without guessing. "
                "They only cover when to choose Ray 3 (inventing a new shot) and when to choose Ray 3.2 "
                "(transforming footage you already have).")
    return ("The documents don't cover that, so I can't answer it without guessing. I can only help you "
            "choose between Ray 3 and Ray 3.2 from Luma's comparison page and FAQ.")


def quote_line(support: Support, number: int, with_stance: bool) -> str:
    """The quote first, then where it is from: `- “...” [1] — *FAQ, “When should I choose Ray 3?”*`."""
    where = ""
    if support.row and support.column:  # a table cell: its row and column say what it means
        where = f"*{support.section} table, {support.row} ({support.column})*"
    elif support.label.endswith("?") and support.section == "FAQ":  # not the page's title, which asks one too
        where = f"*FAQ, “{support.label}”*"
    elif support.label and support.label != support.quote:
        where = f"*{support.section}, {support.label}*"  # e.g. "Decision guide, Use Ray 3 for invention"
    lead = ""
    if with_stance and support.stance in CONDITION:  # the general verdict before the conditions is none
        lead = f"For {CONDITION[support.stance]}: "
    return f"- {lead}“{support.quote}” [{number}]" + (f" — {where}" if where else "")


def compose(decision: Decision) -> tuple[str, list[Citation]]:
    if decision.abstain:
        return abstention_text(decision), []
    citations: list[Citation] = []
    verdict = VERDICT[decision.label]
    if decision.carried == "pushback":
        verdict = f"{PUSHBACK} {verdict}"
    elif decision.carried:
        verdict = f"{CARRIED.get(decision.label, CARRIED_DEFAULT)} {verdict}"
    if decision.about:  # the item of their list the user pointed at, in their words, so they see which was read
        verdict = f"For *{_shortened(decision.about)}*: {verdict}"
    lines = [verdict, ""]
    if WHY[decision.label]:
        lines.append(WHY[decision.label])
    for support in decision.support:
        citations.append(Citation(source=support.source, section=support.section, quote=support.quote,
                                  chunk_id=support.chunk_id, row=support.row, column=support.column))
        lines.append(quote_line(support, len(citations), with_stance=decision.label == "depends"))
    return "\n".join(lines).strip(), citations


def _shortened(text: str, limit: int = 80) -> str:
    """The user's words as plain text for the page (no markdown of theirs), cut at a word near `limit`."""
    text = " ".join(re.sub(r"[*_`#\[\]<>]", " ", text).split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


class ExtractiveGenerator:
    name = "extractive"

    def generate(self, question: str, passages: list[Passage], decision: Decision) -> Draft:
        text, citations = compose(decision)
        return Draft(answer=text, recommendation=decision.label, abstained=decision.abstain,
                     citations=citations, generator=self.name)

    def stream(self, question: str, passages: list[Passage], decision: Decision) -> Iterator[str | Draft]:
        draft = self.generate(question, passages, decision)
        yield from draft.answer.splitlines(keepends=True)
        yield draft
