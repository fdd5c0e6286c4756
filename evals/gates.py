"""Pass/fail gates: the runner's thresholds and the committed baseline the CI compares against.

A gate on a metric is a floor ("at least"), except for counts of bad things, which are ceilings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLDS: dict[str, float] = {
    "accuracy": 0.95,
    "abstention_precision": 0.95,
    "abstention_recall": 0.95,
    "invalid_citations": 0,
}
BASELINE_PATH = Path(__file__).with_name("baseline.json")
# Metrics where smaller is better: the gate value is a maximum, not a minimum.
CEILINGS = frozenset({"invalid_citations", "invalid_rate", "errors", "p50_ms", "p95_ms"})


class GateFileError(ValueError):
    """A thresholds or baseline file cannot be used; the message names the file and the key."""


def _numeric_mapping(raw: Any, origin: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise GateFileError(f"{origin}: expected a JSON object of metric name -> number")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GateFileError(f"{origin}: {key!r} must be a number, got {value!r}")
        out[str(key)] = float(value)
    return out


def load_gate_file(path: Path | str) -> dict[str, float]:
    source = Path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateFileError(f"cannot read {source}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise GateFileError(f"{source}: not valid JSON: {exc}") from None
    return _numeric_mapping(raw, str(source))


def resolve_thresholds(thresholds: Mapping[str, float] | Path | str | None) -> dict[str, float]:
    """Defaults, overridden key by key by a dict or a JSON file."""
    merged = dict(DEFAULT_THRESHOLDS)
    if isinstance(thresholds, Path | str):
        merged.update(load_gate_file(thresholds))
    elif thresholds is not None:
        merged.update(_numeric_mapping(thresholds, "thresholds"))
    return merged


def load_baseline(path: Path | str | None = None) -> dict[str, float]:
    return load_gate_file(path if path is not None else BASELINE_PATH)


def _check(metrics: Mapping[str, Any], gates: Mapping[str, float], what: str) -> list[str]:
    failures: list[str] = []
    for name, limit in gates.items():
        value = metrics.get(name)
        if not isinstance(value, int | float):
            failures.append(f"{name}: missing from the metrics ({what} {limit:g})")
        elif name in CEILINGS and value > limit:
            failures.append(f"{name} = {value:g} is above the {what} {limit:g}")
        elif name not in CEILINGS and value < limit:
            failures.append(f"{name} = {value:.3f} is below the {what} {limit:.3f}")
    return failures


def check_thresholds(metrics: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    return _check(metrics, thresholds, "threshold")


def check_against_baseline(metrics: Mapping[str, Any], baseline: Mapping[str, float]) -> list[str]:
    """One message per metric that fell below (or, for counts, rose above) the committed baseline."""
    return _check(metrics, baseline, "baseline")
