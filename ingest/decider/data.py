"""The decider's training data: labelled situations in JSONL, written apart from the frozen eval cases.

Every file under data/raw/ (the base) and data/update/ (rounds written after the base model shipped, trained
on in a short second phase: `TrainConfig.update_epochs`) is one writer's batch (see data/CARD.md). A line is
{"text", "history", "label", "abstain", "voice", "kind"}; the class trained on is the label, or
"abstain" when the documents do not cover the question.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.deciders.inputs import CLASSES, decider_input, strip_injections
from assistant.errors import IngestError

DATA_DIR = Path(__file__).parent / "data" / "raw"
UPDATE_DIR = DATA_DIR.parent / "update"
LABELS = ("ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none")
DEV_SHARE = 15  # percent of examples held out as the dev split, chosen by a hash of the text


@dataclass(frozen=True)
class Example:
    text: str
    context: str
    target: str  # one of CLASSES
    writer: str  # the file it came from
    kind: str
    voice: str

    @property
    def key(self) -> tuple[str, str]:
        """What makes two examples the same one: the conversation and the message, whatever its case."""
        return self.context, self.text.lower()

    @property
    def split(self) -> str:
        digest = hashlib.sha256(f"{self.context}\n{self.text}".encode()).digest()
        return "dev" if digest[0] * 100 // 256 < DEV_SHARE else "train"


def _parse(line: str, where: str) -> Example | None:
    try:
        row: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{where}: not JSON ({exc.msg})") from None
    label, abstain = row.get("label"), row.get("abstain")
    if label not in LABELS or not isinstance(abstain, bool) or (abstain and label != "none"):
        raise IngestError(f"{where}: label {label!r} / abstain {abstain!r} is not a valid pair")
    text, history = row.get("text"), row.get("history", [])
    if not isinstance(text, str) or not text.strip() or not isinstance(history, list):
        raise IngestError(f"{where}: needs a non-empty 'text' and a 'history' list")
    cleaned, _ = strip_injections(text)  # as answering does before the decider reads a message
    if not cleaned:
        return None  # only an instruction: answering abstains on it before any model is asked
    message, context = decider_input(cleaned, history)
    target = "abstain" if abstain else str(label)
    assert target in CLASSES
    return Example(message, context, target, Path(where.split(":")[0]).stem, str(row.get("kind", "")),
                   str(row.get("voice", "")))


def load_examples(data_dir: Path = DATA_DIR, required: bool = True) -> list[Example]:
    examples: dict[tuple[str, str], Example] = {}
    for path in sorted(data_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                example = _parse(line, f"{path}:{number}")
                if example is not None:
                    examples.setdefault(example.key, example)  # first writer wins
    if not examples and required:
        raise IngestError(f"no decider training data in {data_dir}")
    return list(examples.values())


def update_examples(base: list[Example], update_dir: Path = UPDATE_DIR) -> list[Example]:
    """The update's examples that the base does not already hold (none when there is no update folder)."""
    seen = {e.key for e in base}
    return [e for e in load_examples(update_dir, required=False) if e.key not in seen]


def data_digest(data_dir: Path = DATA_DIR) -> str:
    h = hashlib.sha256()
    for path in sorted(data_dir.glob("*.jsonl")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
