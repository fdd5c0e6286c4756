"""Whether the documents cover a factual question is the decider's call; the quotes only need to be near it.

The model is scripted and the encoder hashes words (so "near" here means shared words), the spans are the
real corpus's: what is tested is how `LearnedDecider` and `pick_support` treat an unsure factual reading, and
when a general question is answered from the table row it names.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.deciders.learned import SURE_ROW, LearnedDecider
from assistant.deciders.rows import OTHER, RowModel
from assistant.deciders.spans import SpanIndex
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


def test_a_question_on_both_that_neither_side_answers_is_answered_by_a_sentence_on_neither(spans: SpanIndex) -> None:
    # No cell or sentence of either model is near it; the table's own sentence, which names neither, is.
    quotes = _factual_answer(spans, OTHER, "what do both models get compared by?")
    assert quotes == ["Compare the two workflows by starting point, control style, continuity, and the output goal "
                      "each model serves best."], quotes


def test_a_factual_reading_no_span_is_near_is_declined(spans: SpanIndex) -> None:
    query = turn(2, "how many moons does jupiter have?")
    decision = LearnedDecider(ScriptedModel({2: ("none", 0.99)}), spans).decide(query, [], [])
    assert decision.abstain and not decision.support and "no passage supports it" in decision.trace


class OneRow:
    """A row classifier that reads every question as asking about one row, this surely."""

    as_row = staticmethod(RowModel.as_row)
    asked = RowModel.asked
    named_in = RowModel.named_in

    def __init__(self, row: str, sure: float) -> None:
        self.row, self.sure = row, sure
        self.classes = [row, OTHER]

    def reading(self, states: np.ndarray) -> tuple[str, float]:
        return self.row, self.sure


@pytest.mark.parametrize(("sure", "from_the_row"), [(SURE_ROW + 0.05, True), (SURE_ROW - 0.2, False)])
def test_a_general_question_is_answered_from_a_row_only_when_it_surely_names_one(spans: SpanIndex, sure: float,
                                                                                  from_the_row: bool) -> None:
    model = ScriptedModel({2: ("depends", 0.95)})
    model.rows = OneRow("Production use", sure)  # type: ignore[assignment]
    decision = LearnedDecider(model, spans).decide(turn(2, "production work: Ray 3 or Ray 3.2?"), [], [])
    assert decision.label == "depends"
    cells = {s.label for s in decision.support if s.label.startswith("Production use (")}
    assert (cells == {"Production use (Ray 3.2)", "Production use (Ray 3)"}) is from_the_row, decision.support


def test_a_general_answer_gives_each_condition_from_two_passages(spans: SpanIndex) -> None:
    # One pair (a row's two cells, or an FAQ answer's two sentences) is one way the documents state the condition;
    # the next pair, from another passage, is a second, in other words (here the FAQ's answer on product marketing,
    # then the Production use row).
    decision = LearnedDecider(ScriptedModel({2: ("depends", 0.95)}), spans).decide(
        turn(2, "which one should our studio use for its videos?"), [], [])
    conditions = [s for s in decision.support if s.stance in ("ray-3.2", "ray-3")]
    assert decision.label == "depends" and len(conditions) == 4, decision.support
    assert {s.stance for s in conditions[:2]} == {s.stance for s in conditions[2:]} == {"ray-3.2", "ray-3"}
    first, second = ({s.chunk_id for s in pair} for pair in (conditions[:2], conditions[2:]))
    assert len(first) == len(second) == 1 and first != second, conditions


def test_a_sequence_answer_quotes_the_jobs_ray_3_2_does_at_its_end(spans: SpanIndex) -> None:
    # The steps say "Transform and localize"; the jobs row names the rest ("Relight, restyle, product swap...").
    decision = LearnedDecider(ScriptedModel({2: ("ray-3-then-ray-3.2", 0.95)}), spans).decide(
        turn(2, "nothing shot yet: try some looks, then give the winner a new colour grade"), [], [])
    assert decision.label == "ray-3-then-ray-3.2"
    assert "Production use (Ray 3.2)" in [s.label for s in decision.support], decision.support


def _factual_answer(spans: SpanIndex, row: str, question: str) -> list[str]:
    model = ScriptedModel({2: ("none", 0.95)})
    model.rows = OneRow(row, 0.95)  # type: ignore[assignment]
    decision = LearnedDecider(model, spans).decide(turn(2, question), [], [])
    assert (decision.label, decision.abstain) == ("none", False), decision.trace
    return [s.quote for s in decision.support]


def test_a_cell_is_quoted_with_the_sentence_nearest_the_question_when_that_is_not_its_own(spans: SpanIndex) -> None:
    # The Continuity row answers it, with its cell's own sentence at length ("...worth keeping, such as timing...");
    # but how the result stays close to the original is what the FAQ's sentence on keyframes, adherence and locks
    # says, and it ranks above the cell's own sentence, so it is quoted too.
    # (It says "stay close" as that sentence does, and no other span does, so that sentence comes first.)
    quotes = _factual_answer(spans, "Continuity", "how does Ray 3.2 stay close to the original?")
    assert "Preserves source duration and motion" in quotes
    assert any("worth keeping" in q for q in quotes) and any("Motion adherence" in q for q in quotes), quotes


def test_a_cell_whose_own_sentence_is_the_nearest_is_quoted_with_it_alone(spans: SpanIndex) -> None:
    quotes = _factual_answer(spans, "Continuity", "does Ray 3.2 keep the timing?")
    assert len(quotes) == 2 and quotes[0] == "Preserves source duration and motion", quotes
    assert "worth keeping" in quotes[1]


def test_both_sides_of_the_row_asked_are_quoted_with_what_each_cell_says_at_length(spans: SpanIndex) -> None:
    # Ray 3.2's "Keyframes, adherence, locks" names no adherence setting; the FAQ's sentence on it names both. A
    # question on Ray 3.2 alone got that sentence; one on both models got the two cells only.
    quotes = _factual_answer(spans, "Control style", "how do the two differ in control style?")
    assert quotes[:2] == ["Keyframes, adherence, locks", "Prompt-led creative direction"], quotes
    assert any("Motion adherence, Structure adherence" in q for q in quotes), quotes


def test_both_sides_of_a_row_not_asked_come_without_sentences(spans: SpanIndex) -> None:
    model = ScriptedModel({2: ("none", 0.95)})
    model.rows = OneRow(OTHER, 0.95)  # type: ignore[assignment]  # no row is asked: the cells are only the nearest
    decision = LearnedDecider(model, spans).decide(turn(2, "how do the two differ in how you control them?"), [], [])
    quotes = [s.quote for s in decision.support]
    assert quotes == ["Keyframes, adherence, locks", "Prompt-led creative direction"], quotes


def test_a_term_of_the_documents_said_word_for_word_is_answered_by_the_one_span_that_holds_it(spans: SpanIndex) -> None:
    # The row classifier may read another row (here Continuity); "structure adherence" is only in the FAQ's sentence.
    quotes = _factual_answer(spans, "Continuity", "wat is structure adherence")
    assert "Structure adherence" in quotes[0], quotes


def test_a_row_named_word_for_word_is_held_by_its_cells_not_only_by_the_tables_sentence(spans: SpanIndex) -> None:
    # "control style" is also in "Compare the two workflows by starting point, control style, ...", which answers
    # nothing about Ray 3's control: the cells say it too, by their row's name, so no one span holds it.
    quotes = _factual_answer(spans, "Control style", "what is Ray 3's control style?")
    assert quotes[0] == "Prompt-led creative direction", quotes


RAY_3_SIGNS = ["No source clip exists", "The scene direction is still open", "You need broad creative exploration"]


def test_a_factual_answer_on_one_model_from_the_guide_quotes_that_models_list(spans: SpanIndex) -> None:
    # Its words are the quick rule's ("...points toward Ray 3"), which ranks first; the signs it asks for are the
    # guide's list for Ray 3, which the quick rule alone leaves out.
    # (It does not say "guide": one that does is answered by the list first, below.)
    quotes = _factual_answer(spans, OTHER, "what in the quick rule points toward Ray 3?")
    assert "points toward Ray 3" in quotes[0], quotes
    assert [q for q in quotes if q in RAY_3_SIGNS] == RAY_3_SIGNS, quotes


def test_a_factual_question_on_one_model_that_names_the_guide_is_answered_by_its_list_first(spans: SpanIndex) -> None:
    # The list's items are a few words each and rank below the FAQ's sentences on choosing Ray 3.
    quotes = _factual_answer(spans, OTHER, "what signs does the guide give for Ray 3?")
    assert quotes[:3] == RAY_3_SIGNS, quotes


def test_a_follow_up_on_the_guide_asks_for_the_other_models_list(spans: SpanIndex) -> None:
    # "and the ray 3 list?" says neither "guide" nor what it lists: its last user turn named the guide.
    asked = turn(2, "and the ray 3 list?")
    asked = replace(asked, context="user: what does the decision guide list for Ray 3.2? | assistant: The guide says: "
                                    "the performance is good, the timing is already cut.")
    model = ScriptedModel({2: ("none", 0.95)})
    decision = LearnedDecider(model, spans).decide(asked, [], [])
    assert [s.quote for s in decision.support][:3] == RAY_3_SIGNS, decision.support


def test_a_factual_question_on_one_model_that_names_no_guide_gets_no_list(spans: SpanIndex) -> None:
    quotes = _factual_answer(spans, OTHER, "what does Ray 3 start from?")
    assert not set(quotes) & set(RAY_3_SIGNS), quotes


def test_a_one_model_answer_quoting_a_sign_of_the_guide_quotes_its_whole_list(spans: SpanIndex) -> None:
    decision = LearnedDecider(ScriptedModel({2: ("ray-3", 0.95)}), spans).decide(
        turn(2, "no source clip exists yet for our launch film"), [], [])
    quotes = [s.quote for s in decision.support]
    assert decision.label == "ray-3" and "No source clip exists" in quotes, decision.trace
    assert [q for q in quotes if q in RAY_3_SIGNS] == RAY_3_SIGNS, quotes
