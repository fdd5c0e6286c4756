"""Eval cases: a pydantic model and a loader that rejects bad files with a message naming the case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Label = Literal["ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none"]
LABELS: tuple[str, ...] = get_args(Label)
SECTIONS: tuple[str, ...] = ("Introduction", "Comparison", "Decision guide", "FAQ")
DEFAULT_CASES_PATH = Path(__file__).with_name("cases.yaml")


class CaseFileError(ValueError):
    """The cases file is malformed; the message names the offending case."""


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class EvalCase(BaseModel):
    # Unknown keys are typos in the YAML (e.g. "label:"), so they fail loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    category: str = Field(min_length=1)
    question: str = Field(min_length=1)
    history: list[HistoryTurn] = Field(default_factory=list)
    labels: list[Label] = Field(min_length=1)
    abstain: bool = False
    must_mention: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    # Which document items the case exercises (e.g. "faq:together"); lets a test prove coverage.
    covers: list[str] = Field(default_factory=list)

    @field_validator("sections")
    @classmethod
    def _known_sections(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SECTIONS]
        if unknown:
            raise ValueError(f"unknown section(s) {unknown}; use {list(SECTIONS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        # An abstention has nothing to cite and no model to name; anything else must cite something.
        if self.abstain and (self.labels != ["none"] or self.sections):
            raise ValueError("abstain: true needs labels [none] and no sections")
        if not self.abstain and not self.sections:
            raise ValueError("a case that is answered needs at least one expected section")
        return self

    def history_dicts(self) -> list[dict[str, str]]:
        return [turn.model_dump() for turn in self.history]


def parse_cases(raw: Any, origin: str = "<cases>") -> list[EvalCase]:
    """Validate already-parsed YAML: a list of mappings, or a mapping with a `cases` list."""
    items = raw.get("cases") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise CaseFileError(f"{origin}: expected a non-empty list of cases (or a mapping with 'cases:')")
    cases: list[EvalCase] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
        if not isinstance(item, dict):
            raise CaseFileError(f"{origin}: case {name} is not a mapping")
        try:
            case = EvalCase.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'case'}: {err['msg']}" for err in exc.errors()
            )
            raise CaseFileError(f"{origin}: case {name!s}: {problems}") from None
        if case.id in seen:
            raise CaseFileError(
                f"{origin}: duplicate case id {case.id!r} (cases #{seen[case.id]} and #{index})"
            )
        seen[case.id] = index
        cases.append(case)
    return cases


def _parse_jsonl(text: str, origin: str) -> list[Any]:
    rows: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CaseFileError(f"{origin}: line {number} is not valid JSON: {exc.msg}") from None
    return rows


def load_cases(path: Path | str | None = None) -> list[EvalCase]:
    """Cases from YAML (default: the packaged cases.yaml) or JSONL (one case per line, by suffix)."""
    source = Path(path) if path is not None else DEFAULT_CASES_PATH
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"cannot read cases file {source}: {exc.strerror}") from None
    if source.suffix.lower() == ".jsonl":
        return parse_cases(_parse_jsonl(text, str(source)), origin=str(source))
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{source}: not valid YAML: {exc}") from None
    return parse_cases(raw, origin=str(source))
