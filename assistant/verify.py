"""Verify quotes: every quote shown must be found verbatim (whitespace normalised) in its source file."""

from __future__ import annotations

import threading
from pathlib import Path

from assistant.schema import Citation, Passage
from assistant.text import normalise_ws


class QuoteVerifier:
    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self._cache: dict[Path, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _file_text(self, path: Path) -> str | None:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            cached = self._cache.get(path)
            if cached and cached[0] == mtime:
                return cached[1]
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None
        if path.suffix.lower() in (".html", ".htm"):
            from bs4 import BeautifulSoup  # an HTML file's words are its visible text

            raw = BeautifulSoup(raw, "html.parser").get_text(" ")
        text = normalise_ws(raw)
        with self._lock:
            self._cache[path] = (mtime, text)
        return text

    def source_path(self, source: str, passage: Passage | None) -> Path:
        if passage is not None and source in passage.paths and Path(passage.paths[source]).exists():
            return Path(passage.paths[source])
        return self.corpus_dir / Path(source).name  # never outside the corpus dir

    def is_verbatim(self, citation: Citation, passage: Passage | None) -> bool:
        quote = normalise_ws(citation.quote)
        if len(quote) < 3:
            return False
        text = self._file_text(self.source_path(citation.source, passage))
        return text is not None and quote in text

    def verify(self, citations: list[Citation], passages: dict[str, Passage]) -> tuple[list[Citation], list[Citation]]:
        """(kept, dropped). A citation may be re-pointed to another source of its chunk that holds the quote."""
        kept: list[Citation] = []
        dropped: list[Citation] = []
        for citation in citations:
            passage = passages.get(citation.chunk_id)
            candidates = [citation.source] + ([s for s in passage.sources if s != citation.source] if passage else [])
            for source in candidates:
                fixed = citation.model_copy(update={"source": source})
                if self.is_verbatim(fixed, passage):
                    kept.append(fixed)
                    break
            else:
                dropped.append(citation)
        return kept, dropped
