"""The HTTP API: the native /v1/ask and /v1/sources, /healthz, and the OpenAI-format routes
(`ui.openai_api`). The Gradio page is mounted beside it by `ui.serve.build_app`."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.cores import share
from assistant.errors import IndexChangedError, IndexMissingError
from assistant.schema import Answer, Turn
from assistant.validate import History, validate
from ui import openai_api
from ui.holder import AdvisorHolder
from ui.http_errors import error_response, install_handlers

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings

DOCS_ASSETS = "/docs-assets"  # Swagger UI's script and CSS, served locally
INDEX_HEADER = "X-Ray-Advisor-Index"  # the index version (active collection) that answered


def answer_threads(settings: Settings) -> int | None:
    """How many answers one process computes at once; None for no limit beyond anyio's pool of 40.

    Offline, an answer is CPU work (the ONNX encoder, the decider, the extractive composer), so more
    answers at once than this process's share of the cores only interleave under the GIL: each of them
    finishes later, and the slowest much later. Capped, waiting requests queue in arrival order instead
    (anyio's limiter is FIFO). On 2 cores, 32 clients, `--workers 2`: p99 177-218 ms against 222-346 ms
    uncapped, the same answers/s. A Chroma server makes part of each answer a network wait, so twice
    the share; an LLM makes it mostly a wait, so no cap. (A streamed chat completion runs apart from
    this cap: it streams as it is composed.)
    """
    if settings.generator == "openai":
        return None
    return share() * (2 if settings.chroma_host else 1)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not silently ignored
    question: str
    history: list[Turn] = Field(default_factory=list)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    from fastapi_offline import FastAPIOffline

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

    # /docs and /redoc load Swagger UI / ReDoc from the package's own files, not a CDN: they work offline.
    app = FastAPIOffline(title="Ray Advisor", version="0.1.0", lifespan=lifespan, static_url=DOCS_ASSETS,
                         description="Ray 3 or Ray 3.2? Answers grounded in Luma's documents, with verbatim quotes.")
    app.state.holder, app.state.settings = holder, settings
    install_handlers(app)

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

    threads = answer_threads(settings)
    limiter = anyio.CapacityLimiter(threads) if threads else None  # None: anyio's default pool (40)

    async def answer_from_one_version(question: str, history: History) -> tuple[Assistant, Answer]:
        async def answer() -> tuple[Assistant, Answer]:
            bot = await get_bot()  # taken once: the whole answer comes from this assistant's index version
            return bot, await anyio.to_thread.run_sync(bot.ask, question, history, limiter=limiter)

        try:
            return await answer()
        except IndexChangedError:
            # Two re-ingests came faster than the server switched, and the second dropped this version:
            # switch now and answer the whole question again from the new one.
            await run_in_threadpool(holder.refresh)
            return await answer()

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    @v1.post("/ask", response_model=Answer)
    async def ask(req: AskRequest) -> Response:
        question, history = validate(settings, req.question, req.history)  # a 422 even before an index exists
        bot, answer = await answer_from_one_version(question, history)
        # Already a validated Answer: serialise it once, rather than have FastAPI validate it again.
        return Response(answer.model_dump_json(), media_type="application/json",
                        headers={INDEX_HEADER: bot.index.name})

    @v1.post("/chat/completions", response_model=None)
    async def chat_completions(req: openai_api.ChatRequest) -> dict[str, Any] | StreamingResponse:
        question, history = openai_api.chat_to_question(req, settings)
        if req.stream:
            return await openai_api.stream_completion(await get_bot(), question, history)
        _, answer = await answer_from_one_version(question, history)
        return openai_api.completion(answer)

    @v1.get("/models")
    async def models() -> dict[str, Any]:
        return openai_api.models()

    @v1.get("/sources")
    async def sources() -> dict[str, Any]:
        bot = await get_bot()
        return {"sources": bot.sources(), "chunks": bot.chunk_count()}  # cheap: counts in memory

    app.include_router(v1)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            bot = await get_bot()
        except IndexMissingError as exc:  # readiness: not ready until there is an index to answer from
            return JSONResponse({"status": "unavailable", "index_loaded": False, "error": str(exc)}, 503)
        index = {"version": bot.index.name, "built_at": bot.index.built_at, "loaded_at": holder.loaded_at,
                 "last_switch": holder.last_switch}
        return JSONResponse({"status": "ok", "index_loaded": True, "chunks": bot.chunk_count(),
                             "model": openai_api.MODEL_ID, "index": index})

    # Unknown /v1 paths would otherwise fall through to the page mounted at "/"; answer them here in JSON.
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/v1/{rest:path}", methods=methods, include_in_schema=False)
    async def v1_unknown(request: Request, rest: str) -> JSONResponse:
        allowed = sorted(m for r in v1.routes if getattr(r, "path", None) == f"/v1/{rest}"
                         for m in getattr(r, "methods", ()))
        if allowed:
            return error_response(405, f"{request.method} is not allowed on /v1/{rest}; use {', '.join(allowed)}",
                                  "http_error", headers={"Allow": ", ".join(allowed)})
        return error_response(404, f"no route {request.method} /v1/{rest}; see /docs", "not_found")

    return app
