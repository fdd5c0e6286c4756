"""Thumbs up/down from the page, appended to a JSONL file (one object per line)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Page events run on several worker threads; one lock keeps each line whole.
_LOCK = threading.Lock()


def record_feedback(
    path: Path, *, question: str, answer: str, recommendation: str, liked: Any
) -> dict[str, Any]:
    entry = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": question,
        "answer": answer,
        "recommendation": recommendation,
        "liked": liked,
    }
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
    return entry
