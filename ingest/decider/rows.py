"""Train the row classifier (`assistant/deciders/rows.py`) beside the decider, from the same split-layer states.

The examples are mended and normalised as answering mends and normalises a question, and read with no
earlier turns. The recipe is the decider's but for its length and batch: 455 examples, not 8,700.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.deciders.inputs import normalise
from assistant.deciders.rows import ROW_MODEL, ROW_MODEL_FP32, load_row_questions, row_classes
from assistant.spelling import Speller
from ingest.decider.train import Progress, TrainConfig

if TYPE_CHECKING:
    from assistant.onnx_encoder import OnnxEncoder


def row_config(config: TrainConfig) -> TrainConfig:
    """The decider's recipe (seed, precision, states) with the row model's length and batch. Chosen by 5-fold
    cross-validation on the examples (rows found of the 380 that ask about one, 2026-12-04): 4 / 6 / 8 epochs
    at 3e-4 358 / 358 / 362; 6 at 2e-4 / 5e-4 355 / 361."""
    return replace(config, epochs=8, lr=3e-4, batch_size=16, settle_from=0)


def train_rows(out: Path, encoder: Any, states_from: OnnxEncoder, speller: Speller, config: TrainConfig,
               progress: Progress | None = None) -> dict[str, Any]:
    """Fit and export the row classifier into `out`; what the decider's meta records of it."""
    from ingest.decider import train
    from ingest.decider.export import export_top

    questions = load_row_questions()
    classes = row_classes(questions)
    texts = [(speller.mend(normalise(q.text)), "") for q in questions]
    states = train.onnx_states(states_from, texts, None)

    def fitting(_: str, done: int, total: int) -> None:  # its own bar, not the decider's finished one
        if progress:
            progress("table rows", done, total)

    top = train.fit(states, [q.row for q in questions], encoder, row_config(config), fitting, classes=classes)
    export_top(top, out / ROW_MODEL_FP32, int(encoder.config.hidden_size), int8_file=out / ROW_MODEL)
    return {"row_classes": classes, "row_examples": len(questions)}
