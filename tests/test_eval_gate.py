"""The CI gate: the full eval suite, in-process on the extractive generator, against a real index.

It must not fall below the committed baseline (evals/baseline.json), and no quote may be invented.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from assistant.settings import Settings
from evals.gates import check_against_baseline, load_baseline
from evals.runner import EvalOptions, run_eval

pytestmark = pytest.mark.eval


def test_eval_suite_meets_the_baseline(ingested_settings: Settings, tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=160, record=True)
    result = run_eval(EvalOptions(report_dir=tmp_path / "report", generator="extractive"), ingested_settings, console)
    failures = check_against_baseline(result.metrics, load_baseline())
    assert not failures, "\n".join(failures) + "\n\n" + console.export_text()
    assert result.metrics["invalid_citations"] == 0
    assert result.metrics["errors"] == 0, console.export_text()
    for name in ("report.md", "report.html", "confusion.png", "categories.png", "results.json"):
        assert (tmp_path / "report" / name).is_file(), name
