"""What the answer path does in memory, to start and answer fast, equals what it replaced: BM25 scores
equal bm25s's exactly, and the in-memory dense search ranks as Chroma's query does."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Assistant
from assistant.retrieve import BM25, lexical_tokens
from evals.cases import load_cases

pytestmark = pytest.mark.eval


def questions() -> list[str]:
    return [c.question for c in load_cases(None)] + ["ray", "zzz unknown words only", "footage footage footage"]


def test_bm25_scores_equal_bm25s(bot: Assistant) -> None:
    import bm25s

    corpus = [lexical_tokens(p.text) or ["_"] for p in bot.pipeline.retriever.passages]
    reference = bm25s.BM25()
    reference.index(corpus, show_progress=False)
    ours = BM25(corpus)
    for question in questions():
        query = [t for t in lexical_tokens(question) if t]
        if query and any(t in ours.vocab for t in query):
            assert np.array_equal(ours.get_scores(query), reference.get_scores(query)), question


def test_in_memory_dense_search_ranks_as_chroma_does(bot: Assistant) -> None:
    retriever = bot.pipeline.retriever
    assert retriever._matrix is not None  # a small collection is searched in memory
    for question in questions():
        vector = retriever.encoder.embed([question])[0]
        ours = retriever.dense(vector, 8)
        assert bot.store is not None
        chroma = bot.store.query(vector, 8, bot.store.open(bot.index.name))
        assert [cid for cid, _ in ours] == [cid for cid, _ in chroma], question
        assert np.allclose([s for _, s in ours], [s for _, s in chroma], atol=1e-5)
