"""Which table row a factual question asks about (assistant/deciders/rows.py): learnt from written examples,
checked on examples it did not see, and seen end to end in the quotes an answer shows."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Assistant
from assistant.deciders.rows import OTHER, RowFinder, RowQuestion, load_row_questions
from tests.conftest import TABLE_ROWS


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_examples_cover_every_row_and_questions_outside_the_table() -> None:
    questions = load_row_questions()
    counts = {row: sum(q.row == row for q in questions) for row in [*TABLE_ROWS, OTHER]}
    assert min(counts.values()) >= 30, counts
    assert {q.row for q in questions} == set(counts)
    assert len({q.text.lower() for q in questions}) == len(questions), "a question is written twice"


def test_a_question_nearest_the_other_examples_asks_about_no_row() -> None:
    questions = [RowQuestion("a", "Continuity"), RowQuestion("b", "Continuity"), RowQuestion("c", OTHER)]
    vectors = np.stack([_unit(1, 0), _unit(0.9, 0.1), _unit(0, 1)])
    finder = RowFinder(questions, vectors, ["Continuity", "Control style"])
    assert finder.asked(_unit(0.1, 1)) == {}
    (row, margin), = finder.asked(_unit(1, 0.05)).items()
    assert row == "Continuity" and margin > 0


def test_examples_of_a_row_the_table_does_not_have_count_as_outside_it() -> None:
    questions = [RowQuestion("a", "Price"), RowQuestion("b", "Continuity")]
    finder = RowFinder(questions, np.stack([_unit(1, 0), _unit(0, 1)]), ["Continuity", "Control style"])
    assert finder.asked(_unit(1, 0.1)) == {}  # nearest a "Price" example: not a row of this table


def test_held_out_examples_find_their_row_far_more_often_than_the_row_names_do(bot: Assistant) -> None:
    # Each example's row is predicted from all the others (leave one out): the written data must teach what
    # the names alone cannot (measured: 0.81 against 0.55 on the questions that ask about a row).
    questions = load_row_questions()
    vectors = bot.pipeline.encoder.embed([q.text for q in questions])
    names = bot.pipeline.encoder.embed(TABLE_ROWS)
    on_rows = [i for i, q in enumerate(questions) if q.row != OTHER]
    hits = 0
    for i in on_rows:
        rest = [j for j in range(len(questions)) if j != i]
        finder = RowFinder([questions[j] for j in rest], vectors[rest], TABLE_ROWS)
        hits += next(iter(finder.asked(vectors[i])), OTHER) == questions[i].row
    by_names = sum(TABLE_ROWS[int(np.argmax(names @ vectors[i]))] == questions[i].row for i in on_rows)
    assert hits / len(on_rows) >= 0.75
    assert hits - by_names >= 0.15 * len(on_rows), (hits, by_names, len(on_rows))


@pytest.mark.parametrize("question, cell", [
    ("Roughly speaking, what does Ray 3.2 hand me back once it's finished?", ("Best output goal", "Ray 3.2")),
    ("How much of my video's length and movement does Ray 3.2 leave alone?", ("Continuity", "Ray 3.2")),
])
def test_a_factual_question_in_everyday_words_quotes_the_row_it_asks_about(bot: Assistant, question: str,
                                                                          cell: tuple[str, str]) -> None:
    # Neither question shares a word with its row's name or cell ("Best output goal", "Continuity").
    answer = bot.ask(question)
    assert (answer.recommendation, answer.abstained) == ("none", False), answer.decision_trace
    assert cell in [(c.row, c.column) for c in answer.citations], answer.citations
