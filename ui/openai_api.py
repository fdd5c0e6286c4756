"""The OpenAI-format API: /v1/chat/completions (with `stream: true` as server-sent events) and /v1/models.

Any OpenAI client can talk to Ray Advisor; the answer's label and verbatim citations travel beside the
text in a `ray_advisor` field, and the reply ends with its numbered sources.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant.errors import InputError, RayAdvisorError
from assistant.schema import Answer
from assistant.validate import validate

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.api")
MODEL_ID = "ray-advisor"
History = list[dict[str, str]]
SOURCES_HEADER = "\n\n**Sources**\n"
_END = object()


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


def chat_to_question(req: ChatRequest, settings: Settings) -> tuple[str, History]:
    """The last user message is the question; earlier user/assistant turns are history, checked by the
    same `validate` as every other way in, with the fields named as the request names them.

    System and developer messages are dropped on purpose: the answer policy is fixed, never prompt-set.
    """
    if req.model != MODEL_ID:
        raise InputError(f"unknown model {req.model!r}; the only model is {MODEL_ID!r}", "model")
    turns = []
    for msg in req.messages:
        if msg.role in ("user", "assistant"):
            text = msg.content if isinstance(msg.content, str) else "".join(p.text for p in msg.content or [])
            # Our own appended source list is presentation, not conversation.
            turns.append({"role": msg.role, "content": text.split(SOURCES_HEADER)[0]})
    if not turns or turns[-1]["role"] != "user":
        raise InputError("the last user/assistant message must be from the user (the question)", "messages")
    try:
        return validate(settings, turns[-1]["content"], turns[:-1])
    except InputError as exc:
        field = f"messages.{len(req.messages) - 1}.content" if exc.field == "question" else "messages"
        raise InputError(exc.problem, field) from None


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


async def _pump(it: Iterator[str | Answer]) -> AsyncGenerator[str | Answer, None]:
    """Run the answer generator to completion in a worker thread, handing pieces over through a queue.

    Each piece may take a blocking wait (an LLM's next token, the encoder): run on the event loop, one slow
    answer would stall every other request. The worker also finishes an answer whose reader has left.
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


async def stream_completion(bot: Assistant, question: str, history: History) -> StreamingResponse:
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


def completion(answer: Answer) -> dict[str, Any]:
    """A whole (non-streamed) chat completion."""
    message = {"role": "assistant", "content": answer.answer + sources_markdown(answer)}
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "model": MODEL_ID,
            "created": int(time.time()), "ray_advisor": ray_advisor_extra(answer),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ray-advisor"}]}
