"""The result of one eval run, and the per-case rows that results.json and the reports show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.metrics import ERROR_LABEL, Outcome, quote_is_valid


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    target: str = "in-process"  # what was evaluated: "in-process", a generator name, or a URL
    report_files: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "passed": self.passed,
            "failures": self.failures,
            "thresholds": self.thresholds,
            "metrics": self.metrics,
            "cases": self.rows,
        }


def outcome_rows(outcomes: Sequence[Outcome], corpus: Mapping[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        rows.append(
            {
                "id": o.case_id,
                "category": o.category,
                "question": o.question,
                "expected": list(o.expected_labels),
                "expected_abstain": o.expected_abstain,
                "got": ERROR_LABEL if o.error is not None else o.got_label,
                "abstained": o.got_abstained,
                "ok": o.ok,
                "fully_right": o.fully_right,
                "label_ok": o.label_ok,
                "abstain_ok": o.abstain_ok,
                "answer": o.answer,
                "citations": [
                    {
                        "source": c.source,
                        "section": c.section,
                        "quote": c.quote,
                        "valid": quote_is_valid(c, corpus),
                    }
                    for c in o.citations
                ],
                "latency": round(o.latency_ms, 1),
                "error": o.error,
            }
        )
    return rows
