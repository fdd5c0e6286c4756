"""Crash safety: an ingest killed with SIGKILL half-way leaves the previous index whole and answering,
and the next ingest completes and drops the half-built collection."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant import Assistant
from assistant.encoders import question_encoder
from assistant.store import Store
from ingest.pipeline import run_ingest
from tests.conftest import CORPUS, make_settings

GENERATED_FILES, SECTIONS_PER_FILE, WORDS_PER_SECTION = 16, 12, 90
DEADLINE_S = 240.0


def generate_notes(folder: Path) -> int:
    """Many distinct long passages (no two alike, so none are de-duplicated): seconds of embedding."""
    folder.mkdir()
    rng = random.Random(20261122)
    syllables = "ka lo mi ne ru sa ti vo ze pa dro fen gal hur bex".split()
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(6000)})
    for i in range(GENERATED_FILES):
        parts = [f"# Shoot log {i}\n"]
        for j in range(SECTIONS_PER_FILE):
            words = " ".join(rng.choice(vocab) for _ in range(WORDS_PER_SECTION))
            parts.append(f"## Take {i}-{j}\n\n{words.capitalize()}.\n")
        (folder / f"log-{i:03d}.md").write_text("\n".join(parts), encoding="utf-8")
    return GENERATED_FILES * SECTIONS_PER_FILE


def test_sigkill_mid_ingest_leaves_the_previous_index_answering(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = make_settings(tmp_path)
    first = run_ingest(settings)
    pointer = f"{settings.collection}-active"
    generated = generate_notes(tmp_path / "extra")

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADVISOR_")}
    env.update(RAY_ADVISOR_CORPUS_DIR=str(settings.corpus_dir),
               RAY_ADVISOR_CHROMA_PATH=str(settings.chroma_path),
               RAY_ADVISOR_MODEL_DIR=str(settings.model_dir))  # the session's encoder and decider
    exe = Path(sys.executable).with_name("ray-advisor")
    proc = subprocess.Popen([str(exe), "ingest", "--rebuild", str(tmp_path / "extra")], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = Store(settings)
    building, partial = None, 0
    try:
        deadline = time.monotonic() + DEADLINE_S
        # Kill once the new collection exists and holds some, not all, of its chunks: mid-way.
        while proc.poll() is None and time.monotonic() < deadline:
            names = [n for n in store._collection_names() if n not in (first.collection, pointer)]
            if names:
                building = names[0]
                partial = store.client.get_collection(building, embedding_function=None).count()
                if partial > 0:
                    break
            time.sleep(0.05)  # a poll interval
        assert proc.poll() is None, f"the ingest ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        assert building is not None and 0 < partial < 24 + generated, (building, partial)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()

    # The pointer still names the previous collection, whole; the half-built one is left behind.
    reopened = Store(settings)
    assert reopened.active_name() == first.collection
    assert reopened.require_active().count() == first.chunks_stored
    assert building in reopened._collection_names()
    hits = reopened.query(question_encoder(settings).embed(["I have footage to relight"])[0], 5)
    assert len(hits) == 5
    assert {cid for cid, _ in hits} <= {p.chunk_id for p in reopened.passages()}
    answer = Assistant.from_settings(settings).ask("I have footage to relight")
    assert answer.recommendation == "ray-3.2" and not answer.abstained and answer.citations
    assert {c.source for c in answer.citations} <= {p.name for p in CORPUS.iterdir()}

    # The next ingest (of the corpus as it was) completes, changes nothing, and drops the stale build.
    report = run_ingest(settings)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert report.collection == first.collection
    assert set(Store(settings)._collection_names()) == {first.collection, pointer}
