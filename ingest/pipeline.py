"""load -> normalise -> de-duplicate -> chunk -> embed -> store, incrementally and atomically.

Chunk ids are content hashes, so an unchanged chunk keeps its id and its stored embedding: a re-run
with nothing changed embeds nothing, and an edited file re-embeds only the chunks whose text changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import IngestError
from assistant.settings import Settings
from assistant.store import Store, to_metadata
from ingest.chunk import Chunk, chunk_document
from ingest.decider.build import ensure_decider
from ingest.decider.train import Progress as TrainingProgress
from ingest.dedupe import deduplicate
from ingest.load import Skipped, load_all
from ingest.onnx_export import ensure_encoder

EMBED_BATCH = 16
Progress = Callable[[int, int], None]  # (done, total) while embedding


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_before_dedupe: int = 0
    chunks_stored: int = 0
    collection: str = ""
    seconds: float = 0.0
    decider: str = ""  # the trained decider's folder
    decider_trained: bool = False  # False when an unchanged one was reused


def plan_chunks(paths: Iterable[Path]) -> tuple[list[Chunk], list[str], list[Skipped], int, dict[str, str]]:
    docs, skipped = load_all(paths)
    chunks: list[Chunk] = []
    for doc in docs:
        found = chunk_document(doc)
        if not found:
            skipped.append(Skipped(doc.path, "no passages found in it"))
        chunks.extend(found)
    paths_by_name = {doc.name: str(doc.path.resolve()) for doc in docs}
    return deduplicate(chunks), [d.name for d in docs], skipped, len(chunks), paths_by_name


def _identity(meta: dict[str, Any]) -> tuple[str, str, str]:
    """What makes two chunks 'the same place' across an edit: file, section, heading."""
    return (str(meta.get("source")), str(meta.get("section")), str(meta.get("heading")))


def run_ingest(settings: Settings, paths: Iterable[Path] | None = None, rebuild: bool = False,
               progress: Progress | None = None, store: Store | None = None,
               training_progress: TrainingProgress | None = None) -> IngestReport:
    """Index the corpus, then make sure the decider is trained for it (a no-op when nothing changed)."""
    report = _index(settings, paths, rebuild, progress, store)
    started = time.perf_counter()
    folder, report.decider_trained = ensure_decider(settings, training_progress)
    report.decider = folder.name
    report.seconds += time.perf_counter() - started
    return report


def _index(settings: Settings, paths: Iterable[Path] | None, rebuild: bool, progress: Progress | None,
           store: Store | None) -> IngestReport:
    started = time.perf_counter()
    # The question encoder's ONNX export (made once per model, then a stat and a small file read).
    ensure_encoder(settings)
    scan = [settings.corpus_dir, *(paths or [])]
    chunks, files, skipped, before, paths_by_name = plan_chunks(scan)
    if not chunks:
        names = ", ".join(f"{s.path.name} ({s.reason})" for s in skipped) or "no .txt, .md or .html files"
        raise IngestError(f"nothing usable to ingest in {', '.join(map(str, scan))}: {names}")
    report = IngestReport(files=files, skipped=skipped, chunks_before_dedupe=before, chunks_stored=len(chunks))
    store = store or Store(settings)
    old = None if rebuild else store.active()
    wanted = {c.chunk_id: c for c in chunks}
    metas = {cid: to_metadata(c.sources, c.section, c.kind, c.heading, c.spans,
                              {s: paths_by_name[s] for s in c.sources}, cid) for cid, c in wanted.items()}
    existing: dict[str, dict[str, Any]] = {}
    if old is not None:
        got = old.get(include=["metadatas"])
        existing = {cid: dict(m or {}) for cid, m in zip(got["ids"], got["metadatas"] or [], strict=True)}
    keep = [cid for cid in wanted if cid in existing]
    new = [cid for cid in wanted if cid not in existing]
    gone = [cid for cid in existing if cid not in wanted]
    moved = sum(1 for cid in keep if existing[cid] != metas[cid])  # same text, new sources or section
    replaced = len({_identity(existing[c]) for c in gone} & {_identity(metas[c]) for c in new})
    report.added, report.removed = len(new) - replaced, len(gone) - replaced
    report.updated, report.unchanged = replaced + moved, len(keep) - moved
    if old is not None and not new and not gone and not moved:
        report.collection = old.name
        store.drop_stale()  # a build a crash left behind
        report.seconds = time.perf_counter() - started
        return report

    target = store.new_collection()
    if keep:  # carry stored embeddings over: unchanged text is never embedded twice
        assert old is not None
        got = old.get(ids=keep, include=["embeddings", "documents"])
        target.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                   metadatas=[metas[cid] for cid in got["ids"]])
    for start in range(0, len(new), EMBED_BATCH):
        batch = new[start:start + EMBED_BATCH]
        texts = [wanted[cid].text for cid in batch]
        target.add(ids=batch, documents=texts, embeddings=store.embedder(texts),
                   metadatas=[metas[cid] for cid in batch])
        if progress:
            progress(min(start + EMBED_BATCH, len(new)), len(new))
    store.switch_to(target)
    report.collection = target.name
    report.seconds = time.perf_counter() - started
    return report
