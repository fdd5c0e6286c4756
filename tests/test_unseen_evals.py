"""The unseen eval sets (`evals/unseen/`): valid cases, counted as the README says, and kept apart from
everything the code was trained or tuned on, so that their score estimates new questions."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.deciders.rows import load_row_questions
from evals.cases import EvalCase, load_cases
from ingest.decider.data import DATA_DIR
from ingest.decider.details import DETAILS_DIR

UNSEEN = Path(__file__).resolve().parents[1] / "evals" / "unseen"
DEV = UNSEEN.with_name("dev")  # eval-format sets whose misses were read (evals/dev/README.md)
ORDER = ("ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none", "abstain")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9.]+", text.lower())).rstrip(".")


def _said(cases: list[EvalCase]) -> list[str]:
    return [c.question for c in cases] + [t.content for c in cases for t in c.history if t.role == "user"]


def _sets(folder: Path = UNSEEN) -> dict[str, list[EvalCase]]:
    return {path.name: load_cases(path) for path in sorted(folder.glob("*.yaml"))}


def test_unseen_sets_share_no_question_with_the_frozen_set_or_any_written_data() -> None:
    sets = _sets()
    assert len(sets) == 36 and all(len(cases) >= 50 for cases in sets.values())
    taken = {_words(text) for text in _said(load_cases())}
    # DATA_DIR holds the 83 earlier unseen sets too, trained on since stop 49 (raw/eval_format_*.jsonl).
    for folder in (DATA_DIR, DATA_DIR.parent / "update", DATA_DIR.parent / "unseen", DETAILS_DIR):
        for path in folder.glob("*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    taken.add(_words(row["text"]))
                    taken |= {_words(t["content"]) for t in row.get("history", []) if t.get("role") == "user"}
    taken |= {_words(json.loads(line)["q"]) for line in (DATA_DIR.parent / "quotes" / "factual_quotes.jsonl")
              .read_text(encoding="utf-8").splitlines() if line.strip()}
    taken |= {_words(q.text) for q in load_row_questions()}  # the row classifier is trained on them
    ids: Counter[str] = Counter()
    for name, cases in sets.items():
        ids.update(c.id for c in cases)
        shared = [text for text in _said(cases) if _words(text) in taken]
        assert not shared, f"{name} asks what other data already holds: {shared[:3]}"
    assert max(ids.values()) == 1, "an id is used in two unseen sets"


@pytest.mark.parametrize("folder", [UNSEEN, DEV], ids=["unseen", "dev"])
def test_the_readme_counts_each_set_as_its_file_holds_it(folder: Path) -> None:
    rows = {m.group(1): [c.strip() for c in m.group(0).strip(" |").split(" | ")]
            for m in re.finditer(r"^\| `([\w.]+)`.*\|$", (folder / "README.md").read_text(encoding="utf-8"), re.M)}
    sets = _sets(folder)
    assert set(rows) == set(sets)
    for name, cases in sets.items():
        labels = Counter("abstain" if c.abstain else c.labels[0] for c in cases)
        counted = [str(len(cases)), str(sum(bool(c.history) for c in cases)),
                   " / ".join(str(labels[label]) for label in ORDER)]
        assert rows[name][1:4] == counted, f"{folder.name}/README.md's row for {name} is out of date"


def test_the_dev_sets_share_no_question_with_the_frozen_set_or_the_unseen_sets() -> None:
    # They were written to estimate new questions too; their misses were read, so they must not leak into what
    # still estimates them (the frozen set, the unseen sets).
    dev = _sets(DEV)
    assert len(dev) == 14 and all(len(cases) >= 55 for cases in dev.values())
    taken = {_words(text) for text in _said(load_cases())}
    taken |= {_words(text) for cases in _sets().values() for text in _said(cases)}
    for name, cases in dev.items():
        shared = [text for text in _said(cases) if _words(text) in taken]
        assert not shared, f"{name} asks what another eval set already asks: {shared[:3]}"
