"""A new user's first commands: `serve` on a busy port, `ask` before any ingest, `eval` progress, quiet logs."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("ray-advisor")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADVISOR_")}
    env.update(RAY_ADVISOR_CHROMA_PATH=str(tmp_path / "store" / "chroma"), NO_COLOR="1", COLUMNS="200")
    return env


@pytest.mark.server
def test_serve_on_a_busy_port_says_so_within_seconds(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc = subprocess.run([str(EXE), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                              env=_env(tmp_path), capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert f"port {port}" in message and "already in use" in message, proc.stderr
    assert "--port" in message and "make run PORT=" in message
    assert "Errno" not in proc.stderr and "Traceback" not in proc.stderr
    assert took < 15, f"took {took:.1f} s: the port must be checked before anything heavy loads"
    assert not (tmp_path / "store").exists()  # nothing was opened or created


@pytest.mark.server
def test_make_run_checks_the_port_before_it_ingests(tmp_path: Path) -> None:
    """`make run` calls `python -m ui.ports HOST PORT` first: a busy port stops it before ingest."""
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun:", 1)[1]
    assert run.index("-m ui.ports $(HOST) $(PORT)") < run.index("ray-advisor ingest")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, "-m", "ui.ports", "127.0.0.1", str(port)], cwd=tmp_path,
                              env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert busy.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in busy.stderr
    assert f"make run PORT={port + 1}" in busy.stderr
    free = subprocess.run([sys.executable, "-m", "ui.ports", "127.0.0.1", str(port)], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr


def test_ask_without_an_index_creates_nothing_and_json_reports_the_error(tmp_path: Path) -> None:
    proc = subprocess.run([str(EXE), "ask", "--json", "Which model for relighting my footage?"], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "index_missing" and "ray-advisor ingest" in error["message"]
    assert "ray-advisor ingest" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "store").exists(), "asking must not create an empty store"

    plain = subprocess.run([str(EXE), "ask", "Which model?"], cwd=tmp_path, env=_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and plain.stdout == "" and "ray-advisor ingest" in plain.stderr
    assert not (tmp_path / "store").exists()


def test_asset_requests_are_kept_out_of_the_access_log() -> None:
    from ui.serve import QuietAssets

    quiet = QuietAssets()

    def line(path: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                                 ("127.0.0.1:5000", "GET", path, "1.1", 200), None)

    for asset in ("/assets/index-abc123.js", "/theme.css?v=1", "/gradio_api/heartbeat/xyz", "/favicon.ico",
                  "/docs-assets/swagger-ui-bundle.js", "/assets/fonts/x.woff2", "/config"):
        assert not quiet.filter(line(asset)), asset
    for kept in ("/", "/v1/ask", "/healthz", "/docs", "/gradio_api/queue/join", "/openapi.json"):
        assert quiet.filter(line(kept)), kept
