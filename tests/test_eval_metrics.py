"""Eval metrics, gates and reports on synthetic answers: no embedding model, no index."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from evals.cases import LABELS, EvalCase, load_cases
from evals.gates import (
    DEFAULT_THRESHOLDS,
    GateFileError,
    check_against_baseline,
    check_thresholds,
    load_baseline,
    resolve_thresholds,
)
from evals.metrics import CitedQuote, Outcome, compute_metrics, confusion_matrix, percentile, wilson_interval
from evals.report import write_report
from evals.results import EvalResult, outcome_rows
from evals.runner import load_corpus
from evals.support import split_claims, support_counts

ROOT = Path(__file__).resolve().parents[1]
MAIN_DOC = "ray-3.2-vs-ray-3.txt"


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return load_corpus(ROOT / "corpus")


@pytest.fixture(scope="module")
def cases() -> list[EvalCase]:
    return load_cases()


def _line_with(term: str, text: str) -> str:
    """A verbatim line of the document that contains the term (so a right answer can quote it)."""
    return next(line.strip() for line in text.splitlines() if term.casefold() in line.casefold())


def outcome_for(case: EvalCase, **got: Any) -> Outcome:
    """An Outcome for the case, with what the assistant 'returned' given as keywords."""
    return Outcome(
        case_id=case.id,
        category=case.category,
        question=case.question,
        expected_labels=tuple(case.labels),
        expected_abstain=case.abstain,
        expected_sections=tuple(case.sections),
        must_mention=tuple(case.must_mention),
        **got,
    )


def right_outcome(case: EvalCase, corpus: dict[str, str]) -> Outcome:
    doc = corpus[MAIN_DOC]
    terms = case.must_mention or ["Ray 3.2"]
    quotes = [_line_with(term, doc) for term in terms]
    section = case.sections[0] if case.sections else "FAQ"
    answer = "The documents do not say." if case.abstain else "Use **Ray 3.2**.\n\n" + "\n".join(quotes)
    return outcome_for(
        case,
        got_label=case.labels[0],
        got_abstained=case.abstain,
        answer=answer,
        citations=() if case.abstain else tuple(CitedQuote(MAIN_DOC, section, q) for q in quotes),
        latency_ms=10.0,
    )


def wrong_outcome(case: EvalCase) -> Outcome:
    wrong_label = next(label for label in LABELS if label not in case.labels)
    return outcome_for(
        case,
        got_label=wrong_label,
        got_abstained=False,
        answer="This one is best. It renders in 8K at 120 frames per second on any laptop.",
        citations=(
            CitedQuote(MAIN_DOC, "Pricing", "It renders in 8K at 120 frames per second on any laptop."),
        ),
        latency_ms=900.0,
    )


def test_right_answers_score_high(cases: list[EvalCase], corpus: dict[str, str]) -> None:
    m = compute_metrics([right_outcome(c, corpus) for c in cases], corpus)
    v = m.values
    assert v["accuracy"] == 1.0 and v["pass_rate"] == 1.0 and v["fully_right"] == 1.0
    assert v["accuracy_low"] < 1.0 == v["accuracy_high"]  # a perfect run on this many cases is not proof of 1.0
    assert v["abstention_precision"] == 1.0 and v["abstention_recall"] == 1.0
    assert v["invalid_citations"] == 0 and v["citations"] > 0
    assert v["citation_relevance"] == 1.0
    assert v["must_mention_rate"] == 1.0
    assert v["answer_support"] == 1.0
    assert set(m.by_category.values()) == {1.0}
    assert check_thresholds(v, DEFAULT_THRESHOLDS) == []


def test_wrong_answers_score_low(cases: list[EvalCase], corpus: dict[str, str]) -> None:
    m = compute_metrics([wrong_outcome(c) for c in cases], corpus)
    v = m.values
    assert v["accuracy"] == 0.0 and v["fully_right"] == 0.0
    assert v["abstention_precision"] == 0.0 and v["abstention_recall"] == 0.0
    assert v["invalid_citations"] == v["citations"] == len(cases) and v["invalid_rate"] == 1.0
    assert v["citation_relevance"] == 0.0
    assert v["must_mention_rate"] == 0.0
    assert v["answer_support"] == 0.0
    assert len(check_thresholds(v, DEFAULT_THRESHOLDS)) == len(DEFAULT_THRESHOLDS)


def test_fully_right_needs_the_label_the_required_terms_and_an_expected_section(cases: list[EvalCase],
                                                                               corpus: dict[str, str]) -> None:
    # The share the issue reports for held-out questions: a right label with a quote from the wrong section,
    # or without a term the case requires, is not fully right.
    case = next(c for c in cases if not c.abstain and c.must_mention and c.sections != ["FAQ"])
    right = right_outcome(case, corpus)
    no_term = replace(right, answer=right.answer.casefold().replace(case.must_mention[0].casefold(), "it"))
    off_section = replace(right, citations=tuple(replace(c, section="Nowhere") for c in right.citations))
    outcomes = [right, no_term, off_section]
    assert [o.ok for o in outcomes] == [True, True, True]
    assert [o.fully_right for o in outcomes] == [True, False, False]
    assert compute_metrics(outcomes, corpus).values["fully_right"] == pytest.approx(1 / 3)
    assert [row["fully_right"] for row in outcome_rows(outcomes, corpus)] == [True, False, False]


def _outcome(expected: tuple[str, ...], got: str, error: str | None = None, abstain: bool = False) -> Outcome:
    return Outcome("c", "cat", "q", expected, abstain, got, abstain, error=error)


def test_accuracy_carries_the_interval_chance_alone_would_give() -> None:
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # the textbook Wilson value
    low, high = wilson_interval(155, 159)
    assert low < 155 / 159 < high and low < 0.95 and high > 0.98  # 159 cases cannot tell 0.975 from 0.98
    few, many = wilson_interval(39, 40), wilson_interval(975, 1000)
    assert few[1] - few[0] > 2 * (many[1] - many[0])
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_confusion_matrix_counts() -> None:
    outcomes = [
        _outcome(("ray-3.2",), "ray-3.2"),
        _outcome(("ray-3.2",), "ray-3"),
        _outcome(("ray-3.2",), "ray-3"),
        _outcome(("ray-3", "depends"), "depends"),  # an acceptable second label sits on the diagonal
        _outcome(("ray-3", "depends"), "none"),  # a miss is charged to the first acceptable label
        _outcome(("none",), "none", error="boom"),
    ]
    matrix = confusion_matrix(outcomes)
    assert matrix["ray-3.2"]["ray-3.2"] == 1
    assert matrix["ray-3.2"]["ray-3"] == 2
    assert matrix["depends"]["depends"] == 1
    assert matrix["ray-3"]["none"] == 1
    assert matrix["none"]["error"] == 1
    assert sum(sum(row.values()) for row in matrix.values()) == len(outcomes)
    assert set(matrix) == set(LABELS)


def test_errors_count_as_wrong_and_skip_latency() -> None:
    outcomes = [_outcome(("none",), "none", error="boom"), _outcome(("none",), "none")]
    m = compute_metrics(outcomes, {})
    assert m.values["accuracy"] == 0.5 and m.values["errors"] == 1


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([float(v) for v in range(1, 101)], 95) == pytest.approx(95.05)


def test_support_skips_headings_and_verdicts() -> None:
    answer = "\n".join(
        [
            "## Recommendation",
            "Use **Ray 3.2**.",
            "",
            "- **Ray 3, then Ray 3.2**",
            "> Source: ray-3.2-vs-ray-3.txt (FAQ)",
            "_The documents don't say anything about audio._",
        ]
    )
    assert split_claims(answer) == []


def test_support_counts_quotes_and_overlap() -> None:
    quote = "Ray 3.2 is better for production when continuity matters."
    answer = (
        "Use **Ray 3.2**.\n"
        f'The FAQ says: "{quote}"\n'  # contains the quote
        "- Ray 3.2 works better in production whenever continuity matters.\n"  # paraphrase, >= 60% overlap
        "Ray 3.2 also exports 8K video with Dolby audio."  # invented
    )
    assert support_counts(answer, [quote]) == (2, 3)
    assert support_counts(answer, []) == (0, 3)


def test_a_quote_of_two_sentences_is_one_claim() -> None:
    quote = "Start with the job, not the model name. If you have footage, start with Ray 3.2."
    answer = f"- For **Ray 3.2**: “{quote}” [1] — *FAQ, “Should beginners start with Ray 3 or Ray 3.2?”*"
    assert support_counts(answer, [quote]) == (1, 1)  # split at its full stop, the second half read as unsupported
    assert support_counts(f'He said "{quote}" Ray 3.2 also renders in 8K.', [quote]) == (1, 2)


def test_quotes_match_whitespace_normalised_but_case_sensitive(corpus: dict[str, str]) -> None:
    from evals.metrics import quote_is_valid

    good = "Ray 3 and Ray 3.2 are not interchangeable."
    assert quote_is_valid(CitedQuote(MAIN_DOC, "Introduction", good.replace(" ", "\n  ")), corpus)
    assert not quote_is_valid(CitedQuote(MAIN_DOC, "Introduction", good.upper()), corpus)
    assert not quote_is_valid(CitedQuote("missing.txt", "Introduction", good), corpus)
    assert not quote_is_valid(CitedQuote(MAIN_DOC, "Introduction", "   "), corpus)


def test_abstention_precision_when_nothing_expected() -> None:
    m = compute_metrics([_outcome(("ray-3",), "ray-3")], {})
    assert m.values["abstention_precision"] == 1.0 and m.values["abstention_recall"] == 1.0


def test_thresholds_from_dict_and_file(tmp_path: Path) -> None:
    assert resolve_thresholds({"accuracy": 0.5})["accuracy"] == 0.5
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"accuracy": 0.7, "answer_support": 0.9}), encoding="utf-8")
    gates = resolve_thresholds(path)
    assert gates["accuracy"] == 0.7 and gates["abstention_recall"] == DEFAULT_THRESHOLDS["abstention_recall"]
    failures = check_thresholds({"accuracy": 0.8, "answer_support": 0.5, "invalid_citations": 2}, gates)
    assert any(f.startswith("answer_support") for f in failures)
    assert any(f.startswith("invalid_citations = 2 is above") for f in failures)
    assert any("abstention_precision: missing" in f for f in failures)
    path.write_text('{"accuracy": "high"}', encoding="utf-8")
    with pytest.raises(GateFileError, match="accuracy"):
        resolve_thresholds(path)


def test_baseline_checking() -> None:
    baseline = load_baseline()
    assert baseline["invalid_citations"] == 0 and all(0 <= v <= 1 for v in baseline.values())
    good = {**baseline}
    assert check_against_baseline(good, baseline) == []
    worse = {**baseline, "accuracy": baseline["accuracy"] - 0.01, "invalid_citations": 1}
    failures = check_against_baseline(worse, baseline)
    assert len(failures) == 2 and all("baseline" in f for f in failures)


def test_report_files_written(cases: list[EvalCase], corpus: dict[str, str], tmp_path: Path) -> None:
    outcomes = [right_outcome(c, corpus) for c in cases[:20]] + [wrong_outcome(c) for c in cases[20:40]]
    metrics = compute_metrics(outcomes, corpus).as_dict()
    result = EvalResult(metrics=metrics, rows=outcome_rows(outcomes, corpus), thresholds=DEFAULT_THRESHOLDS)
    result.failures = check_thresholds(metrics, result.thresholds)
    files = write_report(result, tmp_path / "report")
    for name in ("report.md", "report.html", "confusion.png", "categories.png", "results.json"):
        assert files[name].is_file() and files[name].stat().st_size > 0, name
    for png in ("confusion.png", "categories.png"):
        assert files[png].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(files["results.json"].read_text(encoding="utf-8"))
    assert data["passed"] is False and data["metrics"]["cases"] == 40
    row = data["cases"][0]
    assert {"id", "question", "expected", "got", "abstained", "ok", "citations", "latency"} <= set(row)
    assert "FAIL" in files["report.md"].read_text(encoding="utf-8")
    assert "accuracy_low" in files["report.md"].read_text(encoding="utf-8")
    assert "<table>" in files["report.html"].read_text(encoding="utf-8")
