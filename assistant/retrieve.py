"""Hybrid retrieval: dense (Chroma, cosine) plus lexical BM25, fused by reciprocal rank fusion.

Chunks are already de-duplicated at ingest; fusion works on chunk ids, so a chunk found by both
retrievers appears once, ranked higher.

The retriever reads the whole active collection once when it starts (texts and metadata for BM25 and
the answer, and the stored vectors). Up to `IN_MEMORY_MAX` chunks, the dense search is then an exact
cosine search over those vectors in this process (~0.02 ms for a few hundred chunks) instead of a call
into Chroma per question (~1 ms embedded, a network round trip to a Chroma server); the results are
the same, since Chroma's search is exact for a small collection and approximate beyond. Larger
collections are searched by Chroma's HNSW index, per question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import IndexMissingError
from assistant.schema import Passage
from assistant.text import stem, tokens

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from assistant.encoders import QuestionEncoder
    from assistant.store import Store

IN_MEMORY_MAX = 50_000  # chunks; at MiniLM's 384 floats each, ~75 MB per worker at this size

RRF_K = 60  # the constant from Cormack et al.; it damps the weight of the very first ranks
_STOP = frozenset(
    "a an the and or of to in on for with is are be i we you it my our me do does did can could should "
    "would which what when how why if this that your have has had not no".split()
)


def lexical_tokens(text: str) -> list[str]:
    return [stem(t) for t in tokens(text) if t not in _STOP]


class BM25:
    """Okapi BM25, Lucene variant (k1=1.5, b=0.75), scored exactly as `bm25s.BM25().get_scores` does
    (same float32 values; a test compares them), without importing bm25s and scipy (~0.2 s of a cold
    start). Scores of every (term, document) pair are computed once; a query adds up its terms' rows.
    """

    def __init__(self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        from collections import Counter

        self.vocab: dict[str, int] = {}
        for doc in corpus:
            for term in doc:
                self.vocab.setdefault(term, len(self.vocab))
        n_docs = len(corpus)
        avg_len = np.array([len(doc) for doc in corpus]).mean() if corpus else np.float64(1.0)
        df = np.zeros(len(self.vocab), dtype=np.int64)
        counts = [Counter(self.vocab[t] for t in doc) for doc in corpus]
        for c in counts:
            df[list(c)] += 1
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.rows = np.zeros((len(self.vocab), n_docs), dtype=np.float32)
        for d, (doc, c) in enumerate(zip(corpus, counts, strict=True)):
            ids = np.fromiter(c.keys(), dtype=np.int64, count=len(c))
            tf = np.fromiter(c.values(), dtype=np.float32, count=len(c))
            tfc = tf / (k1 * ((1 - b) + b * len(doc) / avg_len) + tf)
            self.rows[ids, d] = (idf[ids] * tfc).astype(np.float32)

    def get_scores(self, query: list[str]) -> np.ndarray:
        scores = np.zeros(self.rows.shape[1], dtype=np.float32)
        for term in query:  # repeated terms count again, as in bm25s
            row = self.vocab.get(term)
            if row is not None:
                scores += self.rows[row]
        return scores


@dataclass
class Retrieved:
    passages: list[Passage]
    query_embedding: np.ndarray


DenseSearch = Callable[[np.ndarray, int], list[tuple[str, float]]]


class HybridRetriever:
    """Dense plus BM25 over one fixed set of passages (one index version), fused by reciprocal rank.

    Given its parts: the passages, their vectors (None: search with `dense_search` instead, e.g. Chroma's
    HNSW index for a large collection) and the encoder for questions asked without a vector.
    """

    def __init__(self, passages: list[Passage], matrix: np.ndarray | None, encoder: QuestionEncoder, top_k: int,
                 dense_search: DenseSearch | None = None) -> None:
        if matrix is None and dense_search is None:
            raise ValueError("a retriever needs the passages' vectors or a dense search to call")
        self.passages, self.encoder, self.top_k = passages, encoder, top_k
        self._matrix, self._dense_search = matrix, dense_search
        self._ids = [p.chunk_id for p in self.passages]
        self.by_id = {p.chunk_id: p for p in self.passages}
        self._bm25 = BM25([lexical_tokens(p.text) or ["_"] for p in self.passages])

    @classmethod
    def from_collection(cls, store: Store, collection: Collection, encoder: QuestionEncoder,
                        top_k: int) -> HybridRetriever:
        """Bound to one collection for life: dense hits and the passages/BM25 always come from the same
        index version, even after the pointer moves on (a server then builds a new retriever)."""
        in_memory = collection.count() <= IN_MEMORY_MAX
        passages, matrix = store.snapshot(collection, embeddings=in_memory)
        if matrix is not None and matrix.shape[1] != encoder.dim:
            raise IndexMissingError(f"the index holds {matrix.shape[1]}-dimensional vectors, the question encoder "
                                    f"makes {encoder.dim}: run `ray-advisor ingest --rebuild`")

        def search(embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
            return store.query(embedding, k, collection)

        return cls(passages, matrix, encoder, top_k, None if matrix is not None else search)

    def lexical(self, question: str, k: int) -> list[tuple[str, float]]:
        query = [t for t in lexical_tokens(question) if t]
        if not query or not self.passages:
            return []
        scores = self._bm25.get_scores(query)
        ranked = sorted(range(len(self.passages)), key=lambda i: -float(scores[i]))
        return [(self.passages[i].chunk_id, float(scores[i])) for i in ranked[:k] if scores[i] > 0]

    def dense(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        if self._matrix is None:
            assert self._dense_search is not None
            return self._dense_search(embedding, k)
        k = min(k, len(self._ids))
        if k <= 0:
            return []
        scores = self._matrix @ embedding
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in top]

    def retrieve(self, question: str, k: int | None = None, embedding: np.ndarray | None = None) -> Retrieved:
        """Passages for a question; pass its `embedding` when it is already encoded (the answer path does)."""
        k = k or self.top_k
        if embedding is None:
            embedding = self.encoder.embed([question])[0]
        dense = self.dense(embedding, k)
        lexical = self.lexical(question, k)
        fused: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        ordered = sorted(fused, key=lambda cid: -fused[cid])[:k]
        dense_sim = dict(dense)
        out = []
        for cid in ordered:
            if cid in self.by_id:
                passage = self.by_id[cid].model_copy()
                passage.score = dense_sim.get(cid, 0.0)
                out.append(passage)
        return Retrieved(out, embedding)
