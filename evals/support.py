"""Answer support: how much of an answer's prose is backed by the quotes it cites (deterministic).

An answer is split into sentences and bullet items. Headings and "meta" lines (the verdict such as
"Use **Ray 3.2**.", or a source attribution) carry no claim of their own, so they are skipped. A claim
is supported when it contains a cited quote, sits inside one, or shares enough content tokens with one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SUPPORT_OVERLAP = 0.6

_STOPWORD_TEXT = """
a an the and or but if then than so of to in on at for from by with as is are was were be been being
it its this that these those you your yours we our i me my they their them he she his her do does
did can could should would will may might must not no yes when while where which what who how why
there here about into over under up out just also only very more most much any some such one other
have has had already still yet
"""
# Words that only name a model, state a verdict or point at a source; a line made of nothing else is meta.
_META_TEXT = """
ray 3 3.2 ray-3 ray-3.2 use using start choose pick go recommend recommended recommendation answer
verdict model models both sequence depends it short version source sources section sections quote
quotes cited see according documents document page faq comparison introduction decision guide
txt md html vs
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_META_WORDS = frozenset(_META_TEXT.split())
# "The documents don't say anything about audio." states an absence: no quote can back it, none should.
_ABSENCE_NOTE = re.compile(
    r"\b(?:documents?|sources?|page|faq)\b.*\b(?:do not|don't|does not|doesn't|never)\s+"
    r"(?:say|said|mention|cover|state|specify|list)",
    re.IGNORECASE,
)
_FILE_NAME = re.compile(r"\S+\.(?:txt|md|html)\b")
_MARKUP = re.compile(r"[*_`#>|\[\]]|\(\s*\)")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(*_A-Z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


def normalise_ws(text: str) -> str:
    return " ".join(text.split())


def _plain(text: str) -> str:
    """Markdown emphasis, quotes-as-blockquote and table pipes removed, whitespace collapsed."""
    return normalise_ws(_MARKUP.sub(" ", text))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_FILE_NAME.sub(" ", text.lower()))


def content_tokens(text: str) -> set[str]:
    return {tok for tok in tokens(text) if tok not in _STOPWORDS}


def split_claims(answer: str) -> list[str]:
    """Sentences and bullet items of a markdown answer that make a claim (no headings, lead-ins, meta)."""
    claims: list[str] = []
    for raw_line in answer.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or set(line) <= set("-|: *_="):
            continue
        line = _BULLET.sub("", line)
        if _plain(line).endswith(":"):
            continue  # a lead-in such as "Why, in the documents' words:" introduces claims, makes none
        for piece in _sentences(line):
            sentence = _plain(piece).strip(" :;,-—–\"'“”")
            if sentence and not is_meta(sentence) and not _ABSENCE_NOTE.search(sentence):
                claims.append(sentence)
    return claims


def _sentences(line: str) -> list[str]:
    """The line's sentences; a quotation that runs over a sentence end stays in one piece, so the half after it (with
    the quote's attribution) is not judged on its own as if it were the answer's claim."""
    cut, start = [], 0
    for end in _SENTENCE_END.finditer(line):  # each piece keeps the closing quote mark its full stop carries
        cut.append(line[start:end.start()] + end.group().strip())
        start = end.end()
    pieces: list[str] = []
    for piece in [*cut, line[start:]]:
        if pieces and _quote_open(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def _quote_open(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def is_meta(sentence: str) -> bool:
    words = set(tokens(sentence))
    return not words or words <= _META_WORDS | _STOPWORDS


def is_supported(sentence: str, quotes: Iterable[str]) -> bool:
    plain = _plain(sentence)
    own = content_tokens(plain)
    for quote in quotes:
        q = _plain(quote)
        if not q:
            continue
        if q in plain or (len(plain) >= 12 and plain in q):
            return True
        if own and len(own & content_tokens(q)) / len(own) >= SUPPORT_OVERLAP:
            return True
    return False


def support_counts(answer: str, quotes: list[str]) -> tuple[int, int]:
    """(supported claims, claims) for one answer."""
    claims = split_claims(answer)
    return sum(1 for c in claims if is_supported(c, quotes)), len(claims)
