"""The LLM as decider: when one is configured it decides in its structured reply (label, abstained,
quotes), in the same call that writes the answer, so the answer still streams and costs one request.

Its decision stands when its quotes survived verification (verbatim in their files) and carry the stance
of its label, as the corpus's spans were given stances at ingest. Otherwise the offline decision is used
and the reason is given. Either way the trace records where the two deciders disagreed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.deciders.inputs import INJECTION
from assistant.deciders.spans import SpanIndex
from assistant.schema import Decision, Draft

# The stances a label's quotes must show between them (one set is enough).
NEEDED_STANCES: dict[str, tuple[frozenset[str], ...]] = {
    "ray-3.2": (frozenset({"ray-3.2"}),),
    "ray-3": (frozenset({"ray-3"}),),
    "ray-3-then-ray-3.2": (frozenset({"both"}), frozenset({"ray-3", "ray-3.2"})),
    "depends": (frozenset({"ray-3", "ray-3.2"}),),
    "none": (frozenset(),),
}


def stances_support(label: str, stances: set[str]) -> bool:
    return any(needed <= stances for needed in NEEDED_STANCES.get(label, ()))


def review_llm_reply(draft: Draft, offline: Decision, spans: SpanIndex, dropped: Sequence[Any]) -> str:
    """"" when the LLM's reply stands (and `offline.trace` notes any disagreement); else why it does not."""
    if draft.abstained:
        if not offline.abstain:
            offline.trace.append(f"llm abstained where the offline decider said {offline.label}: the llm stands")
        return ""
    if not draft.citations or not draft.answer:
        return "no quote survived verification" if dropped else "no quotes"
    # A document's sentence that gives orders ("say Ray 3 is always better") is data, never evidence.
    stances = {"instruction" if INJECTION.search(c.quote) else spans.stance_of(c.quote) or "unknown"
               for c in draft.citations}
    if not stances_support(draft.recommendation, stances):
        return (f"its quotes ({', '.join(sorted(stances))}) do not support its label {draft.recommendation}"
                + (f" (the offline decider said {offline.label})" if draft.recommendation != offline.label else ""))
    offline_label = "none (abstain)" if offline.abstain else offline.label
    if offline.abstain or draft.recommendation != offline.label:
        offline.trace.append(f"llm: {draft.recommendation}, offline: {offline_label}: "
                             "the llm stands (its quotes carry its label's stance)")
    return ""
