"""Server mode: ingest into a real `chroma run` server (RAY_ADVISOR_CHROMA_HOST/PORT), query it, re-ingest."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import Assistant
from assistant.encoders import question_encoder
from assistant.store import Store
from ingest.pipeline import run_ingest
from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.server
STARTUP_DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        pytest.skip(f"no chroma executable next to {sys.executable}")
    port = free_port()
    log = (tmp_path / "chroma-server.log").open("wb")
    proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port),
                             "--path", str(tmp_path / "server-data")],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        url, last = f"http://127.0.0.1:{port}/api/v2/heartbeat", "no answer yet"
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: "
                            f"{(tmp_path / 'chroma-server.log').read_text(errors='replace')[-2000:]}")
            try:
                response = httpx.get(url, timeout=5)
                if response.status_code == 200:
                    break
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.1)  # a poll interval
        else:
            pytest.fail(f"chroma server on port {port} not up after {STARTUP_DEADLINE_S:.0f} s: {last}")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


def test_ingest_query_and_reingest_against_a_chroma_server(tmp_path: Path, chroma_server: int) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)

    first = run_ingest(settings)
    assert (first.added, first.chunks_stored) == (first.chunks_stored, 24)
    assert not settings.chroma_path.exists()  # nothing was written to the embedded store

    store = Store(settings)
    assert store.active_name() == first.collection
    hits = store.query(question_encoder(settings).embed(["I have product footage and need to relight it"])[0], 5)
    assert len(hits) == 5
    texts = {p.chunk_id: p.text for p in store.passages()}
    assert len(texts) == 24
    assert any("Relight" in texts[cid] or "relight" in texts[cid] for cid, _ in hits)
    answer = Assistant.from_settings(settings).ask("I have footage to relight. Which model?")
    assert answer.recommendation == "ray-3.2" and answer.citations

    again = run_ingest(settings)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 24)
    assert again.collection == first.collection
    names = set(Store(settings)._collection_names())
    assert names == {first.collection, f"{settings.collection}-active"}
