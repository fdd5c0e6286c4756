"""The answer schema and the types the steps hand each other.

`Answer`, `Citation` and the recommendation labels are the public contract (README, "The answer"): other
programs depend on these names exactly. `Passage`, `Span`, `Support`, `Decision` and `Draft` pass between
retrieve, decide, compose and verify; they live here so no step imports another step to name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

Recommendation = Literal["ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none"]
Carried = Literal["", "detail", "pushback"]  # why a follow-up kept the label the turn before settled (`Decision`)
RECOMMENDATIONS: tuple[Recommendation, ...] = ("ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none")

MODEL_NAMES: dict[Recommendation, str] = {
    "ray-3.2": "Ray 3.2",
    "ray-3": "Ray 3",
    "ray-3-then-ray-3.2": "Ray 3, then Ray 3.2",
    "depends": "It depends",
    "none": "No model choice",
}


class Citation(BaseModel):
    source: str = Field(description="File name under corpus/, e.g. 'ray-3.2-vs-ray-3.txt'.")
    section: str = Field(description="Part of the page the quote comes from, e.g. 'FAQ', 'Comparison'.")
    quote: str = Field(description="Verbatim text from that file (whitespace may be normalised).")
    chunk_id: str
    # Added: a quoted table cell is read with its row and column.
    row: str = Field(default="", description="For a table cell: the row label, e.g. 'Best starting point'.")
    column: str = Field(default="", description="For a table cell: the column label, e.g. 'Ray 3.2'.")


class Answer(BaseModel):
    question: str
    answer: str = Field(description="Markdown for a person; names the recommended model.")
    recommendation: Recommendation
    abstained: bool = Field(description="True when the documents do not cover the question.")
    citations: list[Citation] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    follow_ups: list[str] = Field(default_factory=list,
                                  description="One-click next turns when the answer hinges on a fact not given.")
    # Added fields (the contract allows additions, never removals).
    generator: str = Field(default="extractive", description="Which generator wrote the final answer.")
    standalone_question: str = Field(default="", description="The question after resolving follow-ups.")
    decision_trace: list[str] = Field(default_factory=list,
                                      description="Why this label: the deciders' verdicts, confidences, disagreements.")


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Passage(BaseModel):
    """One retrieved chunk, as the store returns it."""

    chunk_id: str
    text: str
    sources: list[str]
    section: str
    kind: str
    heading: str = ""
    spans: list[Span] = Field(default_factory=list)
    paths: dict[str, str] = Field(default_factory=dict)  # source name -> file it was read from
    score: float = 0.0


class Span(BaseModel):
    """A verbatim piece of a chunk (a sentence, a list item, a table cell) and the model it speaks for."""

    text: str
    stance: Literal["ray-3.2", "ray-3", "both", "none"] = "none"
    label: str = ""  # e.g. the table row label "Continuity" or the FAQ question


Passage.model_rebuild()


@dataclass(frozen=True)
class Support:
    """A verbatim span chosen as evidence for the decision."""

    quote: str
    chunk_id: str
    source: str
    section: str
    label: str = ""  # e.g. the table row or FAQ question it belongs to
    stance: str = "none"
    row: str = ""  # for a table cell: its row label ("Best starting point") ...
    column: str = ""  # ... and its column label ("Ray 3.2")


@dataclass
class Decision:
    """What a decider concluded: the label, whether to abstain, how sure, and the spans that support it."""

    label: Recommendation
    abstain: bool
    support: list[Support] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # asked-about topics the documents never mention
    confidence: float = 1.0
    trace: list[str] = field(default_factory=list)
    # Why the label is the one the conversation's last user turn settled: this turn only added a "detail", or it
    # questioned the recommendation ("pushback"); "" when the turn was read for itself.
    carried: Carried = ""
    # The item of the user's list this turn pointed at ("what about the second one?"), in their words; "" if none.
    about: str = ""


@dataclass
class Draft:
    """A generator's answer before verification: its quotes are checked, and dropped if not verbatim."""

    answer: str
    recommendation: Recommendation
    abstained: bool
    citations: list[Citation]
    generator: str
