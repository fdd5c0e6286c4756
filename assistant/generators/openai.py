"""The LLM backend: any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) writes the answer.

It goes through LangChain's ChatOpenAI (imported lazily: it is slow to import and only this backend
needs it). Every failure (timeout, refused connection, HTTP error, unparseable reply) becomes a
GeneratorError, which the pipeline turns into the extractive fallback; no other exception escapes.
The LLM decides too: its reply carries a label, abstained and quotes. Quotes are returned as the LLM gave
them; verify drops invented ones and rules whether the label stands (assistant/deciders/llm.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.errors import GeneratorError
from assistant.prompts import build_messages
from assistant.schema import RECOMMENDATIONS, Citation, Decision, Draft, Passage, Recommendation

if TYPE_CHECKING:
    from assistant.settings import Settings

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the OpenAI client refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
REMOVED_QUOTE = "[unverified quote removed]"


# ---------------------------------------------------------------------------------------------
# The structured reply
# ---------------------------------------------------------------------------------------------


class QuoteRef(BaseModel):
    chunk_id: str = ""
    quote: str


class LLMReply(BaseModel):
    label: Recommendation
    abstained: bool = False
    answer: str
    quotes: list[QuoteRef] = Field(default_factory=list)

    @field_validator("label", mode="before")
    @classmethod
    def _normalise_label(cls, value: object) -> object:
        # Small models write "Ray 3.2" or "ray_3" for "ray-3.2"/"ray-3"; map the obvious spellings.
        if isinstance(value, str):
            norm = re.sub(r"[\s_]+", "-", value.strip().strip('"').lower())
            return norm if norm in RECOMMENDATIONS else value
        return value

    @field_validator("quotes", mode="before")
    @classmethod
    def _bare_quotes(cls, value: object) -> object:
        # Tolerate ["a quote", ...] (no ids): the generator then looks the id up by text.
        if isinstance(value, list):
            return [{"quote": v} if isinstance(v, str) else v for v in value]
        return value


_FENCED = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def _first_object(text: str) -> str | None:
    """The first balanced {...} in text (string-aware), or None."""
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
    return None


def parse_reply(text: str) -> LLMReply:
    """Raw JSON, JSON in a ``` fence, or the first {...} in the text; anything else is malformed."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCED.finditer(text)]
    obj = _first_object(text)
    if obj is not None:
        candidates.append(obj)
    last_error = "no JSON object in the reply"
    for candidate in candidates:
        if not candidate:
            continue
        try:
            data = json.loads(candidate, strict=False)  # tolerate raw newlines inside strings
        except json.JSONDecodeError as exc:
            last_error = f"invalid JSON ({exc.msg} at char {exc.pos})"
            continue
        if not isinstance(data, dict):
            last_error = "the JSON is not an object"
            continue
        try:
            return LLMReply.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "reply"
            last_error = f"{where}: {first['msg']}"
    snippet = text.strip().replace("\n", " ")[:120]
    raise GeneratorError(f"malformed reply: {last_error}; got {snippet!r}")


# ---------------------------------------------------------------------------------------------
# Streaming: decode the "answer" string value out of a JSON object that is still arriving
# ---------------------------------------------------------------------------------------------

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class AnswerStreamDecoder:
    """Fed the reply text piece by piece, returns the newly decoded characters of the top-level "answer".

    A small JSON state machine rather than a regex, so an "answer": inside some other string value
    (a quote, say) is never mistaken for the key. Text before the first "{" (a code fence, prose) is skipped.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._in_str = False
        self._esc = False
        self._str_buf: list[str] = []  # the key string being read at depth 1
        self._expect_key = False
        self._last_key: str | None = None
        self._after_colon = False
        self._in_answer = False
        self._raw: list[str] = []  # the answer's raw JSON string text so far
        self._emitted = 0  # decoded characters already returned
        self.done = False

    def feed(self, piece: str) -> str:
        grew = False
        for ch in piece:
            if self.done:
                break
            if self._in_answer:
                self._answer_char(ch)
                grew = True
            else:
                self._structure_char(ch)
        return self._decode(final=self.done) if grew else ""

    def _answer_char(self, ch: str) -> None:
        # Collect the raw (still escaped) string; _decode turns its longest complete prefix into text.
        if self._esc:
            self._esc = False
        elif ch == "\\":
            self._esc = True
        elif ch == '"':
            self._in_answer = False
            self.done = True
            return
        self._raw.append(ch)

    def _decode(self, final: bool) -> str:
        # json.loads does the escapes and surrogate pairs; trailing characters of an escape sequence
        # that is split across pieces are cut off and decoded on a later piece.
        raw = "".join(self._raw)
        for cut in range(0, 13 if not final else 1):
            if cut > len(raw):
                break
            try:
                text: str = json.loads('"' + raw[: len(raw) - cut] + '"', strict=False)
            except json.JSONDecodeError:
                continue
            if not final and text and "\ud800" <= text[-1] <= "\udbff":
                text = text[:-1]  # half a surrogate pair: wait for the other half
            new = text[self._emitted :]
            self._emitted = max(self._emitted, len(text))
            return new
        return ""

    def _structure_char(self, ch: str) -> None:
        if self._in_str:
            if self._esc:
                self._esc = False
                if self._depth == 1 and self._expect_key:
                    self._str_buf.append(_ESCAPES.get(ch, ch))
            elif ch == "\\":
                self._esc = True
            elif ch == '"':
                self._in_str = False
                if self._depth == 1 and self._expect_key:
                    self._last_key = "".join(self._str_buf)
                    self._expect_key = False
            elif self._depth == 1 and self._expect_key:
                self._str_buf.append(ch)
            return
        if ch == '"':
            if self._depth == 1 and self._after_colon and self._last_key == "answer":
                self._in_answer = True
                return
            self._in_str = True
            self._str_buf = []
            self._after_colon = False
        elif ch == "{" or ch == "[":
            self._depth += 1
            if self._depth == 1 and ch == "{":
                self._expect_key = True
            self._after_colon = False
        elif ch == "}" or ch == "]":
            self._depth = max(0, self._depth - 1)
        elif ch == "," and self._depth == 1:
            self._expect_key = True
            self._after_colon = False
        elif ch == ":" and self._depth == 1:
            self._after_colon = True
        elif not ch.isspace():
            self._after_colon = False  # a non-string value (number, true, null...) started


# ---------------------------------------------------------------------------------------------
# Guardrail: quoted sentences in the answer text must come from the passages
# ---------------------------------------------------------------------------------------------

_OPENERS = {'"': '"', "\u201c": "\u201d"}  # straight and curly double quotes
_MIN_CHECKED_WORDS = 3  # shorter quoted bits are terms ("not always", "Ray 3.2"), not claims


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split()).casefold()


@dataclass
class QuoteGuard:
    """Passes answer text through, holding back anything in double quotes until the quote closes.

    A closed quotation of three or more words that is not in the passages is replaced by a marker, so a
    reply that obeys a planted instruction cannot put invented words in the documents' mouth. The same
    filter runs for stream() and generate(), so the streamed pieces always add up to Draft.answer.
    """

    corpus: str  # normalised text of all passages (and hint quotes)
    _held: list[str] = field(default_factory=list)
    _closer: str | None = None
    removed: list[str] = field(default_factory=list)

    def feed(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            if self._closer is None:
                if ch in _OPENERS:
                    self._closer = _OPENERS[ch]
                    self._held = [ch]
                else:
                    out.append(ch)
            else:
                self._held.append(ch)
                if ch == self._closer:
                    out.append(self._release())
        return "".join(out)

    def finish(self) -> str:
        return self._release() if self._closer is not None else ""

    def _release(self) -> str:
        held = "".join(self._held)
        self._held, self._closer = [], None
        inner = held[1:-1] if len(held) > 1 and held[-1] in _OPENERS.values() else held[1:]
        if self.is_supported(inner):
            return held
        self.removed.append(inner)
        return REMOVED_QUOTE

    def is_supported(self, quoted: str) -> bool:
        if len(quoted.split()) < _MIN_CHECKED_WORDS:
            return True
        # Models put the sentence's full stop inside the quotes and join excerpts with an ellipsis.
        parts = [p.strip(" .,;:!?") for p in re.split(r"\.\.\.|\u2026", quoted)]
        return all(_norm(p) in self.corpus for p in parts if p.strip())


def guard_for(passages: Sequence[Passage], decision: Decision) -> QuoteGuard:
    texts = [p.text for p in passages] + [s.quote for s in decision.support]
    return QuoteGuard(corpus="\n".join(_norm(t) for t in texts))


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


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
        if not decoder.done or answer != _guarded(reply.answer, passages, decision):
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


def _guarded(answer: str, passages: Sequence[Passage], decision: Decision) -> str:
    guard = guard_for(passages, decision)
    return guard.feed(answer) + guard.finish()


def _citation(ref: QuoteRef, passages: Sequence[Passage]) -> Citation:
    by_id = {p.chunk_id: p for p in passages}
    passage = by_id.get(ref.chunk_id)
    if passage is None and not ref.chunk_id:
        # A bare quote: attribute it to the passage that contains it, if any.
        wanted = _norm(ref.quote)
        passage = next((p for p in passages if wanted and wanted in _norm(p.text)), None)
    if passage is None:
        # Unknown id: returned as given, the verifier drops it.
        return Citation(source="", section="", quote=ref.quote, chunk_id=ref.chunk_id)
    return Citation(
        source=passage.sources[0] if passage.sources else "",
        section=passage.section,
        quote=ref.quote,
        chunk_id=passage.chunk_id,
    )
