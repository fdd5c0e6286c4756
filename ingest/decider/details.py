"""Train the detail classifier (`assistant/deciders/details.py`) beside the decider, from the same split-layer states.

Its examples (data/details/, see the CARD.md there) are follow-ups labelled `detail` true or false. Each is mended
and normalised as answering mends and normalises a question, and read alone, as answering reads it. The recipe is
the row classifier's with a quarter of its epochs (`detail_config`), fitted by the same code (`rows.fit_beside`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.deciders.details import DETAIL_CLASSES, DETAIL_MODEL, DETAIL_MODEL_FP32
from assistant.deciders.inputs import strip_injections
from assistant.errors import IngestError
from assistant.spelling import Speller
from ingest.decider.rows import fit_beside, row_config
from ingest.decider.train import Progress, TrainConfig

if TYPE_CHECKING:
    from assistant.onnx_encoder import OnnxEncoder

DETAILS_DIR = Path(__file__).parent / "data" / "details"


def detail_config(config: TrainConfig) -> TrainConfig:
    """The row classifier's recipe for 2 epochs: 37 s of a fresh training here (128 s at 8 epochs, 68 s at 4). Each
    halving was kept because the answers held, with rules written before measuring. 8 -> 4 (2026-12-06): 757 of the
    798 multi-turn dev lines right either way, `evals/dev` 542 both, the 51 unseen eval-format sets 3,037 both, frozen
    0.981 both. 4 -> 2 (same day): 757 both; the 59 unseen sets 3,511 both (two sets one lower, two one higher); quote
    dev 146 both; frozen 0.981, the same three misses. (The row classifier at 4 epochs as well, measured with it, broke
    a follow-up's row in tests/test_decider.py, so it keeps its 8.)"""
    return replace(row_config(config), epochs=2)


@dataclass(frozen=True)
class DetailExample:
    text: str
    detail: bool
    writer: str  # the file it came from


def load_detail_examples(folder: Path = DETAILS_DIR) -> list[DetailExample]:
    """Every line of folder/*.jsonl: {"text", "history", "detail": bool, "kind"}; the first of two alike wins."""
    examples: dict[str, DetailExample] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(f"{path}:{number}: not JSON ({exc.msg})") from None
            text, detail = row.get("text"), row.get("detail")
            if not isinstance(text, str) or not text.strip() or not isinstance(detail, bool):
                raise IngestError(f"{path}:{number}: needs a non-empty 'text' and a true/false 'detail'")
            cleaned, _ = strip_injections(text)  # as answering does before anything reads a message
            if cleaned:
                examples.setdefault(cleaned.lower(), DetailExample(cleaned, detail, path.stem))
    return list(examples.values())


def train_details(out: Path, encoder: Any, states_from: OnnxEncoder, speller: Speller, config: TrainConfig,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Fit and export the detail classifier into `out`; what the decider's meta records of it."""
    examples = load_detail_examples()
    if not examples:
        raise IngestError(f"no detail examples in {DETAILS_DIR}")
    targets = [DETAIL_CLASSES[0] if e.detail else DETAIL_CLASSES[1] for e in examples]
    fit_beside(out, (DETAIL_MODEL, DETAIL_MODEL_FP32), [e.text for e in examples], targets, DETAIL_CLASSES,
               "follow-up details", encoder, states_from, speller, detail_config(config), progress)
    return {"detail_examples": len(examples), "detail_true": sum(e.detail for e in examples)}
