"""Typing slips are mended before retrieval and the decider read a message, against a vocabulary learned
at ingest, and nothing a user meant is "mended" into another word."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.deciders.learned import current_decider_dir
from assistant.errors import IndexMissingError
from assistant.settings import Settings
from assistant.spelling import VOCABULARY, Speller, domain_vocabulary, load_speller
from ingest.decider.mending import corpus_texts
from tests.conftest import make_settings

MESSAGES = ["We don't have footage yet, only an idea.", "We filmed the interview already; relight it.",
            "which model keeps the footage timing?", "don't change anything except the lighting"]
DOCUMENT = "Ray 3.2 transforms existing footage and preserves timing and motion. Relight, restyle, localise."
KNOWN = frozenset({"we", "have", "footage", "yet", "only", "an", "idea", "filmed", "the", "interview", "already",
                   "which", "model", "keeps", "timing", "change", "anything", "except", "lighting", "with",
                   "done", "gracias", "intro"})


def speller() -> Speller:
    return Speller(domain_vocabulary(MESSAGES * 2, [DOCUMENT], KNOWN), KNOWN)  # each word written twice


def test_a_slip_becomes_the_domain_word_one_edit_away() -> None:
    mend = speller().mend
    assert mend("we alredy fimled the intreview, relihgt it") == "we already filmed the interview, relight it"
    assert mend("Fotage exists. FOTAGE exists.") == "Footage exists. FOOTAGE exists."
    assert mend("we dont have footage") == "we don't have footage"  # the contraction, not "done"


def test_known_words_names_and_other_languages_pass_through() -> None:
    mend = speller().mend
    for text in ("intro for the channel", "an ad for Heineken and McDonald's", "gracias, no tengo video",
                 "VFX plate", "hav a clip", "Ray 3.2 or Ray 3", "is Fotage Studio any good?"):
        assert mend(text) == text  # a capitalised word inside a sentence is a name, even one edit from a word
    assert mend("Fotage exists. Intreview: Fimled") == "Footage exists. Interview: Filmed"  # starts mended


def test_the_vocabulary_keeps_only_words_seen_twice_that_are_real() -> None:
    vocab = domain_vocabulary(["footage fotage", "footage fotage wich", "wich"], [DOCUMENT], KNOWN)
    assert vocab["footage"] == 3 and "relight" in vocab  # the documents' own words count
    assert "fotage" not in vocab and "wich" not in vocab  # written twice, but neither known nor the documents'


def test_a_new_documents_words_become_mending_targets_without_retraining(tmp_path: Path) -> None:
    trained = speller()
    assert trained.mend("can it do a colorgrade?") == "can it do a colorgrade?"
    assert trained.with_documents(["Ray 3.2 keeps the colourgrade."]).mend("a colourgrde please") == \
        "a colourgrade please"
    # The documents a decider is trained with are read as ingest reads them: a broken file is skipped.
    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    (tmp_path / "corpus" / "broken.txt").write_bytes(b"\xff\xfe not text \x00")
    assert len(corpus_texts(tmp_path / "corpus")) == 2


def test_answers_read_through_slips(bot: Assistant) -> None:
    clean = bot.ask("We already filmed the interview and only want the lighting changed")
    slipped = bot.ask("we alredy fimled the intreview and only want the lightng chnaged")
    assert clean.recommendation == slipped.recommendation == "ray-3.2"
    assert [c.quote for c in slipped.citations] == [c.quote for c in clean.citations]
    priced = bot.ask("how much does Ray 3.2 cots per month?")  # a slip in the subject still abstains
    assert priced.abstained


@pytest.mark.xfail(strict=True, reason="known since stop 48: the data trained on writes 'weak', 'speaker' and 'knows' "
                   "twice or more, so words the tokenizer does not know one edit from them are mended into them; a "
                   "guard by the writers' own counts was measured and not kept (ingest/decider/data/CARD.md)")
def test_the_trained_speller_leaves_words_the_writers_use_alone(ingested_settings: Settings) -> None:
    folder = current_decider_dir(ingested_settings.model_dir, ingested_settings.encoder)
    assert folder is not None
    message = "can I tweak the knobs for our sneaker ad?"  # the training data writes each of these words 2+ times
    assert load_speller(folder).mend(message) == message


def test_the_trained_decider_carries_its_vocabulary(ingested_settings: Settings, ingested_dir: Path,
                                                    tmp_path: Path) -> None:
    folder = current_decider_dir(ingested_settings.model_dir, ingested_settings.encoder)
    assert folder is not None
    learned = load_speller(folder)
    assert {"footage", "relight", "don't"} <= set(learned.domain) and "footage" in learned.known
    assert learned.mend("we have fotage") == "we have footage"
    # A decider whose vocabulary is damaged is refused, naming the fix; nothing else is touched.
    shared = ingested_settings.model_dir
    broken = tmp_path / "models"
    broken.mkdir()
    for entry in shared.iterdir():
        if entry.name != folder.name:
            (broken / entry.name).symlink_to(entry)
    shutil.copytree(folder, broken / folder.name)
    (broken / folder.name / VOCABULARY).write_text(json.dumps({"domain": ["not", "counts"]}))
    with pytest.raises(IndexMissingError, match="ray-advisor ingest"):
        Assistant.from_settings(make_settings(ingested_dir, model_dir=broken))
    (broken / folder.name / VOCABULARY).unlink()
    with pytest.raises(IndexMissingError, match="ray-advisor ingest"):
        Assistant.from_settings(make_settings(ingested_dir, model_dir=broken))
