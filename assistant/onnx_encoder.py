"""A BERT-like encoder run by ONNX Runtime: no torch, no transformers, no sentence-transformers.

`OnnxEncoder` reads an ONNX export (see `ingest/onnx_export.py`) and its `tokenizer.json`, and gives
the last hidden states of any BERT-like model (`token_states`) or, for a sentence-transformers model
such as all-MiniLM-L6-v2, sentence embeddings (`embed`: mean pooling over the attention mask, then L2
normalisation, as sentence-transformers computes them).

Only onnxruntime, tokenizers and numpy are imported, so a process that just answers questions starts
fast. One instance is safe to share between threads: the tokenizer is configured once and then only
read, and `InferenceSession.run` is thread-safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from assistant.cores import RUNS
from assistant.deciders.inputs import SPLIT_OUTPUT
from assistant.encoders import split_part
from assistant.spelling import whole_words

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
log = logging.getLogger("ray_advisor.onnx_encoder")


ENCODER_THREADS_ENV = "RAY_ADVISOR_ENCODER_THREADS"


def default_threads() -> int:
    """Intra-op threads for one session: 1 unless RAY_ADVISOR_ENCODER_THREADS says otherwise.

    Answers running side by side (the API's, several workers) each take a core, and more threads each would
    only take cores from one another. A question encoded alone in its process may use more
    (`encoders.question_encoder`), and batch encoders (ingest, the span index at start) may pass more.
    """
    raw = os.environ.get(ENCODER_THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"RAY_ADVISOR_ENCODER_THREADS: not a whole number (got {raw!r})") from None
    if not 1 <= value <= 64:
        raise ValueError(f"RAY_ADVISOR_ENCODER_THREADS: must be between 1 and 64 (got {value})")
    return value


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """How every ONNX Runtime session here runs: `threads` intra-op threads (default: `default_threads()`),
    sequential, fully optimised, quiet."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Spinning threads burn a core while idle; on 2 shared cores that core belongs to another worker, or to the next
    # run of this process in another session (follow-ups' decision p50 8.4-10.7 ms spinning, 6.8 not; 2026-12-06).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class Sessions:
    """One model in ONNX Runtime: a session on `threads` threads and, when `wide` is more than 1, one on `wide` threads
    that a run uses when nothing else in the process is running (`assistant.cores`). Both give the same outputs, bit
    for bit."""

    def __init__(self, model_file: Path, threads: int | None = None, wide: int = 1) -> None:
        def opened(count: int | None) -> ort.InferenceSession:
            return ort.InferenceSession(str(model_file), sess_options=session_options(count),
                                        providers=["CPUExecutionProvider"])

        self.narrow = opened(threads)
        self.wide = opened(wide) if wide > 1 else None

    def run(self, outputs: list[str] | None, feeds: dict[str, np.ndarray]) -> list[Any]:
        # InferenceSession.run is thread-safe: a worker's threads may run the same model side by side.
        with RUNS.started() as alone:
            session = self.wide if alone and self.wide is not None else self.narrow
            return list(session.run(outputs, feeds))


class OnnxEncoder:
    def __init__(self, model_file: Path, tokenizer_file: Path, max_length: int = 256,
                 threads: int | None = None, batch_size: int = 32, wide: int = 1) -> None:
        """`threads` for every run; `wide` (more than 1) for a question encoded while nothing else in the process
        runs (`assistant.cores`): a second session of as many threads, with the same outputs bit for bit."""
        self.model_file, self.tokenizer_file = Path(model_file), Path(tokenizer_file)
        self.max_length, self.batch_size = max_length, batch_size
        for path in (self.model_file, self.tokenizer_file):
            if not path.is_file():
                raise FileNotFoundError(f"ONNX encoder file missing: {path}")
        tokenizer = Tokenizer.from_file(str(self.tokenizer_file))
        tokenizer.enable_truncation(max_length)
        tokenizer.no_padding()  # padded here, per batch, to its longest text (as sentence-transformers does)
        self._tokenizer = tokenizer
        self._sessions = Sessions(self.model_file, threads, wide)
        self._session = self._sessions.narrow  # what the model takes and gives, and batches (`token_states`)
        self._inputs = [i.name for i in self._session.get_inputs()]
        unknown = set(self._inputs) - set(INPUT_NAMES)
        if unknown:
            raise ValueError(f"{self.model_file}: unexpected model inputs {sorted(unknown)}")
        self._output = self._session.get_outputs()[0].name
        self.has_split = SPLIT_OUTPUT in {o.name for o in self._session.get_outputs()}
        # The graph cut at the split output, when the export has it (`encoders.split_part`): a reading that needs only
        # the decider's states runs half the layers. Without it, the whole graph gives the same states. Opened at the
        # first such reading (a follow-up's), so a process that answers only first questions never loads it (0.1-0.2 s
        # and 35 MB).
        self._cut_threads = (threads, wide)
        self._cut_sessions: Sessions | None = None
        self._cut_opened = not self.has_split
        self._cut_lock = threading.Lock()
        width = self._session.get_outputs()[0].shape[-1]
        self._dim = width if isinstance(width, int) else int(self.token_states(["a"])[0].shape[-1])

    def _cut(self) -> Sessions | None:
        """The cut graph's sessions, opened once; None when the export has no cut graph or it cannot be loaded."""
        with self._cut_lock:
            if not self._cut_opened:
                self._cut_opened = True
                cut = split_part(self.model_file)
                try:
                    self._cut_sessions = Sessions(cut, *self._cut_threads) if cut.is_file() else None
                except Exception as exc:  # broken: the whole graph gives the same states, a little slower
                    log.warning("%s cannot be loaded (%s); the whole graph gives the decider's states instead", cut,
                                exc)
            return self._cut_sessions

    @property
    def dim(self) -> int:
        return self._dim

    def whole_words(self) -> frozenset[str]:
        """The whole English words the tokenizer knows: what the speller treats as correctly spelt."""
        return whole_words(self._tokenizer.get_vocab())

    def _batch(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max((len(e.ids) for e in encodings), default=0) or 1
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return {name: feeds[name] for name in self._inputs}, mask

    def pair_feeds(self, text: str, context: str = "") -> dict[str, np.ndarray]:
        """The model's inputs for one question (and its conversation): one row, unpadded."""
        enc = self._tokenizer.encode(text, context) if context else self._tokenizer.encode(text)
        ids = np.asarray([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                 "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64)}
        return {name: feeds[name] for name in self._inputs}

    def encode_pair(self, text: str, context: str = "") -> tuple[np.ndarray, np.ndarray | None]:
        """One question (and its conversation) in one pass: the sentence vector [H] over every token, and
        the hidden states [T, H] at the decider's split layer (None for an export without that output)."""
        outputs = [self._output, *([SPLIT_OUTPUT] if self.has_split else [])]
        got = self._sessions.run(outputs, self.pair_feeds(text, context))
        pooled = np.asarray(got[0][0], dtype=np.float32).mean(axis=0)
        vector = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vector, (np.asarray(got[1][0], dtype=np.float32) if self.has_split else None)

    def split_states(self, text: str, context: str = "") -> np.ndarray | None:
        """`encode_pair`'s states [T, H] alone, bit for bit, from the graph cut at the split output when the export has
        it (a conversation's turn read alone: 1.9 ms against 4.3 on one thread, 2026-12-06); None for an export
        without the split output."""
        if not self.has_split:
            return None
        sessions = self._cut()
        if sessions is None:
            return self.encode_pair(text, context)[1]
        (states,) = sessions.run([SPLIT_OUTPUT], self.pair_feeds(text, context))
        return np.asarray(states[0], dtype=np.float32)

    def token_states(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(last hidden states [B, T, H] as float32, attention mask [B, T] as int64) for one batch."""
        feeds, mask = self._batch(texts)
        (states,) = self._session.run([self._output], feeds)
        return np.asarray(states, dtype=np.float32), mask

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings [N, H]: mean of the token states over the mask, L2-normalised."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Similar lengths together: each batch is padded only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            states, mask = self.token_states([texts[i] for i in rows])
            weights = mask[..., None].astype(np.float32)
            summed = (states * weights).sum(axis=1)
            pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out


def cached_embed(encoder: OnnxEncoder, texts: list[str]) -> np.ndarray:
    """Each text's vector as `encoder.embed([text])` gives it alone, kept beside the export under a hash of the
    model file and the exact texts.

    The span index embeds its spans at every start (about 60 texts: a fraction of a second, one run each); an
    unchanged index then reads them back in a millisecond. A read-only model folder only costs the cache.
    """
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    stat = encoder.model_file.stat()
    digest = hashlib.sha256(f"{encoder.model_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:alone".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    cache = encoder.model_file.parent / "cache" / f"spans-{digest.hexdigest()[:24]}.npy"
    try:
        vectors = np.load(cache, allow_pickle=False)
        if vectors.shape == (len(texts), encoder.dim):
            return np.asarray(vectors, dtype=np.float32)
    except (OSError, ValueError):
        pass
    # One text a run, unpadded, as a question is encoded: the int8 export scales each run's activations by
    # that run's range, so a text embedded in a batch gets a vector that depends on its batch-mates (cosine
    # 0.98-0.99 to its own), and adding a document would move every span's similarity to every question.
    vectors = np.concatenate([encoder.embed([text]) for text in texts])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.{threading.get_ident()}.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, cache)
    except OSError:
        pass
    return vectors
