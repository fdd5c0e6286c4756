"""Scale-out as a user would run it: one `chroma run` server, two `ray-advisor serve --workers 2` API
processes in front of it (RAY_ADVISOR_CHROMA_HOST); every worker of both gives the same answers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import run_ingest
from tests.conftest import CORPUS, make_settings
from tests.servers import wait_ready
from tests.test_ingest_server import chroma_server, free_port  # noqa: F401  (the `chroma run` fixture)

pytestmark = pytest.mark.server
QUESTIONS = [
    "I have product footage and need to relight it. Which model?",
    "nothing has been filmed yet, which one?",
    "Can I use Ray 3 and Ray 3.2 together?",
    "How much does Ray 3.2 cost?",
]


@contextmanager
def api_process(env: dict[str, str], workers: int, log: Path) -> Iterator[str]:
    port = free_port()
    cli = Path(sys.executable).with_name("ray-advisor")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            if proc.poll() is not None:
                pytest.fail(log.read_text(errors="replace")[-3000:])
            wait_ready(url, timeout=240)
            yield url
        finally:
            workers_before = children(proc.pid)
            proc.send_signal(signal.SIGINT)  # the parent stops its workers, then exits
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
    # Every worker went with it: none is left holding the port or the index.
    assert len(workers_before) == workers, workers_before
    assert not [pid for pid in workers_before if Path(f"/proc/{pid}").exists()], workers_before


def children(pid: int) -> list[int]:
    """The worker processes of `serve --workers N` (multiprocessing's, not its resource tracker)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def comparable(answer: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def test_two_api_processes_on_one_chroma_server_answer_alike(tmp_path: Path, chroma_server: int) -> None:  # noqa: F811
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    run_ingest(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADVISOR_")}
    env.update({"RAY_ADVISOR_CHROMA_HOST": "127.0.0.1", "RAY_ADVISOR_CHROMA_PORT": str(chroma_server),
                "RAY_ADVISOR_CORPUS_DIR": str(tmp_path / "corpus"),
                "RAY_ADVISOR_MODEL_DIR": str(settings.model_dir),
                "RAY_ADVISOR_CHROMA_PATH": str(tmp_path / "unused-local-index"),
                "RAY_ADVISOR_FEEDBACK_PATH": str(tmp_path / "feedback.jsonl")})
    with api_process(env, 2, tmp_path / "api-a.log") as a, api_process(env, 2, tmp_path / "api-b.log") as b:
        health = [httpx.get(url + "/healthz", timeout=30).json() for url in (a, b)]
        assert health[0]["chunks"] > 0
        for h in health:  # when each process loaded the index is its own; what it loaded must be the same
            h["index"].pop("loaded_at")
        assert health[0] == health[1]
        answers: dict[str, list[dict[str, object]]] = {q: [] for q in QUESTIONS}
        # Several rounds on fresh connections, so requests reach both worker processes of each API.
        for _ in range(4):
            for url in (a, b):
                for question in QUESTIONS:
                    r = httpx.post(url + "/v1/ask", json={"question": question}, timeout=60)
                    assert r.status_code == 200, r.text
                    answers[question].append(comparable(r.json()))
        for question, got in answers.items():
            assert all(g == got[0] for g in got), question
        assert answers[QUESTIONS[0]][0]["recommendation"] == "ray-3.2"
        assert answers[QUESTIONS[3]][0]["abstained"] is True
    assert not (tmp_path / "unused-local-index").exists()  # everything came from the Chroma server
