"""De-duplicate chunks across and within files: each passage is stored once, with every source kept.

Structured chunks (with a heading, a row label or a question) go first, so a flattened copy's bare
sentences fold into the richer chunk that already holds them rather than the other way round.
"""

from __future__ import annotations

from functools import lru_cache

from assistant.text import dedupe_key, tokens
from ingest.chunk import Chunk

NEAR_DUPLICATE_JACCARD = 0.85


@lru_cache(maxsize=65536)
def _token_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    ta, tb = _token_set(a), _token_set(b)  # cached: every pair is compared, each text tokenised once
    if not ta or not tb:
        return False
    if min(len(ta), len(tb)) < NEAR_DUPLICATE_JACCARD * max(len(ta), len(tb)):
        return False  # the Jaccard index is at most |smaller| / |larger|
    return len(ta & tb) / len(ta | tb) >= NEAR_DUPLICATE_JACCARD


def deduplicate(chunks: list[Chunk]) -> list[Chunk]:
    """Return the chunks to store, each with `sources` listing every file that holds it."""
    ranked = sorted(enumerate(chunks), key=lambda ic: (0 if ic[1].heading else 1, ic[0]))
    kept: list[Chunk] = []
    by_key: dict[str, Chunk] = {}
    span_owner: list[tuple[str, Chunk]] = []  # (span key, chunk that holds it)

    def owner_of(key: str) -> Chunk | None:
        exact = next((c for k, c in span_owner if k == key), None)
        return exact or next((c for k, c in span_owner if _similar(k, key)), None)

    for _, chunk in ranked:
        key = dedupe_key(chunk.text)
        same = by_key.get(key) or next((c for k, c in by_key.items() if _similar(k, key)), None)
        if same is not None:
            _add_source(same, chunk.source)
            continue
        owners = [owner_of(dedupe_key(span.text)) for span in chunk.spans if span.text != chunk.heading]
        if owners and all(o is not None for o in owners):
            for owner in owners:
                assert owner is not None
                _add_source(owner, chunk.source)
            continue
        chunk.sources = [chunk.source]
        kept.append(chunk)
        by_key[key] = chunk
        span_owner.extend((dedupe_key(span.text), chunk) for span in chunk.spans)
    return sorted(kept, key=lambda c: (c.source, c.order))


def _add_source(chunk: Chunk, source: str) -> None:
    if source not in chunk.sources:
        chunk.sources.append(source)
