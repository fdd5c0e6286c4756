"""Train the row classifier (`assistant/deciders/rows.py`) beside the decider, from the same split-layer states.

The examples are mended and normalised as answering mends and normalises a question, and read with no
earlier turns. The recipe is the decider's but for its length and batch: 455 examples, not 8,700.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    questions = load_row_questions()
    classes = row_classes(questions)
    fit_beside(out, (ROW_MODEL, ROW_MODEL_FP32), [q.text for q in questions], [q.row for q in questions], classes,
               "table rows", encoder, states_from, speller, row_config(config), progress)
    return {"row_classes": classes, "row_examples": len(questions)}


def fit_beside(out: Path, files: tuple[str, str], texts: Sequence[str], targets: Sequence[str],
               classes: Sequence[str], bar: str, encoder: Any, states_from: OnnxEncoder, speller: Speller,
               recipe: TrainConfig, progress: Progress | None) -> None:
    """Fit one of the small classifiers trained beside the decider (the row classifier, the detail classifier) and
    export it into `out` as `files` (int8, fp32): each text mended and normalised as answering mends a question and
    read alone, with its `recipe` (`row_config`, `details.detail_config`) and its own progress bar named `bar`."""
    from ingest.decider import train
    from ingest.decider.export import export_top

    states = train.onnx_states(states_from, [(speller.mend(normalise(text)), "") for text in texts], None)

    def fitting(_: str, done: int, total: int) -> None:  # its own bar, not the decider's finished one
        if progress:
            progress(bar, done, total)

    top = train.fit(states, targets, encoder, recipe, fitting, classes=classes)
    int8_file, fp32_file = files
    export_top(top, out / fp32_file, int(encoder.config.hidden_size), int8_file=out / int8_file)
