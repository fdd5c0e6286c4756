"""The Chroma store: an embedded PersistentClient by default, a Chroma server when a host is set.

Atomic switching: each ingest that changes anything writes a complete new collection, then flips a
pointer (the metadata of a small `<name>-active` collection) to it. A crash at any point before the flip
leaves the previous collection whole and still the one that is read. The collection the flip replaced is
kept (as "previous") until the next switch, so a running server still answering from it while it builds
its new assistant never finds it gone; anything older, or a crashed build, is dropped.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import assistant.offline  # noqa: F401
from assistant.errors import IndexChangedError, IndexMissingError
from assistant.schema import Passage, Span

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction

    from assistant.settings import Settings


def make_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises many types for one meaning: the store cannot be opened
        where = (f"Chroma server {settings.chroma_host}:{settings.chroma_port} (RAY_ADVISOR_CHROMA_HOST/PORT)"
                 if settings.chroma_host else f"index at {settings.chroma_path} (RAY_ADVISOR_CHROMA_PATH)")
        raise IndexMissingError(f"cannot open the {where}: {exc}. "
                                "Check the setting, or run `ray-advisor ingest --rebuild`.") from None


@dataclass(frozen=True)
class IndexVersion:
    """What the pointer says: the active collection (the index version) and when it was switched to."""

    name: str
    built_at: str = ""  # ISO 8601 UTC; "" for an index written before this was recorded
    previous: str = ""


class Store:
    """The index in Chroma: versions (collections) behind a pointer, written by ingest, read by answering.

    `embedder` is the collections' embedding function (chunks are embedded by sentence-transformers at
    ingest); questions are encoded elsewhere (`assistant.encoders`), so answering never imports torch.
    """

    def __init__(self, settings: Settings, client: ClientAPI | None = None,
                 embedder: EmbeddingFunction[Documents] | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        self.base = settings.collection
        if embedder is None:
            from assistant.embeddings import MiniLMEmbeddings  # lazy: the model loads on first use only

            embedder = MiniLMEmbeddings(settings.embedding_model_path())
        self.embedder = embedder

    @staticmethod
    def require_existing(settings: Settings) -> None:
        """Fail, creating nothing, when the embedded store has never been written (a server is checked on use)."""
        if settings.chroma_host:
            return
        if not (settings.chroma_path / "chroma.sqlite3").is_file():
            raise IndexMissingError(f"no index yet at {settings.chroma_path}: run `ray-advisor ingest` "
                                    "(or `make ingest`) first")

    # -- the pointer -------------------------------------------------------------------------------
    @property
    def _pointer_name(self) -> str:
        return f"{self.base}-active"

    def version(self) -> IndexVersion | None:
        """The pointer's current value, read fresh (another process may have switched it)."""
        try:
            pointer = self.client.get_collection(self._pointer_name, embedding_function=None)
        except Exception:  # not found: nothing has been ingested yet
            return None
        meta = pointer.metadata or {}
        name = meta.get("active")
        if not name:
            return None
        return IndexVersion(str(name), str(meta.get("built_at") or ""), str(meta.get("previous") or ""))

    def active_name(self) -> str | None:
        version = self.version()
        return version.name if version else None

    def active(self) -> Collection | None:
        name = self.active_name()
        if name is None:
            return None
        return self.open(name)

    def open(self, name: str) -> Collection:
        """One collection by name, whatever the pointer says now (an assistant stays on the one it was built on)."""
        try:
            return self.client.get_collection(name, embedding_function=self.embedder)  # type: ignore[arg-type]
        except Exception as exc:
            raise IndexMissingError(f"the index points at collection {name!r}, which cannot be opened ({exc}); "
                                    "run `ray-advisor ingest --rebuild`") from None

    def require_active(self) -> Collection:
        collection = self.active()
        if collection is None:
            where = self.settings.chroma_host or self.settings.chroma_path
            raise IndexMissingError(f"no index yet at {where}: run `ray-advisor ingest` (or `make ingest`) first")
        return collection

    def new_collection(self) -> Collection:
        name = f"{self.base}-{uuid.uuid4().hex[:10]}"
        return self.client.create_collection(
            name, embedding_function=self.embedder,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}}, metadata={"ray_advisor": "building"},
        )

    def switch_to(self, collection: Collection) -> None:
        before = self.active_name()
        meta = {"active": collection.name, "previous": before or "",
                "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
        pointer = self.client.get_or_create_collection(self._pointer_name, embedding_function=None, metadata=meta)
        pointer.modify(metadata=meta)
        self.drop_stale()

    def drop_stale(self) -> list[str]:
        """Remove collections of ours the pointer does not name as active or previous (older ones, crashed builds).

        The previous one stays until the next switch: a server may still be answering from it.
        """
        version, dropped = self.version(), []
        keep = {self._pointer_name} | ({version.name, version.previous} if version else set())
        for name in self._collection_names():
            if name.startswith(self.base + "-") and name not in keep:
                self.client.delete_collection(name)
                dropped.append(name)
        return dropped

    def _collection_names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]

    # -- reading -----------------------------------------------------------------------------------
    def passages(self, collection: Collection | None = None) -> list[Passage]:
        return self.snapshot(collection, embeddings=False)[0]

    def snapshot(self, collection: Collection | None = None,
                 embeddings: bool = True) -> tuple[list[Passage], np.ndarray | None]:
        """Every chunk of the active collection, sorted, and (optionally) its stored vectors in that order."""
        import numpy as np

        collection = collection or self.require_active()
        include: list[Any] = ["documents", "metadatas", *(["embeddings"] if embeddings else [])]
        got = collection.get(include=include)
        out = [to_passage(cid, doc or "", dict(meta or {}))
               for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)]
        order = sorted(range(len(out)), key=lambda i: (out[i].sources[0] if out[i].sources else "", out[i].chunk_id))
        passages = [out[i] for i in order]
        if not embeddings:
            return passages, None
        stored = got["embeddings"]
        if stored is None or len(stored) != len(out):
            return passages, None
        matrix = np.asarray(stored, dtype=np.float32).reshape(len(out), -1)[order] if out else None
        return passages, matrix

    def query(self, embedding: list[float] | np.ndarray, k: int,
              collection: Collection | None = None) -> list[tuple[str, float]]:
        collection = collection or self.require_active()
        try:
            k = min(k, collection.count())
        except Exception as exc:
            if collection.name not in self._collection_names():
                raise IndexChangedError(f"the index version {collection.name} was replaced while answering; "
                                        "ask again") from exc
            raise
        if k <= 0:
            return []
        try:
            got = collection.query(query_embeddings=[[float(x) for x in embedding]], n_results=k,  # type: ignore[arg-type]
                                   include=["distances"])
        except Exception as exc:
            if collection.name not in self._collection_names():  # dropped by a newer ingest meanwhile
                raise IndexChangedError(f"the index version {collection.name} was replaced while answering; "
                                        "ask again") from exc
            raise
        distances = (got["distances"] or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], distances, strict=True)]


def to_metadata(sources: list[str], section: str, kind: str, heading: str, spans: list[Span],
                paths: dict[str, str], digest: str) -> dict[str, Any]:
    return {"source": sources[0], "sources": json.dumps(sources), "section": section, "kind": kind,
            "heading": heading, "spans": json.dumps([s.model_dump() for s in spans]),
            "paths": json.dumps(paths), "content_hash": digest}


def to_passage(chunk_id: str, text: str, meta: dict[str, Any]) -> Passage:
    return Passage(
        chunk_id=chunk_id, text=text, sources=json.loads(str(meta.get("sources", "[]"))),
        section=str(meta.get("section", "")), kind=str(meta.get("kind", "prose")),
        heading=str(meta.get("heading", "")),
        spans=[Span(**s) for s in json.loads(str(meta.get("spans", "[]")))],
        paths=json.loads(str(meta.get("paths", "{}"))),
    )
