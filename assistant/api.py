"""The HTTP API: /v1/ask, an OpenAI-compatible /v1/chat/completions, /v1/models, /v1/sources, /healthz.

Every error is JSON in the OpenAI shape ({"error": {"message", "type", "param", "code"}}) so both plain
HTTP clients and the `openai` package show the message. No user input can reach the 500 handler.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import IndexChangedError, IndexMissingError, InputError, RayAdvisorError
from assistant.schema import Answer, Turn

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.api")
MODEL_ID = "ray-advisor"
History = list[dict[str, str]]
SOURCES_HEADER = "\n\n**Sources**\n"
DOCS_ASSETS = "/docs-assets"  # Swagger UI's script and CSS, served locally
INDEX_HEADER = "X-Ray-Advisor-Index"  # the index version (active collection) that answered
_END = object()


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not silently ignored
    question: str
    history: list[Turn] = Field(default_factory=list)


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ... are accepted and ignored
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, ... mean nothing to a grounded answerer
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class AdvisorHolder:
    """The one Assistant the server answers with, built on first use and swapped when the index changes.

    A failure to build (no index yet) is retried on the next request. `refresh()` notices a new active
    index (another process ran `ray-advisor ingest`), builds a complete new Assistant aside while the
    old one keeps answering, then replaces one reference. A request takes the reference once, at its
    start, so it is answered wholly by the old assistant or wholly by the new one, never by half of each.
    """

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings, self._bot, self._lock = settings, assistant, threading.Lock()
        self.loaded_at = _now() if assistant is not None else ""
        self.last_switch: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def ready(self) -> Assistant | None:
        return self._bot

    def get(self) -> Assistant:
        if self._bot is None:
            with self._lock:
                if self._bot is None:
                    from assistant.core import Assistant

                    self._bot = Assistant.from_settings(self.settings)
                    self.loaded_at = _now()
        return self._bot

    @property
    def current(self) -> Assistant | None:
        return self._bot

    def refresh(self) -> bool:
        """Swap in an assistant on the active index if the pointer has moved; True when it swapped."""
        bot = self._bot
        if bot is None:
            return False  # nothing loaded yet: the next request builds from whatever is active then
        version = bot.store.version()
        if version is None or version.name == bot.index.name:
            return False
        with self._lock:  # one build at a time; requests never take this lock once a bot exists
            if self._bot is not bot:
                return False
            started = time.perf_counter()
            fresh = bot.for_version(version)  # built aside: the old one answers meanwhile
            self._bot = fresh  # the switch itself: one reference assignment
            took_ms = round((time.perf_counter() - started) * 1000, 1)
            self.loaded_at = _now()
            self.last_switch = {"from": bot.index.name, "to": version.name, "build_ms": took_ms,
                                "at": self.loaded_at}
        log.info("index switched from %s to %s (new assistant built in %.0f ms)", bot.index.name, version.name,
                 took_ms)
        return True

    def watch(self, every_s: float) -> None:
        """Poll the pointer every `every_s` seconds on a daemon thread until `stop()`."""
        if every_s <= 0 or self._watcher is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.refresh()
                except Exception:  # a half-written store, a vanished collection: keep answering, try again
                    log.warning("could not switch to the new index; still answering from the old one",
                                exc_info=True)

        self._watcher = threading.Thread(target=loop, name="ray-advisor-index-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
            self._watcher = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _invalid(field: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *field.split(".")), "msg": msg, "type": "value_error"}])


def check_input(settings: Settings, question: str, history: list[dict[str, str]], prefix: str = "") -> None:
    if not question.strip():
        raise _invalid(prefix or "question", "must not be empty or only whitespace")
    if len(question) > settings.max_question_chars:
        raise _invalid(prefix or "question", f"is {len(question)} characters; at most "
                       f"{settings.max_question_chars} are allowed")
    if len(history) > settings.max_history_turns:
        raise _invalid("messages" if prefix else "history", f"has {len(history)} earlier turns; at most "
                       f"{settings.max_history_turns} are allowed")


def chat_to_question(req: ChatRequest) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; earlier user/assistant turns are history.

    System and developer messages are dropped on purpose: the answer policy is fixed, never prompt-set.
    """
    if req.model != MODEL_ID:
        raise _invalid("model", f"unknown model {req.model!r}; the only model is {MODEL_ID!r}")
    turns = []
    for msg in req.messages:
        if msg.role in ("user", "assistant"):
            text = msg.content if isinstance(msg.content, str) else "".join(p.text for p in msg.content or [])
            # Our own appended source list is presentation, not conversation.
            turns.append({"role": msg.role, "content": text.split(SOURCES_HEADER)[0]})
    if not turns or turns[-1]["role"] != "user":
        raise _invalid("messages", "the last user/assistant message must be from the user (the question)")
    return turns[-1]["content"], turns[:-1]


def sources_markdown(answer: Answer) -> str:
    """The numbered sources under a chat reply: where each quote is from, and its words only when the answer
    text does not already show them (the extractive answer quotes every one inline)."""
    from assistant.quotes import place, shown_in

    cites = answer.citations
    if not cites:
        return ""
    items = (f"{i}. *{c.source}*, {place(c)}" + ("" if shown_in(answer.answer, c.quote) else f": \u201c{c.quote}\u201d")
             for i, c in enumerate(cites, 1))
    return SOURCES_HEADER + "\n".join(items)


def ray_advisor_extra(answer: Answer) -> dict[str, Any]:
    return {"recommendation": answer.recommendation, "abstained": answer.abstained,
            "citations": [c.model_dump() for c in answer.citations]}


def _error(status: int, message: str, kind: str, param: str | None = None, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def _pump(it: Iterator[str | Answer]) -> AsyncGenerator[str | Answer, None]:
    """Run the answer generator to completion in a worker thread, handing pieces over through a queue.

    `Assistant.ask_stream` holds the assistant's lock while it is suspended between pieces; driving it
    from here would let a slow or vanished SSE reader keep that lock and stall every other request.
    """
    loop, queue = asyncio.get_running_loop(), asyncio.Queue[object]()

    def produce() -> None:
        try:
            for item in it:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            loop.call_soon_threadsafe(queue.put_nowait, _END)
        except Exception as exc:  # handed to the reader, which turns it into a status or an error event
            loop.call_soon_threadsafe(queue.put_nowait, exc)

    worker = asyncio.ensure_future(run_in_threadpool(produce))
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        await asyncio.shield(worker)  # the worker finishes on its own; never leave it unreferenced


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _stream_completion(bot: Assistant, question: str, history: History) -> StreamingResponse:
    pieces = _pump(bot.ask_stream(question, history))
    # Take the first piece before answering 200, so a missing index or bad input still gets its status.
    first = await anext(pieces)
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                     "choices": [choice], **extra})

    async def events() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        streamed, item = "", first
        try:
            while isinstance(item, str):
                streamed += item
                yield chunk({"content": item})
                item = await anext(pieces)
            if not isinstance(item, Answer):
                raise RuntimeError("the answer stream ended without a final answer")
        except Exception as exc:  # headers are sent: the error can only travel as an event
            log.exception("stream failed")
            msg = str(exc) if isinstance(exc, RayAdvisorError) else "internal error while answering"
            yield _sse({"error": {"message": msg, "type": "server_error", "param": None, "code": None}})
            return
        finally:
            await pieces.aclose()
        # The final text is authoritative; if the generator fell back, say so rather than leave it wrong.
        tail = item.answer[len(streamed):] if item.answer.startswith(streamed) else (
            "\n\n---\n**Corrected answer:**\n\n" + item.answer)
        yield chunk({"content": tail + sources_markdown(item)})
        yield chunk({}, "stop", ray_advisor=ray_advisor_extra(item))
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str | None]:
    parts, param, status = [], None, 422
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            status = 400
            detail = (err.get("ctx") or {}).get("error", "invalid JSON")
            parts.append(f"malformed JSON body at position {loc[0] if loc else '?'}: {detail}")
            continue
        field = ".".join(loc) or "body"
        param = param or field
        parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return status, "; ".join(parts), param


_KNOWN_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (IndexMissingError, 503, "index_missing"),  # a deployment state to fix, so "unavailable", not a bug
    (InputError, 422, "invalid_request_error"),
    (RayAdvisorError, 400, "ray_advisor_error"),
)


def _install_handlers(app: FastAPI) -> None:
    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, message, param = _validation_message(exc)
        return _error(status, message, "invalid_json" if status == 400 else "invalid_request_error", param)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return _error(exc.status_code, str(exc.detail), "http_error", headers=exc.headers)

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal server error", "server_error")  # never a traceback to the client

    def known(status: int, kind: str) -> Any:
        async def handler(_: Request, exc: Exception) -> JSONResponse:
            return _error(status, str(exc), kind)

        return handler

    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for cls, status, kind in _KNOWN_ERRORS:
        app.add_exception_handler(cls, known(status, kind))
    app.add_exception_handler(Exception, on_bug)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The API. The Gradio page is mounted by `assistant.serve.build_app` (assistant never imports ui)."""
    from assistant.settings import load_settings

    settings = settings or (assistant.settings if assistant else load_settings())
    holder = AdvisorHolder(settings, assistant)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.watch(settings.index_poll_seconds)  # notice a re-ingest without a restart
        try:
            yield
        finally:
            await run_in_threadpool(holder.stop)

    from fastapi_offline import FastAPIOffline

    # /docs and /redoc load Swagger UI / ReDoc from the package's own files, not a CDN: they work offline.
    app = FastAPIOffline(title="Ray Advisor", version="0.1.0", lifespan=lifespan, static_url=DOCS_ASSETS,
                         description="Ray 3 or Ray 3.2? Answers grounded in Luma's documents, with verbatim quotes.")
    app.state.holder, app.state.settings = holder, settings
    _install_handlers(app)

    async def require_key(request: Request) -> None:
        if not settings.api_key:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # compare_digest: the time taken must not reveal how much of a guessed key was right.
        ok = hmac.compare_digest(token.strip().encode(), settings.api_key.encode())
        if scheme.lower() != "bearer" or not ok:
            raise StarletteHTTPException(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                         headers={"WWW-Authenticate": "Bearer"})

    async def get_bot() -> Assistant:
        bot = holder.ready()
        # Built once: after the first request (or the warm-up before listening) no thread hop is needed.
        return bot if bot is not None else await run_in_threadpool(holder.get)

    async def answer_from_one_version(question: str, history: History) -> tuple[Assistant, Answer]:
        bot = await get_bot()  # taken once: the whole answer comes from this assistant's index version
        try:
            return bot, await run_in_threadpool(bot.ask, question, history)
        except IndexChangedError:
            # Two re-ingests came faster than the server switched, and the second dropped this version:
            # switch now and answer the whole question again from the new one.
            await run_in_threadpool(holder.refresh)
            bot = await get_bot()
            return bot, await run_in_threadpool(bot.ask, question, history)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    @v1.post("/ask", response_model=Answer)
    async def ask(req: AskRequest) -> Response:
        history = [t.model_dump() for t in req.history]
        check_input(settings, req.question, history)
        bot, answer = await answer_from_one_version(req.question, history)
        # Already a validated Answer: serialise it once, rather than have FastAPI validate it again.
        return Response(answer.model_dump_json(), media_type="application/json",
                        headers={INDEX_HEADER: bot.index.name})

    @v1.post("/chat/completions", response_model=None)
    async def chat_completions(req: ChatRequest) -> dict[str, Any] | StreamingResponse:
        question, history = chat_to_question(req)
        check_input(settings, question, history, prefix=f"messages.{len(req.messages) - 1}.content")
        if req.stream:
            return await _stream_completion(await get_bot(), question, history)
        _, answer = await answer_from_one_version(question, history)
        message = {"role": "assistant", "content": answer.answer + sources_markdown(answer)}
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "model": MODEL_ID,
                "created": int(time.time()), "ray_advisor": ray_advisor_extra(answer),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}

    @v1.get("/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                                            "owned_by": "ray-advisor"}]}

    @v1.get("/sources")
    async def sources() -> dict[str, Any]:
        bot = await get_bot()
        return {"sources": bot.sources(), "chunks": bot.chunk_count()}  # cheap: counts in memory

    app.include_router(v1)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            bot = await get_bot()
            chunks = await run_in_threadpool(bot.chunk_count)
        except IndexMissingError as exc:  # readiness: not ready until there is an index to answer from
            return JSONResponse({"status": "unavailable", "index_loaded": False, "error": str(exc)}, 503)
        index = {"version": bot.index.name, "built_at": bot.index.built_at, "loaded_at": holder.loaded_at,
                 "last_switch": holder.last_switch}
        return JSONResponse({"status": "ok", "index_loaded": True, "chunks": chunks, "model": MODEL_ID,
                             "index": index})

    # Unknown /v1 paths would otherwise fall through to the page mounted at "/"; answer them here in JSON.
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/v1/{rest:path}", methods=methods, include_in_schema=False)
    async def v1_unknown(request: Request, rest: str) -> JSONResponse:
        allowed = sorted(m for r in v1.routes if getattr(r, "path", None) == f"/v1/{rest}"
                         for m in getattr(r, "methods", ()))
        if allowed:
            return _error(405, f"{request.method} is not allowed on /v1/{rest}; use {', '.join(allowed)}",
                          "http_error", headers={"Allow": ", ".join(allowed)})
        return _error(404, f"no route {request.method} /v1/{rest}; see /docs", "not_found")

    return app
