"""The eval cases file: it loads, it covers every item of the documents, and bad files fail clearly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.cases import CaseFileError, load_cases, parse_cases

# Every row of the comparison table, every decision-guide item and every FAQ answer in the documents.
DOCUMENT_ITEMS = (
    "cmp:starting-point", "cmp:core-strength", "cmp:control-style",
    "cmp:output-goal", "cmp:continuity", "cmp:production-use",
    "dg:performance-good", "dg:timing-cut", "dg:env-product-change",
    "dg:no-source-clip", "dg:direction-open", "dg:broad-exploration",
    "dg:generate-direction", "dg:pick-take", "dg:transform-localize",
    "faq:main-difference", "faq:choose-ray-3.2", "faq:choose-ray-3", "faq:together",
    "faq:production-always", "faq:product-marketing", "faq:control-existing", "faq:beginners",
)  # fmt: skip


def _case(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "c1",
        "category": "faq",
        "question": "When should I choose Ray 3?",
        "labels": ["ray-3"],
        "sections": ["FAQ"],
    }
    return {**base, **overrides}


def test_default_cases_load_and_cover_the_documents() -> None:
    cases = load_cases()
    assert 130 <= len(cases) <= 160
    covered = Counter(item for case in cases for item in case.covers)
    assert set(covered) == set(DOCUMENT_ITEMS), "covers names an item the documents do not have"
    thin = {item: n for item, n in covered.items() if n < 3}
    assert not thin, f"items with fewer than 3 cases: {thin}"


def test_required_kinds_of_cases_are_present() -> None:
    cases = load_cases()
    by_cat = Counter(case.category for case in cases)
    assert by_cat["out-of-scope"] >= 14
    assert by_cat["injection"] >= 8
    assert all(c.abstain and c.labels == ["none"] for c in cases if c.category == "out-of-scope")
    factual = [c for c in cases if c.category == "factual"]
    assert len(factual) >= 8 and all("none" in c.labels and not c.abstain for c in factual)
    assert any(c.history for c in cases if c.category == "injection")
    assert any(not c.abstain for c in cases if c.category == "injection"), "an injection with a real question"
    assert sum(1 for c in cases if c.history) >= 8
    for kind in ("negation", "typo", "sequence", "general-comparison", "casual", "mixed"):
        assert by_cat[kind] >= 5, kind


def test_unknown_label_names_the_case() -> None:
    with pytest.raises(CaseFileError, match=r"case bad-label: labels\.0"):
        parse_cases([_case(id="bad-label", labels=["ray-4"])])


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(CaseFileError, match="duplicate case id 'c1'"):
        parse_cases([_case(), _case()])


def test_unknown_keys_and_inconsistent_abstentions_are_rejected() -> None:
    with pytest.raises(CaseFileError, match="case c1: label"):
        parse_cases([_case(label="ray-3")])
    with pytest.raises(CaseFileError, match="abstain: true needs labels"):
        parse_cases([_case(abstain=True)])
    with pytest.raises(CaseFileError, match="unknown section"):
        parse_cases([_case(sections=["Pricing"])])


def test_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="cannot read cases file"):
        load_cases(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cases: [", encoding="utf-8")
    with pytest.raises(CaseFileError, match="not valid YAML"):
        load_cases(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("cases: []\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="non-empty list"):
        load_cases(empty)


def test_jsonl_cases_load(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(_case()) + "\n\n" + json.dumps(_case(id="c2")) + "\n", encoding="utf-8")
    assert [c.id for c in load_cases(path)] == ["c1", "c2"]
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="line 1 is not valid JSON"):
        load_cases(path)
