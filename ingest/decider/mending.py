"""The speller a decider is trained with: its vocabulary comes from the examples it learns from and the
corpus, and every example (written or augmented) is mended with it, as answering mends a question."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.spelling import Speller, domain_vocabulary
from ingest.decider.augment import augment
from ingest.decider.data import Example
from ingest.load import load_all


def corpus_texts(corpus_dir: Path) -> list[str]:
    """The documents' text as ingest reads it (markup removed); files ingest skips are skipped here too."""
    documents, _ = load_all([Path(corpus_dir)])
    return ["\n".join(line.text for line in d.lines) for d in documents]


def speller_for(examples: Sequence[Example], documents: Sequence[str], known: Collection[str]) -> Speller:
    """Learned from these examples only (a held-out example's words are not in it)."""
    return Speller(domain_vocabulary([t for e in examples for t in (e.text, e.context)], documents, known), known)


def training_rows(written: Sequence[Example], seed: int, speller: Speller) -> list[Example]:
    """What a decider is fitted on, at ingest and in every report fold: the written examples and their
    augmentation, mended, each (context, text) once."""
    return distinct(mended(augment(written, seed), speller))


def update_rows(base_rows: Sequence[Example], written: Sequence[Example], seed: int, speller: Speller,
                replay: float) -> list[Example]:
    """What an update's second phase is fitted on: the rows of all `written` examples (base and update) that
    the base phase did not see, then `replay` times as many of the ones it did, drawn at random, so the
    update does not unlearn the base."""
    seen = {e.key for e in base_rows}
    rows = training_rows(written, seed, speller)
    fresh = [e for e in rows if e.key not in seen]
    known = [e for e in rows if e.key in seen]
    return fresh + random.Random(seed).sample(known, min(len(known), int(len(fresh) * replay)))


def mended(examples: Sequence[Example], speller: Speller) -> list[Example]:
    return [replace(e, text=speller.mend(e.text), context=speller.mend(e.context)) for e in examples]


def distinct(examples: Sequence[Example]) -> list[Example]:
    """The first of each (context, text) pair: a slipped copy that mending restored to its original is the
    same example again, and training on it twice costs time and teaches nothing."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in examples:
        if e.key not in seen:
            seen.add(e.key)
            out.append(e)
    return out
