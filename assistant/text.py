"""Text helpers shared by ingest, retrieval and verification: normalising, splitting, hashing."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# Where a sentence of a user's message ends: any space after ".", "!" or "?". Messages need not capitalise the next
# sentence ("ok. does that change anything?"), which the documents' `split_sentences` asks for.
MESSAGE_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# "Ray 3.2" and "Ray 3" (not followed by ".2") are the two models; both spellings users type are kept.
RAY_32 = re.compile(r"\bray[\s-]*3[.,]2\b|\bray[\s-]*32\b", re.IGNORECASE)
RAY_3 = re.compile(r"\bray[\s-]*3\b(?![.,]\d)", re.IGNORECASE)


def normalise_ws(text: str) -> str:
    """Unicode NFC, one space between words: the form quotes are verified in."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def dedupe_key(text: str) -> str:
    """Lower-case words only: two passages with the same key are the same passage."""
    return " ".join(_TOKEN.findall(normalise_ws(text).lower()))


def content_hash(text: str) -> str:
    return hashlib.sha256(dedupe_key(text).encode("utf-8")).hexdigest()[:16]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(normalise_ws(text)) if s.strip()]


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def stem(word: str) -> str:
    """A small suffix stripper: enough for 'relighting'~'relight', 'localized'~'localize'."""
    for suffix in ("izations", "isations", "ization", "isation", "ations", "ation", "ings", "ing", "ised", "ized",
                   "ises", "izes", "ise", "ize", "edly", "ed", "ies", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def models_named(text: str) -> set[str]:
    named = set()
    if RAY_32.search(text):
        named.add("ray-3.2")
    if RAY_3.search(text):
        named.add("ray-3")
    return named
