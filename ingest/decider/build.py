"""Train the decider once per (data, base model, recipe) and cache it beside the index.

The cache folder is named by a hash of the training data, the base model's weights and the training
recipe (which names the question encoder variant whose states it learns from, fp32 or int8), so an
unchanged ingest trains nothing, and a change to any of them trains a new model.
Building happens in a temporary folder that is renamed into place: a crash leaves no half model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.deciders.details import DETAIL_MODEL
from assistant.deciders.inputs import CLASSES
from assistant.deciders.learned import META, POINTER, TOP_MODEL, TOP_MODEL_FP32, read_pointer
from assistant.deciders.rows import ROW_MODEL, ROW_QUESTIONS
from assistant.settings import Settings
from assistant.spelling import save_speller
from ingest.decider.data import DATA_DIR, UPDATE_DIR, Example, data_digest, load_examples, update_examples
from ingest.decider.details import DETAILS_DIR, train_details
from ingest.decider.mending import corpus_texts, speller_for, training_rows, update_rows
from ingest.decider.train import Progress, TrainConfig
from ingest.once import make_once

if TYPE_CHECKING:
    from assistant.onnx_encoder import OnnxEncoder

# Bump when the training code changes what it produces (4: states from the ONNX encoder; 5: mended
# spelling, with the speller's vocabulary saved beside the model; 6: slipped copies of 15% of the examples,
# not 30%, and names inside a sentence left unmended; 7: an injected sentence keeps the question it asks;
# 8: the row classifier is trained beside it; 9: the update's second phase; 10: the detail classifier too; 11: words
# that are orders only in some uses no longer cut a written message, `inputs.INJECTION`; 12: the detail classifier
# for 4 epochs, `details.detail_config`; 13: the row classifier for 4 epochs and the detail classifier for 2; 14: the
# row classifier for 8 again, since at 4 a follow-up asking the same of the other model lost its row).
RECIPE_VERSION = 14


def model_key(base_model: Path, config: TrainConfig, data_dir: Path = DATA_DIR, update_dir: Path = UPDATE_DIR,
              details_dir: Path = DETAILS_DIR) -> str:
    # Not the documents: the speller saved beside the model learnt their words too, but answering adds the
    # current index's words again (`Speller.with_documents`), so a changed document costs no retraining.
    h = hashlib.sha256()
    h.update(data_digest(data_dir).encode())
    h.update(data_digest(update_dir).encode())
    h.update(data_digest(ROW_QUESTIONS).encode())  # the row classifier is trained into the same folder
    h.update(data_digest(details_dir).encode())  # and so is the detail classifier
    h.update(json.dumps({**asdict(config), "recipe": RECIPE_VERSION, "classes": CLASSES}, sort_keys=True).encode())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = base_model / name
        if path.exists():  # name, size and modification time: hashing 90 MB on every ingest costs ~0.3 s
            st = path.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def ensure_decider(settings: Settings, progress: Progress | None = None,
                   config: TrainConfig | None = None) -> tuple[Path, bool]:
    """The trained decider's folder, and whether it had to be trained now."""
    config = config or TrainConfig(states=settings.encoder)
    base = Path(settings.embedding_model_path())
    key = model_key(base, config)
    target = settings.model_dir / f"decider-{key}"

    def train_it() -> None:
        with tempfile.TemporaryDirectory(prefix=".decider-", dir=settings.model_dir) as tmp:
            _train_into(Path(tmp), base, key, config, states_encoder(settings, config.states),
                        corpus_texts(settings.corpus_dir), progress)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
            Path(tmp).mkdir()  # TemporaryDirectory removes its folder on exit; give it an empty one

    # Another ingest training this very model (in a second terminal, say) is waited for, and its model used,
    # rather than spending minutes of both cores on the same weights beside it.
    trained = make_once(settings.model_dir / f".decider-{key}.lock", lambda: _complete(target), train_it)
    _point_at(settings.model_dir, target, config.states)
    return target, trained


def _complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in (META, TOP_MODEL, ROW_MODEL, DETAIL_MODEL))


def states_encoder(settings: Settings, variant: str) -> OnnxEncoder:
    """The ONNX question encoder whose states the decider will read (two threads: a batch job)."""
    from assistant.encoders import question_encoder

    return question_encoder(settings.model_copy(update={"encoder": variant}), threads=2)


def _train_into(out: Path, base: Path, key: str, config: TrainConfig, states_from: OnnxEncoder,
                documents: list[str], progress: Progress | None) -> None:
    from ingest.decider import train
    from ingest.decider.export import export_top
    from ingest.decider.rows import train_rows

    started = time.perf_counter()
    written = load_examples()
    update = update_examples(written)
    known = states_from.whole_words()
    # The base phase is mended with the base's own speller, so it is the model the base data alone gives
    # (byte for byte); the update, and answering, use one that knows the update's words too.
    speller = speller_for([*written, *update], documents, known)
    examples = training_rows(written, config.seed, speller_for(written, documents, known) if update else speller)
    encoder = train.load_encoder(base)
    stages: dict[str, float] = {}

    def lap(stage: str) -> None:  # the seconds since the previous stage ended
        stages[stage] = time.perf_counter() - started - sum(stages.values())

    lap("prepare")
    states = train.onnx_states(states_from, [(e.text, e.context) for e in examples], progress)
    lap("encode")
    top = train.fit(states, [e.target for e in examples], encoder, config, progress)
    lap("fit")
    base_top = top
    later = update_rows(examples, [*written, *update], config.seed, speller, config.update_replay) if update else []
    if later:
        top = learn_update(base_top, later, encoder, states_from, config, progress)
        lap("update")
    export_top(top, out / TOP_MODEL_FP32, int(encoder.config.hidden_size), int8_file=out / TOP_MODEL)
    lap("export")
    rows = train_rows(out, encoder, states_from, speller, config, progress)
    lap("rows")
    details = train_details(out, encoder, states_from, speller, config, progress)
    lap("details")
    meta: dict[str, Any] = {
        "key": key, "classes": list(CLASSES), "split": config.split, "max_length": config.max_length,
        "states": config.states,
        "examples": len(written), "augmented_examples": len(examples) - len(written), "config": asdict(config),
        "update_examples": len(update), "update_rows": len(later),
        "base_model": str(base),
        # Read off each example's latest pass, not by predicting all rows again (a third of an epoch's time).
        "train_accuracy": round(float(base_top.train_accuracy), 4),
        "update_train_accuracy": round(float(top.train_accuracy), 4) if later else None,
        # fewer than all when settled examples are skipped; the update's epochs follow the base's
        "rows_by_epoch": [*base_top.rows_by_epoch, *(top.rows_by_epoch if later else [])],
        **rows,
        **details,
        "seconds": round(time.perf_counter() - started, 1),
        "seconds_by_stage": {stage: round(seconds, 1) for stage, seconds in stages.items()},
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_speller(speller, out)
    (out / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def learn_update(base_top: Any, rows: list[Example], encoder: Any, states_from: OnnxEncoder, config: TrainConfig,
                 progress: Progress | None = None) -> Any:
    """The base top fine-tuned on an update's rows (`mending.update_rows`) for `update_epochs` at `update_lr`; the
    base top is left as it was."""
    from ingest.decider import train

    def said(stage: str, done: int, total: int) -> None:  # its stages named apart from the base's
        if progress:
            progress(f"update {stage}", done, total)

    states = train.onnx_states(states_from, [(e.text, e.context) for e in rows], said)
    return train.fit(states, [e.target for e in rows], encoder,
                     replace(config, epochs=config.update_epochs, lr=config.update_lr), said, start=base_top)


def _point_at(model_dir: Path, target: Path, states: str) -> None:
    """Record which decider the assistant loads for this encoder variant (written atomically; readers never
    see half a file)."""
    last, by_states = read_pointer(model_dir)
    if last == target.name and by_states.get(states) == target.name:
        return
    by_states[states] = target.name
    pointer = model_dir / POINTER
    tmp = pointer.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"dir": target.name, "by_states": by_states}), encoding="utf-8")
    os.replace(tmp, pointer)
