"""The eval runner end to end with a stand-in assistant: no embedding model, no index."""

from __future__ import annotations

import io
import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from rich.console import Console

from assistant.schema import Answer, Citation, Recommendation
from assistant.settings import Settings, load_settings
from evals import runner
from evals.cases import load_cases

ROOT = Path(__file__).resolve().parents[1]
QUOTE = "Ray 3 and Ray 3.2 are not interchangeable."
SMALL_CASES = """
cases:
  - {id: a, category: faq, question: "When should I choose Ray 3?", labels: [ray-3], sections: [FAQ]}
  - {id: b, category: out-of-scope, question: "How much does Ray 3.2 cost?", labels: [none], abstain: true}
"""


def _answer(question: str, label: Recommendation, abstained: bool) -> Answer:
    citations = (
        []
        if abstained
        else [Citation(source="ray-3.2-vs-ray-3.txt", section="FAQ", quote=QUOTE, chunk_id="x")]
    )
    return Answer(
        question=question,
        answer="The documents do not say." if abstained else f"Use **Ray 3**.\n\n{QUOTE}",
        recommendation=label,
        abstained=abstained,
        citations=citations,
        timings_ms={"total": 5.0},
    )


def _oracle() -> runner.AskFn:
    """Answers every case the way its labels say, by looking the question up in the cases file."""
    by_question = {(c.question, repr(c.history_dicts())): c for c in load_cases()}

    def ask(question: str, history: list[dict[str, str]]) -> Answer:
        case = by_question[(question, repr(history))]
        return _answer(question, case.labels[0], case.abstain)

    return ask


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(corpus_dir=ROOT / "corpus", chroma_path=tmp_path / "chroma")


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120, record=True)


def test_run_eval_with_a_perfect_assistant_passes(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    oracle = _oracle()
    monkeypatch.setattr(runner, "in_process_asker", lambda _settings, _generator: oracle)
    console = _quiet()
    result = runner.run_eval(runner.EvalOptions(report_dir=tmp_path / "r"), settings, console)
    assert result.passed, result.failures
    assert result.metrics["accuracy"] == 1.0 and result.metrics["invalid_citations"] == 0
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert len(data["cases"]) == len(load_cases())
    # Not silent while it works: what it is doing, then progress every few cases.
    said = console.export_text()
    total = len(load_cases())
    assert f"eval: {total} cases" in said and f"asked {runner.PROGRESS_EVERY}/{total} cases" in said
    # report.md defines each metric in one line.
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "- **accuracy**: share of cases" in report and "- **p95_ms**:" in report


def test_main_exit_codes_and_errors_per_case(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(SMALL_CASES, encoding="utf-8")

    def broken(question: str, history: list[dict[str, str]]) -> Answer:
        if "cost" in question:
            raise RuntimeError("backend down")
        return _answer(question, "ray-3", False)

    monkeypatch.setattr(runner, "in_process_asker", lambda _settings, _generator: broken)
    out = _quiet()
    code = runner.main(runner.EvalOptions(cases=cases), settings, out)
    assert code == 1
    text = out.export_text()
    assert "FAIL" in text and "abstention_recall" in text

    lenient = {"accuracy": 0.5, "abstention_precision": 0.0, "abstention_recall": 0.0}
    result = runner.run_eval(runner.EvalOptions(cases=cases, thresholds=lenient), settings, _quiet())
    assert result.passed and result.metrics["errors"] == 1
    assert result.rows[1]["got"] == "error" and "backend down" in result.rows[1]["error"]


def test_main_reports_a_bad_cases_file(settings: Settings, tmp_path: Path) -> None:
    out = _quiet()
    assert runner.main(runner.EvalOptions(cases=tmp_path / "nope.yaml"), settings, out) == 1
    assert "cannot read cases file" in out.export_text()


def test_http_asker_posts_question_history_and_key() -> None:
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        return httpx.Response(200, json=_answer(body["question"], "ray-3", False).model_dump())

    history = [{"role": "user", "content": "I have no footage."}]
    with ExitStack() as stack:
        ask = runner.http_asker("http://advisor.test/", "k3y", stack, transport=httpx.MockTransport(handler))
        answer = ask("Which model?", history)
    assert answer.recommendation == "ray-3"
    assert seen[0].url.path == "/v1/ask" and seen[0].headers["authorization"] == "Bearer k3y"
    assert json.loads(seen[0].content) == {"question": "Which model?", "history": history}
