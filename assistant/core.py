"""The entry point: `Assistant.from_settings().ask(question, history=[...]) -> Answer`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from assistant.chain import Pipeline, State
from assistant.decide import SpanIndex
from assistant.errors import InputError
from assistant.generators import make_generator
from assistant.retrieve import HybridRetriever
from assistant.schema import Answer, Turn
from assistant.settings import Settings, load_settings
from assistant.store import Store
from assistant.verify import QuoteVerifier


class Assistant:
    def __init__(self, settings: Settings, store: Store, generator_name: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.generator_name = generator_name or settings.generator
        retriever = HybridRetriever(store, settings.top_k)
        texts = SpanIndex.texts(retriever.passages)
        vectors = np.asarray(store.embedder(texts)) if texts else np.zeros((0, 384))
        self.pipeline = Pipeline(retriever, SpanIndex(retriever.passages, vectors),
                                 make_generator(self.generator_name, settings), QuoteVerifier(settings.corpus_dir))
        # No assistant-wide lock: the embedding model serialises its own encodes, BM25 and the span index
        # are read-only after start, and the verifier locks its cache; a slow LLM stream blocks no one.
        self._chain = self.pipeline.chain()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, generator: str | None = None) -> Assistant:
        settings = settings or load_settings()
        store = Store(settings)
        store.require_active()  # a clear message when there is no index yet
        return cls(settings, store, generator)

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
        state = self._chain.invoke(State(question, turns))
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
