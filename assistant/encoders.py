"""The question encoder the answer path uses: its protocol, and where a model's ONNX export lives.

An export of a model directory is kept in `<RAY_ADVISOR_MODEL_DIR>/<hash of its weights>/`:
`model.onnx` (fp32), `model.int8.onnx` (dynamic int8 quantisation), each with its graph cut at the
decider's split (`split_part`), `tokenizer.json` and `onnx.json`
(what was exported, from which weights). `ingest/onnx_export.py` writes it (torch is needed for that,
at ingest or training time only); this module only finds and reads it, and never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from assistant.deciders.inputs import SPLIT_LAYER
from assistant.errors import IndexMissingError

if TYPE_CHECKING:
    import numpy as np

    from assistant.onnx_encoder import OnnxEncoder
    from assistant.settings import Settings


class QuestionEncoder(Protocol):
    """What answering needs from an encoder. `OnnxEncoder` is the real one, `assistant.fakes.HashingEncoder`
    an in-process stand-in for unit tests of pipeline logic."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors [N, dim], L2-normalised."""
        ...

    def encode_pair(self, text: str, context: str = "") -> tuple[np.ndarray, np.ndarray | None]:
        """One question (and its conversation) in one pass: its vector, and the decider's input states."""
        ...

    def split_states(self, text: str, context: str = "") -> np.ndarray | None:
        """`encode_pair`'s states alone, bit for bit, with no more work than they take: for a reading that no vector
        is wanted from (a follow-up read without its conversation, the turn before)."""
        ...


Variant = Literal["fp32", "int8"]
FILE_NAMES: dict[Variant, str] = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
MANIFEST = "onnx.json"
# Bump when the export itself changes (inputs, outputs, opset, quantisation), to re-export; the decider's
# split layer is part of it, since the export's second output is that layer's hidden states.
EXPORT_FORMAT = f"3-split{SPLIT_LAYER}"
_HASHES = "weights-hashes.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")
_HASH_LOCK = threading.Lock()


def split_part(model_file: Path) -> Path:
    """Where an export keeps its graph cut at the decider's split output (`model.int8.split.onnx` beside
    `model.int8.onnx`; `ingest/onnx_export.py` writes it): the same nodes up to that output, so the same states bit
    for bit, and about half the work, since ONNX Runtime runs every node of a graph whatever outputs are asked for."""
    return model_file.with_name(f"{model_file.stem}.split.onnx")


@dataclass(frozen=True)
class OnnxFiles:
    """One export: the fp32 and int8 models, the tokenizer, and the weights hash they were made from."""

    dir: Path
    weights_hash: str
    fp32: Path
    int8: Path
    tokenizer: Path
    max_length: int = 256

    @classmethod
    def at(cls, out_dir: Path, weights_hash: str, max_length: int = 256) -> OnnxFiles:
        return cls(out_dir, weights_hash, out_dir / FILE_NAMES["fp32"], out_dir / FILE_NAMES["int8"],
                   out_dir / "tokenizer.json", max_length)

    def model(self, variant: Variant) -> Path:
        return self.fp32 if variant == "fp32" else self.int8

    def complete(self) -> bool:
        """True when all files exist and the manifest says they come from these weights."""
        try:
            manifest = json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (manifest.get("weights_hash") == self.weights_hash and manifest.get("format") == EXPORT_FORMAT
                and all(p.is_file() for p in (self.fp32, self.int8, self.tokenizer)))

    @classmethod
    def read(cls, out_dir: Path) -> OnnxFiles | None:
        try:
            manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
            files = cls.at(out_dir, str(manifest["weights_hash"]), int(manifest.get("max_length", 256)))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return files if files.complete() else None


def transformer_dir(model_dir: Path) -> Path:
    """The folder holding config.json and the weights: the model dir itself, or a sentence-transformers
    module folder named in modules.json (e.g. `0_Transformer`)."""
    model_dir = Path(model_dir)
    if (model_dir / "config.json").is_file():
        return model_dir
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        modules = []
    for module in modules:
        folder = model_dir / str(module.get("path", ""))
        if str(module.get("type", "")).endswith("Transformer") and (folder / "config.json").is_file():
            return folder
    raise FileNotFoundError(f"{model_dir}: no config.json (not a Hugging Face model directory)")


def weight_files(model_dir: Path) -> list[Path]:
    folder = transformer_dir(model_dir)
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    if not found:
        raise FileNotFoundError(f"{folder}: no weights file (model.safetensors or pytorch_model.bin)")
    return found


def weights_hash(model_dir: Path, cache: Path | None = None) -> str:
    """sha256 over the weights, config and tokenizer. Hashing ~90 MB takes ~0.2 s, so the result is kept
    in `cache` (a small JSON file) keyed by each file's path, size and modification time."""
    folder = transformer_dir(model_dir)
    files = [*weight_files(model_dir), folder / "config.json"]
    tokenizer = find_tokenizer(model_dir)
    files.append(tokenizer)
    key = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    with _HASH_LOCK:
        known: dict[str, str] = {}
        if cache is not None:
            try:
                known = json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                known = {}
            if isinstance(known.get(key), str):
                return known[key]
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode() + b"\0")
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        value = digest.hexdigest()
        if cache is not None:
            known[key] = value
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
            os.replace(tmp, cache)
        return value


def find_tokenizer(model_dir: Path) -> Path:
    for folder in (Path(model_dir), transformer_dir(model_dir)):
        if (folder / "tokenizer.json").is_file():
            return folder / "tokenizer.json"
    raise FileNotFoundError(f"{model_dir}: no tokenizer.json (save the tokenizer with save_pretrained)")


def hash_cache(models_root: Path) -> Path:
    return Path(models_root) / _HASHES


def export_dir(models_root: Path, model_dir: Path) -> tuple[Path, str]:
    """(the folder an export of `model_dir` belongs in, its weights hash)."""
    digest = weights_hash(model_dir, hash_cache(models_root))
    return Path(models_root) / digest[:16], digest


def onnx_files(settings: Settings) -> OnnxFiles:
    """The export of the configured embedding model, or IndexMissingError saying how to make it."""
    model_path = Path(settings.embedding_model_path())
    try:
        folder, digest = export_dir(settings.model_dir, model_path)
    except (OSError, ValueError) as exc:
        raise IndexMissingError(f"RAY_ADVISOR_EMBEDDING_MODEL: cannot read the model at {model_path}: {exc}") from None
    files = OnnxFiles.read(folder)
    if files is None or files.weights_hash != digest:
        raise IndexMissingError(f"no ONNX export of the embedding model in {folder} (RAY_ADVISOR_MODEL_DIR): "
                                "run `ray-advisor ingest` (or `make ingest`), which makes it once")
    return files


_ENCODERS: dict[tuple[str, str, int], OnnxEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def question_encoder(settings: Settings, threads: int | None = None) -> OnnxEncoder:
    """The ONNX encoder for questions (settings.encoder picks fp32 or int8), one per process and file. Unless
    `threads` or RAY_ADVISOR_ENCODER_THREADS fix its threads, a question encoded while nothing else in the process
    runs uses the process's share of the cores (`assistant.cores`): a conversation's 57 tokens (p50) took 6.8-7.7 ms
    on two threads against 10.9-11.0 on one, a message alone 3.0-3.2 against 3.8 (2026-12-06, 2 cores)."""
    from assistant.cores import run_threads
    from assistant.onnx_encoder import ENCODER_THREADS_ENV, OnnxEncoder

    files = onnx_files(settings)
    path = files.model(settings.encoder)
    key = (str(path), str(files.tokenizer), threads or 0)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            wide = run_threads() if threads is None and not os.environ.get(ENCODER_THREADS_ENV, "").strip() else 1
            _ENCODERS[key] = OnnxEncoder(path, files.tokenizer, files.max_length, threads=threads, wide=wide)
        return _ENCODERS[key]
