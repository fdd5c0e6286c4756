"""The LLM backend: any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) writes the answer.

It goes through LangChain's ChatOpenAI (imported lazily: it is slow to import and only this backend
needs it). Every failure (timeout, refused connection, HTTP error, unparseable reply) becomes a
GeneratorError, which the pipeline turns into the extractive fallback; no other exception escapes.
The LLM decides too: its reply carries a label, abstained and quotes. Quotes are returned as the LLM gave
them; verify drops invented ones and rules whether the label stands (assistant/deciders/llm.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.errors import GeneratorError
from assistant.generators.llm_reply import AnswerStreamDecoder, LLMReply, QuoteRef, parse_reply
from assistant.generators.quote_guard import QuoteGuard, guard_for, guarded, normalised
from assistant.prompts import build_messages
from assistant.schema import Citation, Decision, Draft, Passage

if TYPE_CHECKING:
    from assistant.settings import Settings

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the OpenAI client refuses to start without one.
PLACEHOLDER_KEY = "not-needed"


def _describe(exc: BaseException, timeout: float, base_url: str) -> str:
    """A short, loggable reason; walks the cause chain because LangChain re-raises some errors."""
    import openai

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, openai.APITimeoutError):
            return f"timeout after {timeout:g}s waiting for {base_url}"
        if isinstance(seen, openai.APIConnectionError):
            return f"cannot connect to {base_url}"
        if isinstance(seen, openai.APIStatusError):
            return f"HTTP {seen.status_code} from {base_url}: {str(seen.message)[:160]}"
        seen = seen.__cause__ or seen.__context__
    # Anything else was raised while reading a 200 response (a non-JSON body, no choices, an error
    # object where a completion should be): the server's reply is unusable.
    return f"malformed reply: {type(exc).__name__}: {str(exc)[:200]}"


def _chunk_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks (some output versions)
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, str | dict)
        )
    return ""


class OpenAIGenerator:
    name = "openai"

    def __init__(self, *, base_url: str, model: str, api_key: str, timeout: float, max_tokens: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._api_key = api_key
        self._llm: Any = None  # built on first use: importing langchain_openai costs about a second

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIGenerator:
        from assistant.settings import SettingsError

        if not settings.llm_model:
            raise SettingsError("RAY_ADVISOR_LLM_MODEL must be set when RAY_ADVISOR_GENERATOR=openai")
        if not settings.llm_base_url and not settings.llm_api_key:
            raise SettingsError(
                "RAY_ADVISOR_LLM_API_KEY is needed for OpenAI itself; for a local server set "
                "RAY_ADVISOR_LLM_BASE_URL (e.g. http://localhost:11434/v1 for Ollama)"
            )
        return cls(
            base_url=settings.llm_base_url or OPENAI_BASE_URL,
            model=settings.llm_model,
            api_key=settings.llm_api_key or PLACEHOLDER_KEY,
            timeout=settings.llm_timeout,
            max_tokens=settings.llm_max_tokens,
        )

    def _client(self) -> Any:
        if self._llm is None:
            from langchain_openai import ChatOpenAI

            # response_format goes through extra_body, not model_kwargs: with it in model_kwargs LangChain
            # switches to the beta parse/stream helpers, which re-emit the whole text as a last stream chunk.
            extra: dict[str, Any] = {"response_format": {"type": "json_object"}}
            if urlparse(self.base_url).hostname != "api.openai.com":
                # ChatOpenAI sends only max_completion_tokens; older Ollama and llama.cpp read max_tokens.
                extra["max_tokens"] = self.max_tokens
            self._llm = ChatOpenAI(
                model=self.model,
                base_url=self.base_url,
                api_key=self._api_key,  # type: ignore[arg-type]
                temperature=0,
                timeout=self.timeout,
                max_retries=0,  # fail fast: the core has a good fallback, retries only add latency
                max_tokens=self.max_tokens,  # type: ignore[call-arg]
                stream_usage=False,  # stream_options is rejected by some older local servers
                extra_body=extra,
            )
        return self._llm

    def _setup(self) -> Any:
        try:
            return self._client()
        except Exception as exc:  # e.g. langchain-openai missing or rejecting a setting
            raise GeneratorError(f"cannot set up the OpenAI client: {type(exc).__name__}: {exc}") from exc

    def generate(self, question: str, passages: list[Passage], decision: Decision) -> Draft:
        messages = build_messages(question, passages, decision)
        llm = self._setup()
        try:
            message = llm.invoke(messages)
            text = _chunk_text(message.content)
        except GeneratorError:
            raise
        except Exception as exc:  # the contract: only GeneratorError leaves a generator
            raise GeneratorError(_describe(exc, self.timeout, self.base_url)) from exc
        reply = parse_reply(text)
        guard = guard_for(passages, decision)
        answer = guard.feed(reply.answer) + guard.finish()
        return self._draft(reply, answer, guard, passages, decision)

    def stream(self, question: str, passages: list[Passage], decision: Decision) -> Iterator[str | Draft]:
        messages = build_messages(question, passages, decision)
        decoder = AnswerStreamDecoder()
        guard = guard_for(passages, decision)
        pieces: list[str] = []
        streamed: list[str] = []
        llm = self._setup()
        try:
            for chunk in llm.stream(messages):
                piece = _chunk_text(chunk.content)
                if not piece:
                    continue
                pieces.append(piece)
                visible = guard.feed(decoder.feed(piece))
                if visible:
                    streamed.append(visible)
                    yield visible
        except GeneratorError:
            raise
        except Exception as exc:  # the contract: only GeneratorError leaves a generator
            raise GeneratorError(_describe(exc, self.timeout, self.base_url)) from exc
        tail = guard.finish()
        if tail:
            streamed.append(tail)
            yield tail
        reply = parse_reply("".join(pieces))
        answer = "".join(streamed)
        if not decoder.done or answer != guarded(reply.answer, passages, decision):
            # The streamed text and the parsed reply disagree (e.g. a server that sent "answer" twice):
            # trust the parse, and tell the caller so it can replace what it showed.
            raise GeneratorError("malformed reply: the streamed answer does not match the parsed reply")
        yield self._draft(reply, answer, guard, passages, decision)

    def _draft(
        self, reply: LLMReply, answer: str, guard: QuoteGuard, passages: Sequence[Passage], decision: Decision
    ) -> Draft:
        if guard.removed:
            log.warning("openai reply quoted text not in the passages; removed: %r", guard.removed)
        if reply.label != decision.label:
            # Not an error: the LLM decides when configured. Its label stands only if verify finds its quotes
            # verbatim and carrying that label's stance (assistant/deciders/llm.py); the trace records it.
            log.info("openai label %r differs from the offline decider's %r", reply.label, decision.label)
        abstained = reply.abstained
        return Draft(
            answer=answer,
            recommendation="none" if abstained else reply.label,
            abstained=abstained,
            citations=[_citation(q, passages) for q in reply.quotes if q.quote.strip()],
            generator=self.name,
        )


def _citation(ref: QuoteRef, passages: Sequence[Passage]) -> Citation:
    by_id = {p.chunk_id: p for p in passages}
    passage = by_id.get(ref.chunk_id)
    if passage is None and not ref.chunk_id:
        # A bare quote: attribute it to the passage that contains it, if any.
        wanted = normalised(ref.quote)
        passage = next((p for p in passages if wanted and wanted in normalised(p.text)), None)
    if passage is None:
        # Unknown id: returned as given, the verifier drops it.
        return Citation(source="", section="", quote=ref.quote, chunk_id=ref.chunk_id)
    return Citation(
        source=passage.sources[0] if passage.sources else "",
        section=passage.section,
        quote=ref.quote,
        chunk_id=passage.chunk_id,
    )
