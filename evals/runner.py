"""Run the eval cases against the assistant (in-process, a named generator, or an HTTP URL) and gate.

The CLI should call `main(...)` (exit code) or `run_eval(...)` (an `EvalResult`); both import the
assistant lazily so `evals` costs nothing until an eval actually runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import track

from evals.cases import CaseFileError, EvalCase, load_cases
from evals.gates import GateFileError, check_thresholds, resolve_thresholds
from evals.metrics import CitedQuote, Outcome, compute_metrics
from evals.report import print_summary, write_report
from evals.results import EvalResult, outcome_rows

if TYPE_CHECKING:
    import httpx

    from assistant.schema import Answer
    from assistant.settings import Settings

AskFn = Callable[[str, list[dict[str, str]]], "Answer"]
CORPUS_SUFFIXES = (".txt", ".md", ".html", ".htm")
HTTP_TIMEOUT_S = 120.0


def load_corpus(corpus_dir: Path) -> dict[str, str]:
    """File name -> text for every document a citation may name (the same names ingest uses)."""
    return {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(Path(corpus_dir).iterdir())
        if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
    }


def in_process_asker(settings: Settings, generator: str | None) -> AskFn:
    from assistant import Assistant

    bot = (
        Assistant.from_settings(settings, generator=generator)
        if generator
        else Assistant.from_settings(settings)
    )
    return lambda question, history: bot.ask(question, history=history)


def http_asker(
    url: str,
    api_key: str | None,
    stack: ExitStack,
    timeout: float = HTTP_TIMEOUT_S,
    transport: httpx.BaseTransport | None = None,
) -> AskFn:
    """Ask a running server's `POST /v1/ask`; the client is closed when `stack` closes."""
    import httpx

    from assistant.schema import Answer

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    client = stack.enter_context(
        httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)
    )

    def ask(question: str, history: list[dict[str, str]]) -> Answer:
        response = client.post("/v1/ask", json={"question": question, "history": history})
        response.raise_for_status()
        return Answer.model_validate(response.json())

    return ask


def to_outcome(case: EvalCase, answer: Answer | None, wall_ms: float, error: str | None = None) -> Outcome:
    base: dict[str, Any] = {
        "case_id": case.id,
        "category": case.category,
        "question": case.question,
        "expected_labels": tuple(case.labels),
        "expected_abstain": case.abstain,
        "expected_sections": tuple(case.sections),
        "must_mention": tuple(case.must_mention),
    }
    if answer is None:
        return Outcome(**base, got_label="none", got_abstained=False, latency_ms=wall_ms, error=error)
    citations = tuple(CitedQuote(c.source, c.section, c.quote) for c in answer.citations)
    return Outcome(
        **base,
        got_label=answer.recommendation,
        got_abstained=answer.abstained,
        answer=answer.answer,
        citations=citations,
        # The assistant's own total excludes HTTP/serialisation overhead; wall time is the fallback.
        latency_ms=float(answer.timings_ms.get("total", wall_ms)),
    )


PROGRESS_EVERY = 20  # a plain progress line every this many cases when the console is not a terminal


def run_cases(cases: list[EvalCase], ask: AskFn, console: Console | None = None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    console = console or Console()
    live = console.is_terminal
    progress = track(cases, description=f"asking {len(cases)} cases", console=console, transient=True) \
        if live else cases
    started_all = time.perf_counter()
    for done, case in enumerate(progress):
        if not live and done and done % PROGRESS_EVERY == 0:
            console.print(f"  asked {done}/{len(cases)} cases ({time.perf_counter() - started_all:.0f} s)",
                          highlight=False)
        started = time.perf_counter()
        try:
            answer = ask(case.question, case.history_dicts())
        except Exception as exc:  # one broken case must not hide the other results
            wall = (time.perf_counter() - started) * 1000
            outcomes.append(to_outcome(case, None, wall, error=f"{type(exc).__name__}: {exc}"))
            continue
        outcomes.append(to_outcome(case, answer, (time.perf_counter() - started) * 1000))
    return outcomes


@dataclass(frozen=True)
class EvalOptions:
    """One eval run: which cases, against what, gated how, reported where (the CLI's and `python -m evals`'
    options; `None` means the default)."""

    cases: Path | str | None = None  # the frozen evals/cases.yaml
    report_dir: Path | str | None = None  # no report files
    generator: str | None = None  # the settings' generator, in-process
    url: str | None = None  # a running server's HTTP API instead of in-process
    api_key: str | None = None  # for `url`; default RAY_ADVISOR_API_KEY
    thresholds: Mapping[str, float] | Path | str | None = None  # RAY_ADVISOR_EVAL_THRESHOLDS_PATH or the goals


def run_eval(options: EvalOptions | None = None, settings: Settings | None = None,
             console: Console | None = None) -> EvalResult:
    """Ask every case, compute the metrics, print a table, write reports, and gate on the thresholds."""
    from assistant.settings import load_settings

    opts = options or EvalOptions()
    console = console or Console()
    settings = settings or load_settings()
    thresholds = opts.thresholds
    if thresholds is None and settings.eval_thresholds_path is not None:
        thresholds = settings.eval_thresholds_path
    gates = resolve_thresholds(thresholds)
    cases = load_cases(opts.cases)
    corpus = load_corpus(settings.corpus_dir)
    with ExitStack() as stack:
        if opts.url:
            console.print(f"eval: {len(cases)} cases against {opts.url}", highlight=False)
            ask, target = http_asker(opts.url, opts.api_key or settings.api_key, stack), opts.url
        else:
            console.print(f"eval: {len(cases)} cases; loading the index and the embedding model (about 10 s)…",
                          highlight=False)
            ask, target = in_process_asker(settings, opts.generator), opts.generator or settings.generator
        outcomes = run_cases(cases, ask, console)
        console.print(f"eval: asked {len(outcomes)} cases; computing metrics", highlight=False)
    metrics = compute_metrics(outcomes, corpus).as_dict()
    result = EvalResult(
        metrics=metrics,
        rows=outcome_rows(outcomes, corpus),
        thresholds=gates,
        failures=check_thresholds(metrics, gates),
        target=target,
    )
    if opts.report_dir is not None:
        write_report(result, opts.report_dir)
    print_summary(result, console)
    if result.report_files:
        console.print(f"report written to {Path(opts.report_dir or '.').resolve()}")
    return result


def main(options: EvalOptions | None = None, settings: Settings | None = None, console: Console | None = None) -> int:
    """`run_eval` as an exit code: 0 when every threshold holds, 1 otherwise (or when it cannot run)."""
    from assistant.errors import RayAdvisorError
    from assistant.settings import SettingsError

    console = console or Console()
    try:
        result = run_eval(options, settings, console)
    except (CaseFileError, GateFileError, SettingsError, RayAdvisorError, OSError) as exc:
        console.print(f"[red]eval could not run:[/red] {exc}", highlight=False)
        return 1
    return 0 if result.passed else 1
