"""The answer pipeline: five named steps, each a plain method from State to State, testable alone:

condense -> retrieve -> decide -> compose -> verify

`Pipeline.run` calls them in order (what `Assistant.ask` does); `Pipeline.stream` calls the same methods,
with compose handing out the text as the generator writes it; `Pipeline.chain()` wraps the same methods as
a LangChain (LCEL) chain for callers that compose runnables. One set of steps, three ways to drive it.

The question is encoded once, in retrieve: the sentence vector ranks passages and spans, and the hidden
states at the split layer are the learned decider's input. With an LLM configured, the LLM decides in
its structured reply, and verify rules whether that reply stands (assistant/deciders/llm.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from assistant.condense import Condensed, condense
from assistant.deciders import NO_VECTOR, Decider, Query
from assistant.deciders.inputs import context_of
from assistant.deciders.llm import review_llm_reply
from assistant.deciders.spans import SpanIndex
from assistant.encoded import RecentEncodings
from assistant.errors import GeneratorError, IndexMissingError
from assistant.followups import follow_ups_for
from assistant.generators import Generator
from assistant.generators.extractive import ExtractiveGenerator
from assistant.quotes import label_cells, widen
from assistant.retrieve import HybridRetriever
from assistant.schema import Answer, Citation, Decision, Draft, Passage, Support
from assistant.spelling import Speller
from assistant.text import normalise_ws
from assistant.verify import QuoteVerifier

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.runnables import Runnable

    from assistant.encoders import QuestionEncoder

log = logging.getLogger("ray_advisor")
STEPS = ("condense", "retrieve", "decide", "compose", "verify")


@dataclass
class State:
    question: str
    history: list[dict[str, str]]
    condensed: Condensed | None = None
    passages: list[Passage] = field(default_factory=list)
    query: Query | None = None
    decision: Decision | None = None
    draft: Draft | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


def _decider_states(states: np.ndarray | None) -> np.ndarray:
    if states is None:
        raise IndexMissingError("the question encoder was exported without the decider's layer: "
                                "run `ray-advisor ingest`")
    return states


def _timed(name: str, state: State, t0: float) -> State:
    state.timings[name] = round((time.perf_counter() - t0) * 1000, 2)
    return state


class Pipeline:
    """The parts the steps share, given, not built: encoder, retriever, span index, decider, generator,
    verifier (`Assistant.on_index` builds the real ones; `assistant.fakes` has stand-ins)."""

    def __init__(self, encoder: QuestionEncoder, retriever: HybridRetriever, spans: SpanIndex, decider: Decider,
                 generator: Generator, verifier: QuoteVerifier, speller: Speller | None = None) -> None:
        self.encoder, self.retriever, self.spans, self.decider = encoder, retriever, spans, decider
        self.generator, self.verifier = generator, verifier
        self.speller = speller or Speller({}, frozenset())  # an empty vocabulary mends nothing
        self.fallback = ExtractiveGenerator()
        self._encodings = RecentEncodings(encoder)  # the turn before a follow-up was encoded moments ago: kept

    # -- steps -------------------------------------------------------------------------------------
    def condense(self, state: State) -> State:
        t0 = time.perf_counter()
        # Slips mended first, so the standalone question, retrieval and the decider all read the mended words;
        # the history itself is left as it was said (an LLM generator reads it).
        mend = self.speller.mend
        history = [{**turn, "content": mend(str(turn.get("content", "")))} if turn.get("role") == "user" else turn
                   for turn in state.history]
        state.condensed = condense(mend(state.question), history)
        return _timed("condense", state, t0)

    def retrieve(self, state: State) -> State:
        t0 = time.perf_counter()
        c = state.condensed
        assert c is not None
        query = self._encoded(c.question, state.history, earlier=lambda: self._earlier(state.history),
                              alone=lambda: self._read_states(c.question, ""))
        state.query = query
        state.passages = self.retriever.retrieve(c.standalone or state.question, embedding=query.embedding).passages
        return _timed("retrieve", state, t0)

    def _encoded(self, question: str, history: list[dict[str, str]],
                 earlier: Callable[[], Query | None] | None = None,
                 alone: Callable[[], Query] | None = None) -> Query:
        """One encoder pass over a question and the turns before it: the vector and the decider's states."""
        query = self._read_with(question, context_of(history))
        return replace(query, earlier=earlier, alone=alone if query.context else None, read_with=self._read_with)

    def _read_with(self, question: str, context: str) -> Query:
        """`question` encoded with `context` (the earlier turns, or whatever stands in for them), mended."""
        context = self.speller.mend(context)
        vector, states = self._encodings.whole(question, context)
        return Query(question, context, vector, _decider_states(states))

    def _read_states(self, question: str, context: str) -> Query:
        """`_read_with`, for the decider's reading only: the states, and no vector (`NO_VECTOR`)."""
        context = self.speller.mend(context)
        return Query(question, context, NO_VECTOR, _decider_states(self._encodings.states(question, context)))

    def _earlier(self, history: list[dict[str, str]]) -> Query | None:
        """The last user turn of `history`, encoded as it was when asked (its own earlier turns as context)."""
        turns = [i for i, turn in enumerate(history)
                 if turn.get("role") == "user" and str(turn.get("content", "")).strip()]
        if not turns:
            return None
        # Cleaned as condense cleans a question (injections out, names normalised); with no history it rewrites
        # nothing, which only retrieval would read.
        question = condense(self.speller.mend(str(history[turns[-1]]["content"])), []).question
        return self._read_states(question, context_of(history[:turns[-1]])) if question else None

    def decide(self, state: State) -> State:
        t0 = time.perf_counter()
        assert state.query is not None
        state.decision = self.decider.decide(state.query, state.history, state.passages)
        return _timed("decide", state, t0)

    def compose(self, state: State) -> State:
        for _ in self.compose_pieces(state, streaming=False):
            pass
        return state

    def compose_pieces(self, state: State, streaming: bool = True) -> Iterator[str]:
        """The compose step, yielding the text as the generator writes it (nothing when not `streaming`).

        A generator that fails, or ends without a draft, is replaced by the extractive answer, saying why.
        """
        t0 = time.perf_counter()
        state.decision = self._readable(state.decision)
        assert state.decision is not None
        no_question = state.query is None or not state.query.text  # only instructions: nothing to ask an LLM
        gen = self.fallback if no_question or self.generator.name == self.fallback.name else self.generator
        draft: Draft | None = None
        try:
            if not streaming:
                draft = gen.generate(state.question, state.passages, state.decision)
            else:
                for piece in gen.stream(state.question, state.passages, state.decision):
                    if isinstance(piece, str):
                        yield piece
                    else:
                        draft = piece
        except GeneratorError as exc:
            draft = self._fall_back(state, f"{gen.name} failed: {exc}")
        state.draft = draft or self._fall_back(state, "no reply")
        _timed("compose", state, t0)

    def verify(self, state: State) -> State:
        t0 = time.perf_counter()
        state.draft = self._verified(state, state.draft)
        return _timed("verify", state, t0)

    # -- the chain ---------------------------------------------------------------------------------
    def runnables(self) -> dict[str, Runnable[State, State]]:
        # Imported here: langchain_core costs ~0.6 s to import, which the CLI's `ask` would pay for nothing.
        from langchain_core.runnables import RunnableLambda

        return {name: RunnableLambda(getattr(self, name)).with_config(run_name=name) for name in STEPS}

    def chain(self) -> Runnable[State, State]:
        """The same steps as an LCEL chain, for composing with other LangChain runnables (callbacks,
        tracing). `run` does the same work without LCEL's per-step callback and config overhead."""
        r = self.runnables()
        return r["condense"] | r["retrieve"] | r["decide"] | r["compose"] | r["verify"]

    def run(self, state: State, steps: tuple[str, ...] = STEPS) -> State:
        for name in steps:
            state = getattr(self, name)(state)
        return state

    def answer(self, state: State) -> Answer:
        assert state.draft is not None and state.condensed is not None
        state.timings["total"] = round((time.perf_counter() - state.started) * 1000, 2)
        d = state.draft
        return Answer(question=state.question, answer=d.answer, recommendation=d.recommendation,
                      abstained=d.abstained, citations=d.citations, timings_ms=state.timings,
                      follow_ups=follow_ups_for(d.recommendation, d.abstained),
                      generator=d.generator, standalone_question=state.condensed.standalone,
                      decision_trace=list(state.decision.trace) if state.decision else [])

    def stream(self, state: State) -> Iterator[str | Answer]:
        """`run`, with the compose step's text handed out as it is written; the verified Answer comes last."""
        state = self.run(state, ("condense", "retrieve", "decide"))
        yield from self.compose_pieces(state)
        yield self.answer(self.verify(state))

    # -- helpers -----------------------------------------------------------------------------------
    def _readable(self, decision: Decision | None) -> Decision | None:
        """Whole sentences instead of clauses, cells with their row and column (see assistant.quotes)."""
        if decision is None or decision.abstain:
            return decision

        def verbatim(support: Support, passage: Passage) -> bool:
            cite = Citation(source=support.source, section=support.section, quote=support.quote,
                            chunk_id=support.chunk_id)
            return bool(self.verifier.verify([cite], {passage.chunk_id: passage})[0])

        return widen(decision, self.retriever.by_id, verbatim)

    def _fall_back(self, state: State, why: str) -> Draft:
        assert state.decision is not None
        log.warning("falling back to the extractive answer: %s", why)
        draft = self.fallback.generate(state.question, state.passages, state.decision)
        draft.generator = f"extractive (fallback: {why})"
        return draft

    def _verified(self, state: State, draft: Draft | None) -> Draft:
        assert draft is not None and state.decision is not None
        kept, dropped = self.verifier.verify(draft.citations, self.retriever.by_id)
        if dropped:
            log.warning("dropped %d quote(s) not found verbatim: %s", len(dropped), [c.quote[:60] for c in dropped])
        draft.citations = label_cells(kept, self.retriever.by_id)
        if dropped:  # a dropped quote is never shown: remove the lines of the answer that carry it
            draft.answer = _without_quotes(draft.answer, [c.quote for c in dropped])
        if draft.generator != self.fallback.name and not draft.generator.startswith("extractive"):
            problem = review_llm_reply(draft, state.decision, self.spans, dropped)
            if problem:
                state.decision.trace.append(f"llm reply rejected: {problem}")
                return self._verified(state, self._fall_back(state, problem))
        return draft


def _without_quotes(answer: str, quotes: list[str]) -> str:
    needles = [normalise_ws(q)[:80] for q in quotes if normalise_ws(q)]
    kept = [line for line in answer.splitlines() if not any(n in normalise_ws(line) for n in needles)]
    return "\n".join(kept).strip()
