"""Run a real uvicorn server on a free 127.0.0.1 port in a background thread, and stop it cleanly."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn


def free_socket() -> socket.socket:
    """A bound listening socket on an OS-chosen port: handing it to uvicorn leaves no race for the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def wait_ready(base_url: str, timeout: float = 180.0, path: str = "/healthz") -> httpx.Response:
    """Poll until the server answers `path` with 200 (the first poll also loads the index and model)."""
    deadline = time.monotonic() + timeout
    last: str = "no answer yet"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(base_url + path, timeout=timeout)
            if response.status_code == 200:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:  # not listening yet
            last = repr(exc)
        time.sleep(0.05)  # a poll interval, not a wait for something to happen
    raise TimeoutError(f"{base_url}{path} not ready after {timeout:.0f} s: {last}")


@contextlib.contextmanager
def running_server(app: Any, ready_path: str | None = "/healthz", timeout: float = 180.0) -> Iterator[str]:
    """Serve `app` until the block ends; yields the base URL, e.g. http://127.0.0.1:43211."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn on port {port} failed to start")
            time.sleep(0.02)
        if ready_path:
            wait_ready(base_url, timeout, ready_path)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
