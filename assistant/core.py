"""The entry point: `Assistant.from_settings().ask(question, history=[...]) -> Answer`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.chain import Pipeline, State
from assistant.deciders.learned import learned_decider
from assistant.deciders.spans import SpanIndex
from assistant.encoders import question_encoder
from assistant.generators import make_generator
from assistant.onnx_encoder import cached_embed
from assistant.retrieve import HybridRetriever
from assistant.schema import Answer
from assistant.settings import Settings, load_settings
from assistant.store import IndexVersion, Store
from assistant.validate import validate
from assistant.verify import QuoteVerifier


class Assistant:
    """Answers from one index version with a pipeline of given parts (see `Pipeline`).

    `from_settings` and `on_index` build the real parts; tests may pass a pipeline of fakes
    (`assistant.fakes`). There is no assistant-wide lock: the ONNX sessions are thread-safe, BM25 and the
    span index are read-only after start, and the verifier locks its own cache, so a slow LLM stream
    blocks no one.
    """

    def __init__(self, settings: Settings, pipeline: Pipeline, index: IndexVersion, store: Store | None = None,
                 generator_name: str | None = None) -> None:
        self.settings, self.pipeline, self.index, self.store = settings, pipeline, index, store
        self.generator_name = generator_name or pipeline.generator.name

    @classmethod
    def from_settings(cls, settings: Settings | None = None, generator: str | None = None) -> Assistant:
        settings = settings or load_settings()
        Store.require_existing(settings)  # before opening anything: asking must never create an empty store
        store = Store(settings)
        store.require_active()  # a clear message when there is no index yet
        return cls.on_index(settings, store, generator=generator)

    @classmethod
    def on_index(cls, settings: Settings, store: Store, version: IndexVersion | None = None,
                 generator: str | None = None) -> Assistant:
        """The real parts on one index version (the active one by default). The encoder is one per process
        (`question_encoder` keeps it), so assistants on other versions share it."""
        version = version or store.version() or IndexVersion(store.require_active().name)
        encoder = question_encoder(settings)
        retriever = HybridRetriever.from_collection(store, store.open(version.name), encoder, settings.top_k)
        spans = SpanIndex(retriever.passages, cached_embed(encoder, SpanIndex.texts_of(retriever.passages)))
        name = generator or settings.generator
        decider = learned_decider(settings, spans)
        pipeline = Pipeline(encoder, retriever, spans, decider, make_generator(name, settings),
                            QuoteVerifier(settings.corpus_dir),
                            decider.model.speller.with_documents(p.text for p in retriever.passages))
        return cls(settings, pipeline, version, store, name)

    def for_version(self, version: IndexVersion) -> Assistant:
        """A new assistant on another index version, sharing this one's store and encoder (a server swaps
        it in when the pointer moves; see ui.holder.AdvisorHolder)."""
        if self.store is None:
            raise ValueError("this assistant was built without a store; it cannot switch index versions")
        return self.on_index(self.settings, self.store, version, self.generator_name)

    # -- asking ------------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        question, turns = validate(self.settings, question, history)
        return self.pipeline.answer(self.pipeline.run(State(question, turns)))

    def ask_stream(self, question: str, history: Sequence[Any] | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are written, then the final verified Answer (authoritative) last."""
        question, turns = validate(self.settings, question, history)
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
