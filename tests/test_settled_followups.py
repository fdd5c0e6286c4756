"""A follow-up the learned decider reads unsurely (as "depends", uncovered or the other model), that pushes back, or
that read alone only adds a detail, keeps the situation the turn before it settled.

The models are scripted (the decider's probabilities and the detail classifier's are set per turn), the spans are
the real corpus's: what is tested is the rule in `LearnedDecider`, not what a trained model reads.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from assistant.deciders import Query
from assistant.deciders.followups import ALONE_FACTUAL, DETAIL_SURE, SETTLED, UNSURE
from assistant.deciders.inputs import CLASSES
from assistant.deciders.learned import LearnedDecider
from assistant.deciders.rows import OTHER, RowModel
from assistant.deciders.spans import SpanIndex
from assistant.fakes import HashingEncoder
from assistant.generators.extractive import compose
from assistant.schema import Decision
from tests.test_pipeline_unit import corpus_passages

ENCODER = HashingEncoder(dim=64)


class NoRow:
    """A row classifier that finds no table row in any question (the tests here are not about rows)."""

    as_row = staticmethod(RowModel.as_row)
    asked = RowModel.asked
    named_in = RowModel.named_in
    classes = (OTHER,)  # so no question names a row

    def reading(self, states: np.ndarray) -> tuple[str, float]:
        return OTHER, 1.0


class ScriptedDetails:
    """A detail classifier reading turn 3 (a follow-up read alone, `_decision`) as `detail`, any other as 0."""

    def __init__(self, detail: float) -> None:
        self.sure = detail

    def detail(self, states: np.ndarray) -> float:
        return self.sure if int(states[0, 0]) == 3 else 0.0


class ScriptedModel:
    """Class probabilities by turn: a turn's states carry its number, `readings` says what it reads as."""

    def __init__(self, readings: dict[int, tuple[str, float]], detail: float = 0.0) -> None:
        self.classes, self.readings, self.rows = list(CLASSES), readings, NoRow()
        self.details = ScriptedDetails(detail)

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        label, sure = self.readings[int(states[0, 0])]
        probs = np.full(len(CLASSES), (1.0 - sure) / (len(CLASSES) - 1))
        probs[CLASSES.index(label)] = sure
        return probs


def turn(number: int, text: str, earlier: Query | None = None, calls: list[int] | None = None) -> Query:
    """Turn `number` as the decider gets it: its states carry the number (`ScriptedModel` reads it), and asking
    for the turn before is recorded in `calls`."""

    def encode_earlier() -> Query | None:
        if calls is not None:
            calls.append(number)
        return earlier

    return Query(text, "", ENCODER.embed([text])[0], np.full((3, 4), float(number)),
                 earlier=encode_earlier if earlier is not None or calls is not None else None)


@functools.cache
def corpus_spans() -> SpanIndex:
    """The real corpus's spans, embedded by the hashing encoder; built once (the tests of
    `tests/test_factual_support.py` read them too)."""
    passages = corpus_passages()
    return SpanIndex(passages, ENCODER.embed(SpanIndex.texts_of(passages)))


@pytest.fixture(scope="module")
def spans() -> SpanIndex:
    return corpus_spans()


def _decision(spans: SpanIndex, follow_up: tuple[str, float], before: tuple[str, float] | None,
              calls: list[int] | None = None, reply: str | None = None,
              message: str = "it's for our newsletter, mostly parents",
              alone: tuple[str, float] | None = None, detail: float = 0.0) -> Decision:
    """Turn 2 after turn 1 (read as `before`); with `alone`, turn 2 read without the conversation (as turn 3), which
    the detail classifier reads as only a detail this surely (`detail`), and so is any part of it read alone."""
    model = ScriptedModel({1: before or ("depends", 0.5), 2: follow_up, 3: alone or ("abstain", 0.5)}, detail)
    earlier = turn(1, "Nothing is filmed yet, we only have an idea for a teaser. Which one?") if before else None
    query = turn(2, message, earlier, calls)
    if alone is not None:
        query = dataclasses.replace(query, alone=lambda: turn(3, message), read_with=lambda text, _: turn(3, text))
    history = [{"role": "user", "content": earlier.text}, {"role": "assistant", "content": reply}] \
        if earlier is not None and reply is not None else []
    return LearnedDecider(model, spans).decide(query, history, [])  # type: ignore[arg-type]


def _decide(spans: SpanIndex, follow_up: tuple[str, float], before: tuple[str, float] | None,
            calls: list[int] | None = None) -> tuple[str, bool, list[str]]:
    decision = _decision(spans, follow_up, before, calls)
    return decision.label, bool(decision.support), decision.trace


@pytest.mark.parametrize("reading", ["depends", "abstain", "ray-3.2"])
def test_an_unsure_reading_keeps_the_situation_the_turn_before_settled(spans: SpanIndex, reading: str) -> None:
    label, supported, trace = _decide(spans, (reading, UNSURE - 0.2), ("ray-3", SETTLED + 0.05))
    assert label == "ray-3" and supported  # quoted from Ray 3's side, as any Ray 3 answer is
    assert any("turn before settled it (ray-3" in line for line in trace)


def test_a_detail_read_unsurely_as_one_model_leaves_an_open_question_open(spans: SpanIndex) -> None:
    label, supported, trace = _decide(spans, ("ray-3", UNSURE - 0.2), ("depends", SETTLED + 0.05))
    assert label == "depends" and supported
    assert any("turn before settled it (depends" in line for line in trace)


@pytest.mark.parametrize(("follow_up", "before"), [
    (("depends", UNSURE + 0.1), ("ray-3", 0.99)),  # sure it is a general question: it is one
    (("abstain", UNSURE + 0.1), ("ray-3", 0.99)),  # sure it asks what the documents do not say ("and the price?")
    (("ray-3.2", UNSURE + 0.1), ("ray-3", 0.99)),  # sure the situation changed ("turns out we filmed it")
    (("none", 0.5), ("ray-3", 0.99)),  # a factual question asks something new
    (("ray-3-then-ray-3.2", 0.5), ("ray-3", 0.99)),  # so does the next step
    (("depends", 0.5), ("ray-3", SETTLED - 0.1)),  # the turn before was not sure either
    (("depends", 0.5), ("depends", 0.99)),  # the turn before left the fact open too
    (("ray-3", UNSURE + 0.1), ("depends", 0.99)),  # sure the answer settles it ("nothing is filmed yet")
    (("abstain", 0.5), ("none", 0.99)),  # a factual question settles no situation
    (("depends", 0.5), None),  # no turn before
])
def test_otherwise_the_reading_stands(spans: SpanIndex, follow_up: tuple[str, float],
                                      before: tuple[str, float] | None) -> None:
    label, _, trace = _decide(spans, follow_up, before)
    assert label == ("none" if follow_up[0] == "abstain" else follow_up[0])
    assert not any("turn before" in line for line in trace)


def test_the_turn_before_is_encoded_only_for_an_unsure_reading_that_may_defer(spans: SpanIndex) -> None:
    calls: list[int] = []
    _decide(spans, ("ray-3-then-ray-3.2", 0.6), ("ray-3", 0.99), calls)
    _decide(spans, ("none", 0.6), ("ray-3", 0.99), calls)
    _decide(spans, ("depends", 0.95), ("ray-3", 0.99), calls)
    assert calls == []
    _decide(spans, ("abstain", 0.6), ("ray-3", 0.99), calls)
    assert calls == [2]


def test_the_answer_says_the_detail_changed_nothing_only_when_it_did_not(spans: SpanIndex) -> None:
    kept, _ = compose(_decision(spans, ("abstain", UNSURE - 0.2), ("ray-3", SETTLED + 0.05)))
    assert kept.startswith("That detail doesn't change the recommendation. Use **Ray 3**.")
    still_open, _ = compose(_decision(spans, ("ray-3", UNSURE - 0.2), ("depends", SETTLED + 0.05)))
    assert still_open.startswith("That detail doesn't settle it yet. **It depends**")
    changed, _ = compose(_decision(spans, ("ray-3.2", UNSURE + 0.1), ("ray-3", SETTLED + 0.05)))
    assert changed.startswith("Use **Ray 3.2**.")


@pytest.mark.parametrize(("reply", "kept"), [
    ("Ray 3: you are inventing the teaser from an idea.", True),  # a recommendation, questioned
    ("Nice. Have you filmed any of it already, or is it only an idea?", False),  # asked: the message answers it
    ("Ray 3, as the FAQ says: \u201cWhich model should I use if I already have footage?\u201d", True),  # a quoted title
])
def test_push_back_is_no_answer_to_the_assistants_question(spans: SpanIndex, reply: str, kept: bool) -> None:
    decision = _decision(spans, ("depends", 0.97), ("ray-3", SETTLED + 0.05), reply=reply,
                         message="is Ray 3.2 always better, though?")
    assert decision.label == ("ray-3" if kept else "depends")
    assert (decision.carried == "pushback") == kept


@pytest.mark.parametrize("message", ["are you sure? my boss says Ray 3.2 is always better",
                                     "isn't the newer one better though?", "shouldn't we just use the other one?"])
def test_push_back_that_names_a_model_keeps_the_situation(spans: SpanIndex, message: str) -> None:
    decision = _decision(spans, ("depends", 0.97), ("ray-3", SETTLED + 0.05), message=message)
    assert decision.label == "ray-3" and decision.carried == "pushback"
    assert any("(pushback): the turn before settled it (ray-3" in line for line in decision.trace)
    text, _ = compose(decision)
    assert text.startswith("The recommendation stands: it follows the job you described, not the model's name. "
                           "Use **Ray 3**.")


@pytest.mark.parametrize(("message", "before"), [
    ("so which one is better in general?", ("ray-3", 0.99)),  # names no model: a general question
    ("is Ray 3.2 always better?", ("depends", 0.99)),  # no situation was settled: general it is
    ("is Ray 3.2 always better?", ("ray-3", SETTLED - 0.1)),  # the turn before was not sure of it
])
def test_a_sure_general_reading_stands_otherwise(spans: SpanIndex, message: str, before: tuple[str, float]) -> None:
    decision = _decision(spans, ("depends", 0.97), before, message=message)
    assert decision.label == "depends" and not decision.carried


@pytest.mark.parametrize(("reading", "before", "alone", "kept"), [
    ("ray-3.2", ("depends", SETTLED + 0.05), ("abstain", 0.9), True),  # "budget is 2k, due end of month"
    ("depends", ("ray-3", SETTLED + 0.05), ("abstain", 0.9), True),  # "my viewers are mostly kids"
    ("ray-3.2", ("ray-3", SETTLED + 0.05), ("abstain", 0.9), True),  # "investors will see it at demo day"
    ("ray-3.2", ("depends", SETTLED + 0.05), ("ray-3.2", 0.9), False),  # "yep, shot it last week": it answers
    ("depends", ("ray-3", SETTLED + 0.05), ("depends", 0.9), False),  # "separate question: which is better?"
    ("ray-3.2", ("depends", SETTLED - 0.1), ("abstain", 0.9), False),  # the turn before was not sure
])
def test_a_detail_that_changes_nothing_leaves_the_situation_as_it_was(spans: SpanIndex, reading: str,
                                                                       before: tuple[str, float],
                                                                       alone: tuple[str, float], kept: bool) -> None:
    decision = _decision(spans, (reading, 0.95), before, alone=alone, message="budget is 2k, due end of month")
    assert decision.label == (before[0] if kept else reading)
    assert decision.carried == ("detail" if kept else "")
    if kept:
        opening = "That detail doesn't settle it yet. **It depends**" if before[0] == "depends" else \
            "That detail doesn't change the recommendation. Use **Ray 3**."
        assert compose(decision)[0].startswith(opening)


@pytest.mark.parametrize(("reading", "before"), [
    (("ray-3.2", 0.97), ("ray-3", SETTLED + 0.05)),  # "the owner loves retro stuff, he's 60" after an idea
    (("abstain", 0.97), ("ray-3", SETTLED + 0.05)),  # "budget's about 5k all in"
    (("ray-3-then-ray-3.2", 0.9), ("ray-3", SETTLED + 0.05)),
    (("ray-3", 0.95), ("depends", SETTLED + 0.05)),  # "we want it warm, candlelight" while footage is still open
    (("depends", 0.95), ("ray-3.2", SETTLED + 0.05)),
])
def test_a_turn_read_alone_as_only_a_detail_keeps_what_the_turn_before_settled(
        spans: SpanIndex, reading: tuple[str, float], before: tuple[str, float]) -> None:
    # Read surely as something else with the conversation, and as a situation alone (so not as uncovered): only the
    # detail classifier keeps it.
    decision = _decision(spans, reading, before, alone=("ray-3.2", 0.97), detail=DETAIL_SURE + 0.05,
                         message="the owner loves retro stuff, he's 60")
    assert decision.label == before[0] and decision.carried == "detail"
    assert any(line.startswith("read alone, only a detail") for line in decision.trace)


@pytest.mark.parametrize(("detail", "before"), [
    (DETAIL_SURE - 0.1, ("ray-3", SETTLED + 0.05)),  # not sure it is only a detail: read for itself
    (DETAIL_SURE + 0.05, ("ray-3", SETTLED - 0.1)),  # the turn before settled nothing surely
    (DETAIL_SURE + 0.05, ("none", 0.99)),  # a factual answer settles no situation
])
def test_a_detail_keeps_only_a_situation_settled_surely(spans: SpanIndex, detail: float,
                                                         before: tuple[str, float]) -> None:
    decision = _decision(spans, ("ray-3.2", 0.97), before, alone=("ray-3.2", 0.97), detail=detail)
    assert decision.label == "ray-3.2" and not decision.carried


@pytest.mark.parametrize(("message", "reply"), [
    ("the owner loves retro stuff, is that a problem?", None),  # it asks something
    ("the owner loves retro stuff", "Nice. Have you filmed any of it yet?"),  # it answers the assistant's question
])
def test_a_question_or_an_answer_is_never_only_a_detail(spans: SpanIndex, message: str, reply: str | None) -> None:
    decision = _decision(spans, ("ray-3.2", 0.97), ("ray-3", SETTLED + 0.05), alone=("ray-3.2", 0.97),
                         detail=0.99, message=message, reply=reply)
    assert decision.label == "ray-3.2" and not decision.carried


@pytest.mark.parametrize(("message", "reply", "kept"), [
    # It states a detail, then asks only whether that changes the answer: the statement is what it adds.
    ("The owner loves retro stuff. Does that change anything?", None, True),
    ("It's for the Friday assembly, mostly Year 9s. Same answer?", None, True),
    # It asks before it states: a question of its own.
    ("Is that a problem? The owner loves retro stuff.", None, False),
    # It answers the assistant's question: never only a detail, whatever it asks after.
    ("The owner loves retro stuff. Is that what you meant?", "Nice. Have you filmed any of it yet?", False),
])
def test_a_detail_then_whether_it_changes_the_answer_keeps_it(spans: SpanIndex, message: str, reply: str | None,
                                                               kept: bool) -> None:
    decision = _decision(spans, ("depends", 0.95), ("ray-3", SETTLED + 0.05), alone=("depends", 0.95),
                         detail=DETAIL_SURE + 0.05, message=message, reply=reply)
    assert decision.label == ("ray-3" if kept else "depends")
    assert decision.carried == ("detail" if kept else "")


@pytest.mark.parametrize(("reading", "alone", "label"), [
    # Read with the conversation as Ray 3.2, with 2% left to a fact; read alone, it asks one.
    (("ray-3.2", 0.9), ("none", ALONE_FACTUAL + 0.1), "none"),
    (("ray-3.2", 0.9), ("none", ALONE_FACTUAL - 0.1), "ray-3.2"),  # not surely, alone
    (("ray-3.2", 0.97), ("none", 0.95), "ray-3.2"),  # the conversation's reading leaves no room for a fact
    # Read as the sequence, it asks about the sequence ("what are the steps again, in order?").
    (("ray-3-then-ray-3.2", 0.9), ("none", 0.95), "ray-3-then-ray-3.2"),
])
def test_a_follow_up_that_read_alone_asks_a_fact_is_answered_as_one(spans: SpanIndex, reading: tuple[str, float],
                                                                     alone: tuple[str, float], label: str) -> None:
    decision = _decision(spans, reading, None, message="control style = ?", alone=alone)
    assert decision.label == label, decision.trace
    assert decision.support and not decision.abstain
