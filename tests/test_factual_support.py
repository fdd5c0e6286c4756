"""Whether the documents cover a factual question is the decider's call; the quotes only need to be near it.

The model is scripted and the encoder hashes words (so "near" here means shared words), the spans are the
real corpus's: what is tested is how `LearnedDecider` and `pick_support` treat an unsure factual reading.
"""

from __future__ import annotations

import pytest

from assistant.deciders.learned import LearnedDecider
from assistant.deciders.support import SpanIndex
from tests.test_settled_followups import ScriptedModel, corpus_spans, turn


@pytest.fixture(scope="module")
def spans() -> SpanIndex:
    return corpus_spans()


@pytest.mark.parametrize("question", [
    "is Ray 3.2 text-to-video or video-to-video, in vfx terms?",  # most of its words are not the documents'
    "Was behält Ray 3.2 vom Originalclip? motion?",  # nor are another language's
])
def test_an_unsure_factual_reading_is_answered_from_the_nearest_spans(spans: SpanIndex, question: str) -> None:
    decision = LearnedDecider(ScriptedModel({2: ("none", 0.6)}), spans).decide(turn(2, question), [], [])
    assert (decision.label, decision.abstain) == ("none", False), decision.trace
    assert decision.support and all(s.stance == "ray-3.2" for s in decision.support)  # the side it names


def test_a_factual_reading_no_span_is_near_is_declined(spans: SpanIndex) -> None:
    query = turn(2, "how many moons does jupiter have?")
    decision = LearnedDecider(ScriptedModel({2: ("none", 0.99)}), spans).decide(query, [], [])
    assert decision.abstain and not decision.support and "no passage supports it" in decision.trace
