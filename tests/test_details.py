"""Whether a follow-up only adds a detail (assistant/deciders/details.py): a classifier learnt from written
examples, checked on follow-ups other writers labelled, and seen end to end in the label a conversation keeps."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.deciders.followups import DETAIL_SURE
from assistant.deciders.inputs import normalise
from assistant.deciders.learned import LearnedDecider
from assistant.errors import IngestError
from assistant.settings import Settings
from ingest.decider.data import DATA_DIR
from ingest.decider.details import DETAILS_DIR, load_detail_examples


def test_every_writer_wrote_both_kinds_and_nothing_twice() -> None:
    examples = load_detail_examples()
    assert len(examples) >= 1000
    for writer in {e.writer for e in examples}:
        kinds = [e.detail for e in examples if e.writer == writer]
        assert 0.3 < sum(kinds) / len(kinds) < 0.7, writer
    assert len({e.text.lower() for e in examples}) == len(examples)


def test_the_data_card_counts_each_file_as_it_holds_it() -> None:
    card = (DETAILS_DIR / "CARD.md").read_text(encoding="utf-8")
    rows = {m.group(1): [c.strip() for c in m.group(0).strip(" |").split(" | ")]
            for m in re.finditer(r"^\| `(\w+)\.jsonl`.*\|$", card, re.M)}
    files = sorted(DETAILS_DIR.glob("*.jsonl"))
    assert {f.stem for f in files} == set(rows)
    for path in files:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        detail = sum(line["detail"] for line in lines)
        assert rows[path.stem][1:4] == [str(len(lines)), str(detail), str(len(lines) - detail)], path.stem


def test_a_broken_line_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text('{"text": "for the gala", "detail": true}\n{"text": "oops", "detail": "yes"}\n')
    with pytest.raises(IngestError, match=r"x\.jsonl:2: .*true/false 'detail'"):
        load_detail_examples(tmp_path)


def _labelled_follow_ups() -> list[tuple[str, bool]]:
    """Follow-ups from the decider's writer rounds 15-18, which other writers tagged by kind: a detail that changes
    nothing (the audience, a date, a budget...) or not (footage turns up or is dropped, a question...). The detail
    classifier never learns from them (the decider has since stop 48)."""
    rows = []
    for name in ("turn_details", "turn_details_b", "turn_details_c", "turns_check"):
        for line in (DATA_DIR / f"was_unseen_{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            kind = str(row.get("kind", ""))
            if row.get("history"):
                rows.append((str(row["text"]), "detail" in kind and "open-footage" not in kind))
    return rows


def test_follow_ups_other_writers_labelled_are_told_apart(bot: Assistant, ingested_settings: Settings) -> None:
    # The detail classifier never trained on them. Measured: 0.935 of 418 right, 0.987 of those read as
    # a detail are one (2026-12-05).
    from ingest.decider import train
    from ingest.decider.build import states_encoder

    decider = bot.pipeline.decider
    assert isinstance(decider, LearnedDecider)
    rows = _labelled_follow_ups()
    mend = decider.model.speller.mend
    states = train.onnx_states(states_encoder(ingested_settings, ingested_settings.encoder),
                               [(mend(normalise(text)), "") for text, _ in rows])
    read = [decider.model.details.detail(s.numpy()) >= DETAIL_SURE for s in states]
    right = sum(r == d for r, (_, d) in zip(read, rows, strict=True))
    said_detail = [d for r, (_, d) in zip(read, rows, strict=True) if r]
    assert len(rows) > 400 and right >= 0.9 * len(rows), (right, len(rows))
    assert sum(said_detail) >= 0.95 * len(said_detail)


# Each follow-up is read surely as something else with the conversation (Ray 3.2 at 0.96, Ray 3 at 0.93, the
# sequence at 0.61, Ray 3.2 at 0.95): without the detail classifier each answer changed.
@pytest.mark.parametrize(("situation", "follow_up", "label"), [
    ("Brainstorming a launch film for our e-bike, nothing shot yet, just sketches. Which model?",
     "the founder is obsessed with 70s surf posters and wants that sun-faded look", "ray-3"),
    ("Ray 3 or Ray 3.2 for the video about our village fair?",
     "we are thinking warm, golden, a bit nostalgic, like an old cine film", "depends"),
    ("We have nothing filmed, just a concept for a lighthouse at night in a storm. Which model?",
     "the harbour museum is paying, they would like it moody and a bit gothic", "ray-3"),
    ("Ray 3 or Ray 3.2 for our escape room promo?", "the owners want it creepy, candlelit, lots of fog", "depends"),
])
def test_a_detail_after_a_settled_situation_keeps_it(bot: Assistant, situation: str, follow_up: str,
                                                     label: str) -> None:
    first = bot.ask(situation)
    assert first.recommendation == label, first.decision_trace
    then = bot.ask(follow_up, [{"role": "user", "content": situation}, {"role": "assistant", "content": first.answer}])
    assert (then.recommendation, then.abstained) == (label, False), then.decision_trace


@pytest.mark.parametrize(("follow_up", "label", "abstained"), [
    ("oh wait, my neighbour recorded the whole storm from his balcony last winter", "ray-3.2", False),
    ("we'd also need a Welsh version of whichever one we pick", "ray-3-then-ray-3.2", False),
    ("does it also add the sound of the waves?", "none", True),
])
def test_a_follow_up_that_changes_or_asks_something_is_read_for_itself(bot: Assistant, follow_up: str, label: str,
                                                                      abstained: bool) -> None:
    situation = "We have nothing filmed, just a concept for a lighthouse at night in a storm. Which model?"
    first = bot.ask(situation)
    then = bot.ask(follow_up, [{"role": "user", "content": situation}, {"role": "assistant", "content": first.answer}])
    assert (then.recommendation, then.abstained) == (label, abstained), then.decision_trace


def test_the_detail_data_is_part_of_the_deciders_key(ingested_settings: Settings, tmp_path: Path) -> None:
    from ingest.decider.build import model_key
    from ingest.decider.train import TrainConfig

    base = Path(ingested_settings.embedding_model_path())
    shutil.copytree(DETAILS_DIR, tmp_path / "details")
    assert model_key(base, TrainConfig(), details_dir=tmp_path / "details") == model_key(base, TrainConfig())
    with (tmp_path / "details" / "extra.jsonl").open("w") as f:
        f.write(json.dumps({"text": "for the board", "history": [], "detail": True}) + "\n")
    assert model_key(base, TrainConfig(), details_dir=tmp_path / "details") != model_key(base, TrainConfig())


# A detail, then one closing question that asks whether it changes anything: the statement, read alone, is judged
# (`said_before_asking`). Without that, the first two were answered Ray 3.2 (0.92, 0.95); the third states footage
# that turned up, so it changes the answer.
@pytest.mark.parametrize(("follow_up", "label"), [
    ("It's for the spring season and the brand colour is teal. Does that change anything?", "ray-3"),
    ("We have about two weeks and a modest budget. Does that change the pick?", "ray-3"),
    ("Turns out my cousin filmed the whole anniversary party on his phone and we want to restyle that. "
     "Does that change things?", "ray-3.2"),
])
def test_a_detail_and_then_whether_it_changes_the_answer(bot: Assistant, follow_up: str, label: str) -> None:
    situation = "Nothing is shot yet for our bakery's anniversary clip, we only have a mood board. Which one?"
    first = bot.ask(situation)
    assert first.recommendation == "ray-3", first.decision_trace
    then = bot.ask(follow_up, [{"role": "user", "content": situation}, {"role": "assistant", "content": first.answer}])
    assert (then.recommendation, then.abstained) == (label, False), then.decision_trace
