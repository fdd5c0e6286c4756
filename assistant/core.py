"""The entry point: `Assistant.from_settings().ask(question, history=[...]) -> Answer`."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from assistant.chain import Pipeline, State
from assistant.deciders.learned import learned_decider
from assistant.deciders.support import SpanIndex
from assistant.errors import InputError
from assistant.generators import make_generator
from assistant.retrieve import HybridRetriever
from assistant.schema import Answer, Turn
from assistant.settings import Settings, load_settings
from assistant.store import IndexVersion, Store
from assistant.verify import QuoteVerifier


def span_vectors(store: Store, texts: list[str]) -> np.ndarray:
    """The span index's vectors, from the question encoder, so spans and questions share one space.

    Encoding every span takes seconds at start; the vectors are kept beside the ONNX export, keyed by the
    encoder file and the exact span texts, so a start with an unchanged index reads them in a millisecond.
    """
    import hashlib

    encoder = store.question_encoder
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    stat = encoder.model_file.stat()
    digest = hashlib.sha256(f"{encoder.model_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    cache = encoder.model_file.parent / "cache" / f"spans-{digest.hexdigest()[:24]}.npy"
    try:
        vectors = np.load(cache, allow_pickle=False)
        if vectors.shape == (len(texts), encoder.dim):
            return np.asarray(vectors, dtype=np.float32)
    except (OSError, ValueError):
        pass
    vectors = encoder.embed(texts)
    try:  # a read-only model dir only costs the cache
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.{threading.get_ident()}.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, cache)
    except OSError:
        pass
    return vectors


class Assistant:
    def __init__(self, settings: Settings, store: Store, generator_name: str | None = None,
                 version: IndexVersion | None = None) -> None:
        self.settings = settings
        self.store = store
        self.generator_name = generator_name or settings.generator
        # The index version this assistant answers from, for its whole life (a server swaps in a new
        # assistant when the pointer moves; see assistant.api.AdvisorHolder).
        self.index = version or store.version() or IndexVersion(store.require_active().name)
        retriever = HybridRetriever(store, settings.top_k, store.open(self.index.name))
        spans = SpanIndex(retriever.passages, span_vectors(store, SpanIndex.texts_of(retriever.passages)))
        self.pipeline = Pipeline(retriever, spans, learned_decider(settings, spans),
                                 make_generator(self.generator_name, settings), QuoteVerifier(settings.corpus_dir))
        # No assistant-wide lock: the ONNX session is thread-safe, BM25 and the span index are read-only
        # after start, and the verifier locks its cache; a slow LLM stream blocks no one.

    @classmethod
    def from_settings(cls, settings: Settings | None = None, generator: str | None = None) -> Assistant:
        settings = settings or load_settings()
        Store.require_existing(settings)  # before opening anything: asking must never create an empty store
        store = Store(settings)
        store.require_active()  # a clear message when there is no index yet
        return cls(settings, store, generator)

    def for_version(self, version: IndexVersion) -> Assistant:
        """A new assistant on another index version, sharing this one's store (client and loaded model)."""
        return type(self)(self.settings, self.store, self.generator_name, version)

    # -- asking ------------------------------------------------------------------------------------
    def validate(self, question: str, history: Sequence[Any] | None) -> tuple[str, list[dict[str, str]]]:
        if not isinstance(question, str) or not question.strip():
            raise InputError("question: must not be empty")
        if len(question) > self.settings.max_question_chars:
            raise InputError(f"question: {len(question)} characters; at most {self.settings.max_question_chars} "
                             "(RAY_ADVISOR_MAX_QUESTION_CHARS)")
        turns = list(history or [])
        if len(turns) > self.settings.max_history_turns:
            raise InputError(f"history: {len(turns)} turns; at most {self.settings.max_history_turns}")
        clean: list[dict[str, str]] = []
        for i, turn in enumerate(turns):
            try:
                t = turn if isinstance(turn, Turn) else Turn.model_validate(turn)
            except Exception:
                raise InputError(f"history[{i}]: needs role 'user' or 'assistant' and text content") from None
            if len(t.content) > self.settings.max_question_chars * 4:
                raise InputError(f"history[{i}].content: too long")
            clean.append({"role": t.role, "content": t.content})
        return question.strip(), clean

    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        question, turns = self.validate(question, history)
        state = self.pipeline.run(State(question, turns))
        return self.pipeline.answer(state)

    def ask_stream(self, question: str, history: Sequence[Any] | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are written, then the final verified Answer (authoritative) last."""
        question, turns = self.validate(question, history)
        yield from self.pipeline.stream(State(question, turns))

    # -- about the index ---------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return len(self.pipeline.retriever.passages)

    def sources(self) -> list[dict[str, Any]]:
        counts: Counter[str] = Counter()
        sections: dict[str, set[str]] = {}
        for p in self.pipeline.retriever.passages:
            for source in p.sources:
                counts[source] += 1
                sections.setdefault(source, set()).add(p.section)
        return [{"source": s, "chunks": n, "sections": sorted(sections[s])} for s, n in sorted(counts.items())]
