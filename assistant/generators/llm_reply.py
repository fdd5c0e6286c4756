"""The LLM's structured reply (answer, label, abstained, quotes): parsed whole, or its "answer" decoded as it
streams. Anything that cannot be read becomes a GeneratorError, which the pipeline turns into the extractive
fallback.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.errors import GeneratorError
from assistant.schema import RECOMMENDATIONS, Recommendation


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


# Streaming: decode the "answer" string value out of a JSON object that is still arriving.

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
