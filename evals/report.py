"""Reports of an eval run: a rich table on the console, and report.md, report.html, two PNGs and
results.json in a directory."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals.charts import categories_png, confusion_png
from evals.gates import DEFAULT_THRESHOLDS
from evals.results import EvalResult

# Headline metrics in display order, with how each is formatted.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("cases", "{:.0f}"),
    ("accuracy", "{:.3f}"),
    ("accuracy_low", "{:.3f}"),
    ("accuracy_high", "{:.3f}"),
    ("pass_rate", "{:.3f}"),
    ("fully_right", "{:.3f}"),
    ("abstention_precision", "{:.3f}"),
    ("abstention_recall", "{:.3f}"),
    ("citations", "{:.0f}"),
    ("invalid_citations", "{:.0f}"),
    ("citation_relevance", "{:.3f}"),
    ("must_mention_rate", "{:.3f}"),
    ("answer_support", "{:.3f}"),
    ("p50_ms", "{:.1f}"),
    ("p95_ms", "{:.1f}"),
    ("errors", "{:.0f}"),
)


# One line each, written into report.md under the metrics table.
DEFINITIONS: dict[str, str] = {
    "cases": "number of eval cases asked.",
    "accuracy": "share of cases whose recommendation is one of the case's acceptable labels (errors count as wrong).",
    "accuracy_low": "lower end of accuracy's 95% Wilson interval: how low the same answers could score on as "
                    "many new cases of this kind, by chance alone.",
    "accuracy_high": "upper end of that interval (on 159 cases, 0.975 spans about 0.94-0.99).",
    "pass_rate": "share of cases with both the label and the abstain/answer decision right.",
    "fully_right": "share of cases right in every way checked: label, abstention, every required term in the answer, "
                   "and a quote from an expected section when it answers.",
    "abstention_precision": "of the answers that abstained, the share where the case expected an abstention.",
    "abstention_recall": "of the cases that expected an abstention, the share that abstained.",
    "citations": "number of quotes cited over all answers.",
    "invalid_citations": "quotes not found verbatim (whitespace-normalised) in the source file they name.",
    "citation_relevance": "share of answered cases citing at least one section the case expects.",
    "must_mention_rate": "share of the cases' required terms found in the answer text.",
    "answer_support": "share of the answers' claim sentences backed by one of their own verified quotes.",
    "p50_ms": "median time to answer one question, in milliseconds.",
    "p95_ms": "95th-percentile time to answer one question, in milliseconds.",
    "errors": "cases where asking raised an error instead of answering.",
}


def headline(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, fmt.format(metrics[name])) for name, fmt in HEADLINE if name in metrics]


def accuracy_target(result: EvalResult) -> float:
    return result.thresholds.get("accuracy", DEFAULT_THRESHOLDS["accuracy"])


def failed_rows(result: EvalResult) -> list[dict[str, Any]]:
    return [row for row in result.rows if not row["ok"]]


def print_summary(result: EvalResult, console: Console) -> None:
    table = Table(title=f"Ray Advisor answer evals ({result.target})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("gate", justify="right")
    for name, value in headline(result.metrics):
        gate = result.thresholds.get(name)
        table.add_row(name, value, "" if gate is None else f"{gate:g}")
    console.print(table)

    cats = Table(title="accuracy by category")
    cats.add_column("category")
    cats.add_column("accuracy", justify="right")
    for name, value in result.metrics.get("by_category", {}).items():
        cats.add_row(name, f"{value:.3f}", style=None if value >= accuracy_target(result) else "red")
    console.print(cats)

    wrong = failed_rows(result)
    if wrong:
        misses = Table(title=f"{len(wrong)} case(s) not ok")
        for column in ("id", "expected", "got", "abstained", "question"):
            misses.add_column(column, overflow="fold")
        for row in wrong:
            expected = "/".join(row["expected"]) + (" (abstain)" if row["expected_abstain"] else "")
            misses.add_row(row["id"], expected, row["got"], str(row["abstained"]), row["question"])
        console.print(misses)
    verdict = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    console.print(f"{verdict}" + "".join(f"\n  - {msg}" for msg in result.failures), highlight=False)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _confusion_rows(confusion: Mapping[str, Mapping[str, int]]) -> tuple[list[str], list[list[Any]]]:
    cols = list(next(iter(confusion.values()), {}))
    return ["expected \\ predicted", *cols], [[r, *(confusion[r][c] for c in cols)] for r in confusion]


def _metric_rows(result: EvalResult) -> list[list[Any]]:
    return [[name, value, result.thresholds.get(name, "")] for name, value in headline(result.metrics)]


def render_markdown(result: EvalResult) -> str:
    m = result.metrics
    lines = [f"# Ray Advisor answer evals: {'PASS' if result.passed else 'FAIL'}", ""]
    lines += [f"Target: `{result.target}`.", ""]
    lines += [f"- {msg}" for msg in result.failures] + ([""] if result.failures else [])
    lines += ["## Metrics", ""]
    lines += _md_table(
        ["metric", "value", "gate"], [[n, v, result.thresholds.get(n, "")] for n, v in headline(m)]
    )
    lines += ["What each metric means:", ""]
    lines += [f"- **{name}**: {DEFINITIONS[name]}" for name, _ in headline(m) if name in DEFINITIONS] + [""]
    lines += ["## Accuracy by category", "", "![accuracy by category](categories.png)", ""]
    lines += _md_table(
        ["category", "accuracy"], [[c, f"{v:.3f}"] for c, v in m.get("by_category", {}).items()]
    )
    lines += ["## Confusion matrix", "", "Rows: the acceptable label matched, else the first one listed.", ""]
    lines += ["![confusion matrix](confusion.png)", ""]
    lines += _md_table(*_confusion_rows(m.get("confusion", {})))
    wrong = failed_rows(result)
    lines += [f"## Cases not ok ({len(wrong)})", ""]
    lines += _md_table(
        ["id", "category", "expected", "got", "abstained", "question"],
        [
            [r["id"], r["category"], "/".join(r["expected"]), r["got"], r["abstained"], r["question"]]
            for r in wrong
        ],
    )
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _case_cells(r: Mapping[str, Any]) -> list[Any]:
    result = "ok" if r["ok"] else "NOT OK"
    expected = "/".join(r["expected"])
    return [
        r["id"],
        r["category"],
        result,
        expected,
        r["got"],
        r["abstained"],
        r["question"],
        len(r["citations"]),
        r["latency"],
    ]


def render_html(result: EvalResult) -> str:
    m = result.metrics
    status = "PASS" if result.passed else "FAIL"
    failures = "".join(f"<li>{html.escape(msg)}</li>" for msg in result.failures)
    case_header = ["id", "category", "result", "expected", "got", "abstained", "question", "citations", "ms"]
    case_rows = [_case_cells(r) for r in result.rows]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Ray Advisor evals</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}</style>",
        f"</head><body><h1>Ray Advisor answer evals: {status}</h1>",
        f"<p>Target: <code>{html.escape(result.target)}</code></p>",
        f"<ul>{failures}</ul>" if failures else "",
        "<h2>Metrics</h2>",
        _html_table(["metric", "value", "gate"], _metric_rows(result)),
        "<h2>Accuracy by category</h2><img src='categories.png' alt='accuracy by category'>",
        "<h2>Confusion matrix</h2><img src='confusion.png' alt='confusion matrix'>",
        _html_table(*_confusion_rows(m.get("confusion", {}))),
        "<h2>Cases</h2>",
        _html_table(case_header, case_rows),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(result: EvalResult, report_dir: Path | str) -> dict[str, Path]:
    """Write every report file into report_dir (created if needed); returns name -> path."""
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "results.json": out / "results.json",
        "report.md": out / "report.md",
        "report.html": out / "report.html",
        "confusion.png": confusion_png(result.metrics.get("confusion", {}), out / "confusion.png"),
        "categories.png": categories_png(
            result.metrics.get("by_category", {}), out / "categories.png", accuracy_target(result)
        ),
    }
    files["results.json"].write_text(json.dumps(result.as_json(), indent=2, default=str), encoding="utf-8")
    files["report.md"].write_text(render_markdown(result), encoding="utf-8")
    files["report.html"].write_text(render_html(result), encoding="utf-8")
    result.report_files = files
    return files
