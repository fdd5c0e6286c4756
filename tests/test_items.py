"""A message that points at one item of an enumeration ("what about the second one?") is read with that item."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from assistant import Assistant
from assistant.deciders import NO_VECTOR, Query
from assistant.deciders.inputs import normalise
from assistant.deciders.items import enumerated, pointed_at, read_pointed

TWO_JOBS = ("Two jobs this week. One: the hotel walkthrough we shot needs to look like sunset. Two: a brand new "
            "concept clip for the spa, nothing filmed.")


@pytest.mark.parametrize("text, items", [
    ("I want (1) the class experiment I filmed, made to look like a space lab, and (2) an intro that doesn't exist",
     ["the class experiment I filmed, made to look like a space lab", "an intro that doesn't exist"]),
    ("we need 2 videos: 1) a relit version of our launch film 2) a brand new teaser",
     ["a relit version of our launch film", "a brand new teaser"]),
    ("We have two videos to make. The first uses footage of our food bank. For the second we have no idea yet.",
     ["footage of our food bank.", "we have no idea yet."]),
    (TWO_JOBS, ["the hotel walkthrough we shot needs to look like sunset.",
                "a brand new concept clip for the spa, nothing filmed."]),
    ("Listing 1: a walkthrough video to show at dusk. Listing 2: a new build, only renders. Which for each?",
     ["a walkthrough video to show at dusk.", "a new build, only renders."]),
    ("Three clients: (a) a bakery tour we filmed (b) a gym concept, nothing shot (c) a hotel ad that aired",
     ["a bakery tour we filmed", "a gym concept, nothing shot", "a hotel ad that aired"]),
    ("Jobs:\n- the Paris shoot we filmed in May\n- a Berlin launch teaser, nothing shot",
     ["the Paris shoot we filmed in May", "a Berlin launch teaser, nothing shot"]),
    ("A) the filmed tour needs dusk light. B) a new concept, nothing filmed.",
     ["the filmed tour needs dusk light.", "a new concept, nothing filmed."]),
])
def test_an_enumeration_is_split_into_its_items(text: str, items: list[str]) -> None:
    assert enumerated(text) == items


@pytest.mark.parametrize("text", [
    "Generate a few looks in Ray 3 first, then relight the winner with Ray 3.2",  # steps, not items
    "Ray 3: prompts. Ray 3.2: footage. Which is better?",  # model names, not numbers
    "we have 2 videos and 3 clips from the first day",
    "the first dance is already recorded, we want it candlelit",
    "Plan A is to relight it, plan B to start over",
])
def test_a_text_that_numbers_nothing_lists_no_items(text: str) -> None:
    assert enumerated(text) == []


def test_a_pointer_needs_an_enumeration_to_point_into() -> None:
    listed = [{"role": "user", "content": TWO_JOBS}, {"role": "assistant", "content": "..."}]
    second = pointed_at("ok what about the second one?", listed)
    assert second is not None and (second.sentence, second.item, second.preamble) == (
        "ok what about the second one?", "a brand new concept clip for the spa, nothing filmed.", "Two jobs this week.")
    first = pointed_at("and the first?", listed)
    assert first is not None and first.item == "the hotel walkthrough we shot needs to look like sunset."
    # Nothing was listed: "the second one" points at nothing we can read.
    unlisted = [{"role": "user", "content": "we shot a demo, which model?"}]
    assert pointed_at("what about the second one?", unlisted) is None
    # By name: the one clause that says it; "the other one" names nothing any clause says.
    said = "We have a Paris shoot we already filmed and a Berlin launch where nothing is shot yet."
    places = [{"role": "user", "content": said}]
    berlin = pointed_at("what about the Berlin one?", places)
    assert berlin is not None and berlin.item == "a Berlin launch where nothing is shot yet."
    assert pointed_at("what about the other one?", places) is None
    lettered = pointed_at("and B?", [{"role": "user", "content": "A) the filmed tour. B) a new spa concept."}])
    assert lettered is not None and lettered.item == "a new spa concept."
    # "the first dance" is no pointer, and a sentence that lists items points at none of them.
    assert pointed_at("the first dance is recorded, we want it candlelit", listed) is None
    assert pointed_at("we want (1) a relight and (2) a new intro", listed) is None


def test_the_second_of_two_jobs_is_answered_for_itself(bot: Assistant) -> None:
    listed = [{"role": "user", "content": TWO_JOBS + " Which model for each?"},
              {"role": "assistant", "content": "Ray 3.2 for the walkthrough you shot; Ray 3 for the spa concept."}]
    second = bot.ask("ok what about the second one?", history=listed)
    assert (second.recommendation, second.abstained) == ("ray-3", False), second.decision_trace
    assert second.answer.startswith("For *a brand new concept clip for the spa, nothing filmed*:"), second.answer
    first = bot.ask("and the first?", history=listed)
    assert (first.recommendation, first.abstained) == ("ray-3.2", False), first.decision_trace
    # Extending the item pointed at extends its situation: the concept, then its market versions.
    later = bot.ask("for the second one, we will also need French and German versions once we pick a take",
                    history=listed)
    assert later.recommendation == "ray-3-then-ray-3.2", later.decision_trace


@pytest.mark.parametrize("said", [
    "I have two jobs: the bakery video we filmed needs warmer light, and a new concept for a summer ad",
    "Two things. The bakery video we filmed needs warmer light. And a new concept for a summer ad, nothing shot.",
])
def test_the_second_of_two_jobs_said_without_numbers_is_answered_for_itself(bot: Assistant, said: str) -> None:
    # No numbers, letters or dashes mark the jobs, so "the second one" pointed at nothing and was read with the
    # whole first turn; its clauses that each state a job are the items ("Two things." states none).
    history = [{"role": "user", "content": said}, {"role": "assistant", "content": "Which one do you mean?"}]
    second = bot.ask("which model for the second one?", history=history)
    assert (second.recommendation, second.abstained) == ("ray-3", False), second.decision_trace
    first = bot.ask("and the first?", history=history)
    assert (first.recommendation, first.abstained) == ("ray-3.2", False), first.decision_trace
    # One job said in two clauses is no list: "the second one" is read with the conversation, as before.
    one_job = [{"role": "user", "content": "We filmed the bakery video. And the light is too cold."},
               {"role": "assistant", "content": "Ray 3.2."}]
    assert pointed_at("and the second one?", one_job) is not None  # clauses to read, not yet items
    kept = bot.ask("and the second one?", history=one_job)
    assert not any("points at an item" in step for step in kept.decision_trace), kept.decision_trace


def test_a_message_that_lists_two_shots_and_asks_about_one_is_answered_for_that_one(bot: Assistant) -> None:
    answer = bot.ask("I have two shots: the first is a filmed interview I want relit, the second is an idea for an "
                     "animated logo that does not exist yet. Which model for the first?")
    assert (answer.recommendation, answer.abstained) == ("ray-3.2", False), answer.decision_trace


def test_a_factual_or_uncovered_question_about_an_item_keeps_its_own_reading(bot: Assistant) -> None:
    listed = [{"role": "user", "content": TWO_JOBS}, {"role": "assistant", "content": "..."}]
    price = bot.ask("how much does the first one cost?", history=listed)
    assert price.abstained, price.decision_trace


@pytest.mark.parametrize("said, question, label", [
    # Steps of one filmed ad: its last step is still Ray 3.2's, though "eventually versions for 6 markets" read alone
    # sounds like the sequence.
    ("our finished ad needs: 1) restyle to match the new brand palette 2) product swap to the 2025 bottle 3) "
     "eventually versions for 6 markets", "ok and for the last one?", "ray-3.2"),
    # Read whole, the two listings read surely as one filmed job; nothing before the list states a job.
    ("Listing 1: I have a walkthrough video, want it shown at dusk. Listing 2: a new build, only the architect "
     "renders.", "which model for listing 2?", "ray-3"),
    # By name: a place with "one", a name with a noun, a bare name.
    ("We have a Paris shoot we already filmed that needs a winter look, and a Berlin launch where nothing is shot yet. "
     "Which model?", "what about the Berlin one?", "ray-3"),
    ("Three jobs: a bakery tour we filmed that needs warmer light, a gym concept with nothing shot, and a hotel ad "
     "that aired and needs a French version", "and the gym thing?", "ray-3"),
    ("We have a Lisbon shoot we already filmed that needs a winter look, and a Porto launch where nothing is shot yet.",
     "and Porto?", "ray-3"),
    # "the lighting is bad" is a clause that says "lighting", but it is part of the filmed demo, not a second job.
    ("We filmed our product demo, the lighting is bad and we want it warmer.", "what about the lighting?", "ray-3.2"),
], ids=["steps-of-one-job", "listing-2", "the-berlin-one", "the-gym-thing", "and-porto", "an-aspect-is-no-job"])
def test_the_job_pointed_at_is_answered_for_itself(bot: Assistant, said: str, question: str, label: str) -> None:
    history = [{"role": "user", "content": said}, {"role": "assistant", "content": "(an earlier answer)"}]
    answer = bot.ask(question, history=history)
    assert (answer.recommendation, answer.abstained) == (label, False), answer.decision_trace


def _scripted(readings: dict[str, tuple[str, float]]) -> tuple[Query, Callable[[Query], tuple[str, float]]]:
    """A message and a decider that read each text alone as `readings` says, and any item with its list's context as
    the item alone (what `read_pointed` asks of them; no model)."""
    def read_with(text: str, context: str) -> Query:
        return Query(text, context, NO_VECTOR, np.zeros((1, 1), dtype=np.float32))

    def read(query: Query) -> tuple[str, float]:
        said = query.text if not query.context else query.context.removeprefix("user: ")
        return next((r for t, r in readings.items() if normalise(t) == said or said.endswith(normalise(t))),
                    ("abstain", 0.9))

    return Query("which model for the second one?", "", NO_VECTOR, np.zeros((1, 1), dtype=np.float32),
                 read_with=read_with), read


def test_items_that_state_opposite_situations_are_two_jobs_whatever_the_words_before_them_read_as() -> None:
    # "I have two shots:" reads surely as footage; its items are one filmed and one not, so they are not steps.
    query, read = _scripted({"I have two shots:": ("ray-3.2", 0.98), "a filmed interview to relight": ("ray-3.2", 0.97),
                             "a logo idea, nothing exists": ("ray-3", 0.96)})
    listed = "I have two shots: 1) a filmed interview to relight 2) a logo idea, nothing exists"
    said = [{"role": "user", "content": listed}]
    pointed = read_pointed(query, said, read)
    assert pointed is not None and pointed[1:] == ("ray-3", 0.96, "a logo idea, nothing exists")
    # Steps of one filmed job read as footage, or as the sequence alone: the list is read as one job, not per item.
    query, read = _scripted({"our finished ad needs:": ("ray-3.2", 0.98), "a restyle": ("ray-3.2", 0.95),
                             "versions for 6 markets": ("ray-3-then-ray-3.2", 0.93)})
    said = [{"role": "user", "content": "our finished ad needs: 1) a restyle 2) versions for 6 markets"}]
    assert read_pointed(query, said, read) is None
