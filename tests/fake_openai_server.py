"""A real, scripted OpenAI-compatible HTTP server on 127.0.0.1, for testing the LLM backend without mocks.

It speaks `POST /v1/chat/completions`, plain JSON and `stream: true` server-sent events in the OpenAI
chunk format (ending with `data: [DONE]`). Tests queue behaviours (`script`) and read what the client
sent (`requests`). Usage:

    def test_x(fake_llm: FakeOpenAIServer) -> None:
        fake_llm.script(Behaviour(content='{"label": "ray-3", ...}'))
        settings = make_settings(..., llm_base_url=fake_llm.base_url, llm_model="fake")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Behaviour:
    """One scripted reply. Exactly what the server does for the next request."""

    content: str = ""  # the assistant message text
    delay: float = 0.0  # seconds to wait before answering (a slow model)
    status: int = 200  # non-200 sends an OpenAI-style error body
    raw_body: str | None = None  # sent verbatim (status 200) instead of a well-formed completion
    chunk_size: int = 7  # characters per streamed delta
    chunk_delay: float = 0.0  # seconds between streamed deltas
    cut_stream_after: int | None = None  # close the connection after this many deltas (no [DONE])
    # Hold the reply until this many requests wait at the barrier together (a model serving several users
    # at once); if they never do, the barrier's timeout breaks it and the reply is a 503.
    barrier: threading.Barrier | None = None


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def text(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


@dataclass
class FakeOpenAIServer:
    default: Behaviour | None = None  # used when the script queue is empty (e.g. benchmarks)
    requests: list[RecordedRequest] = field(default_factory=list)
    _queue: deque[Behaviour] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def reply_json(self, obj: dict[str, Any], **kw: Any) -> None:
        self.script(Behaviour(content=json.dumps(obj), **kw))

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.default is not None:
            return self.default
        return Behaviour(status=500, content="fake server: nothing scripted for this request")

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # Handler threads may be sleeping through a scripted delay; never wait for them on stop.
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers out of their scripted delays
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparseable": raw.decode("utf-8", "replace")}
        self.fake.requests.append(
            RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        behaviour = self.fake.next_behaviour()
        if behaviour.delay and self.fake._stopping.wait(behaviour.delay):
            return
        if behaviour.barrier is not None:
            try:
                behaviour.barrier.wait()
            except threading.BrokenBarrierError:
                behaviour = Behaviour(status=503, content="fake server: the other requests never came")
        try:
            if behaviour.status != 200:
                self._send_json(
                    behaviour.status,
                    {"error": {"message": behaviour.content or "scripted failure", "type": "server_error"}},
                )
            elif behaviour.raw_body is not None:
                self._send_bytes(200, behaviour.raw_body.encode(), "application/json")
            elif body.get("stream"):
                self._stream(behaviour, str(body.get("model", "fake")))
            else:
                self._send_json(200, _completion(behaviour.content, str(body.get("model", "fake"))))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do

    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, behaviour: Behaviour, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # no Content-Length: the body ends when we close
        self.end_headers()
        self.close_connection = True
        text, size = behaviour.content, max(1, behaviour.chunk_size)
        deltas = [{"role": "assistant", "content": ""}] + [
            {"content": text[i : i + size]} for i in range(0, len(text), size)
        ]
        for n, delta in enumerate(deltas):
            if behaviour.cut_stream_after is not None and n > behaviour.cut_stream_after:
                return  # drop the connection mid-stream
            self._event(_chunk(model, delta, None))
            if behaviour.chunk_delay and n and self.fake._stopping.wait(behaviour.chunk_delay):
                return
        self._event(_chunk(model, {}, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, obj: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
        self.wfile.flush()


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released), for 'connection refused'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server
