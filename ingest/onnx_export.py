"""Export a BERT-like Hugging Face encoder to ONNX (fp32 and dynamic int8), for torch-free inference.

    export_encoder(model_dir, out_dir) -> OnnxFiles

`model_dir` is a sentence-transformers directory (such as the packaged all-MiniLM-L6-v2) or any
directory written by `save_pretrained` (config.json, weights, tokenizer.json). The encoder is exported
with inputs input_ids, attention_mask and token_type_ids (int64, dynamic batch and sequence axes) and
two outputs, last_hidden_state and the hidden states after layer SPLIT_LAYER (the learned decider's input);
`assistant.onnx_encoder.OnnxEncoder` runs it. Beside each model, its graph cut at that output
(`encoders.split_part`) serves readings that need only the decider's input. A classifier's directory
exports its base encoder (the head stays in its own weights, for the caller to apply).

torch is imported here only: this runs at ingest or training time, never on the answer path. The work
is skipped when `out_dir` already holds an export of the same weights (by hash).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

from assistant.deciders.inputs import SPLIT_LAYER, SPLIT_OUTPUT
from assistant.encoders import (
    EXPORT_FORMAT,
    MANIFEST,
    OnnxFiles,
    export_dir,
    find_tokenizer,
    split_part,
    transformer_dir,
    weights_hash,
)
from assistant.settings import Settings
from ingest.once import make_once

log = logging.getLogger("ray_advisor.onnx_export")
OPSET = 17


def _max_length(model_dir: Path, config: dict[str, object]) -> int:
    try:
        st = json.loads((Path(model_dir) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(st["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        positions = config.get("max_position_embeddings", 512)
        return int(positions) if isinstance(positions, int) else 512


def export_encoder(model_dir: Path, out_dir: Path) -> OnnxFiles:
    """Write out_dir/model.onnx, out_dir/model.int8.onnx, their graphs cut at the decider's split
    (`encoders.split_part`), out_dir/tokenizer.json and out_dir/onnx.json."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    digest = weights_hash(model_dir, out_dir.parent / "weights-hashes.json")
    folder = transformer_dir(model_dir)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    files = OnnxFiles.at(out_dir, digest, _max_length(model_dir, config))
    # Several processes may ask at once (two ingests, say): one exports, the others wait for it and use its files.
    if make_once(out_dir.parent / f".export-{out_dir.name}.lock", files.complete,
                 lambda: _export_into(out_dir, model_dir, folder, files, digest, config)):
        log.info("exported %s to %s", model_dir, out_dir)
    write_split_parts(files)  # an export made before they were written gets them now
    return files


def cut_at_split(model_file: Path) -> bytes | None:
    """The graph of `model_file` cut at the decider's split output (`encoders.split_part`), serialised; None for an
    export without that output."""
    import onnx
    import onnx.utils

    model = onnx.load(str(model_file))
    if SPLIT_OUTPUT not in {output.name for output in model.graph.output}:
        return None
    cut = onnx.utils.Extractor(model).extract_model([i.name for i in model.graph.input], [SPLIT_OUTPUT])
    return bytes(cut.SerializeToString())


def write_split_parts(files: OnnxFiles) -> None:
    """Each model's graph cut at the split output, beside it, unless there already (written whole, then renamed). A
    folder that cannot be written (a shared, read-only export) keeps none: the whole graph gives the same states."""
    for model_file in (files.fp32, files.int8):
        target = split_part(model_file)
        if target.is_file() or not model_file.is_file():
            continue
        cut = cut_at_split(model_file)
        if cut is None:
            continue
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            tmp.write_bytes(cut)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("cannot write %s (%s): follow-ups will read their states from the whole graph", target, exc)


def _export_into(out_dir: Path, model_dir: Path, folder: Path, files: OnnxFiles, digest: str,
                 config: dict[str, object]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # Build in a private folder, then move the files in: a crash or a concurrent export never leaves a
    # half-written model under the final name, and the manifest (written last) vouches for the rest.
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out_dir) as tmp_name:
        tmp = Path(tmp_name)
        _export_fp32(folder, tmp / files.fp32.name)
        quantise(tmp / files.fp32.name, tmp / files.int8.name)
        shutil.copyfile(find_tokenizer(model_dir), tmp / files.tokenizer.name)
        for name in (files.fp32.name, files.int8.name, files.tokenizer.name):
            os.replace(tmp / name, out_dir / name)
    for model_file in (files.fp32, files.int8):  # cut from the models just replaced: made again from these
        split_part(model_file).unlink(missing_ok=True)
    manifest = {"format": EXPORT_FORMAT, "weights_hash": digest, "source": str(model_dir.resolve()),
                "max_length": files.max_length, "opset": OPSET, "model_type": config.get("model_type"),
                "hidden_size": config.get("hidden_size"),
                "files": {"fp32": files.fp32.name, "int8": files.int8.name, "tokenizer": files.tokenizer.name}}
    tmp_manifest = out_dir / f".{MANIFEST}.{os.getpid()}"
    tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp_manifest, out_dir / MANIFEST)


def _export_fp32(folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
    model.eval()

    # The second output feeds the learned decider's own top layers, so one pass serves both. A model with
    # too few layers to split there (a tiny test model, say) is exported without it.
    split = int(getattr(model.config, "num_hidden_layers", 0)) > SPLIT_LAYER

    class LastHiddenState(torch.nn.Module):  # type: ignore[misc]  # torch is not analysed (pyproject)
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                               output_hidden_states=split)
            return (out.last_hidden_state, out.hidden_states[SPLIT_LAYER]) if split else (out.last_hidden_state,)

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(
            LastHiddenState(model), (ids, mask, torch.zeros_like(ids)), str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state", *([SPLIT_OUTPUT] if split else [])],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "last_hidden_state": axes, **({SPLIT_OUTPUT: axes} if split else {})},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )


def quantise(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation. Per-channel weight scales keep MiniLM's sentence vectors at cosine
    ~0.99 to fp32 (per-tensor scales: ~0.96)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint on the root logger
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def ensure_encoder(settings: Settings) -> OnnxFiles:
    """The export of the configured embedding model under RAY_ADVISOR_MODEL_DIR, made once if missing."""
    model_dir = Path(settings.embedding_model_path())
    out_dir, _ = export_dir(settings.model_dir, model_dir)
    return export_encoder(model_dir, out_dir)
