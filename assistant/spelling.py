"""Typing slips mended before retrieval and the decider read a message ("footge" -> "footage").

A word is left alone when it is a known word: a whole word in the encoder's WordPiece vocabulary (about
22,000 English words) or a word of the domain vocabulary. The domain vocabulary is learned at ingest
from the decider's training data and the corpus: every word of the documents, and the words the
training data writes at least twice that the tokenizer knows (or contractions), with their counts. Any
other word of four letters or more is replaced by the domain word one edit away (a deletion, insertion,
substitution or swap of neighbours), the most frequent one when there are several, and a written
contraction first when the slip was a dropped apostrophe ("dont" -> "don't"); with none, it is left as
it is. A capitalised word inside a sentence is a name and is never mended. So a brand, a name or a word
in another language passes through, and nothing is ever mended into a word users of this domain do not
use.

Training mends its examples the same way, so the decider learns from what answering will show it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

VOCABULARY = "vocabulary.json"  # beside the trained decider: {"domain": {word: count}, "known": [word, ...]}
MIN_COUNT = 2  # a word written once may be a writer's own slip
MIN_LENGTH = 4  # shorter words have too many neighbours one edit away ("hav": have, had, has, hat...)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def words_of(texts: Iterable[str]) -> Counter[str]:
    return Counter(w.lower() for text in texts for w in _WORD.findall(text))


def domain_vocabulary(texts: Iterable[str], documents: Iterable[str], known: Collection[str]) -> dict[str, int]:
    """The words the domain's messages and documents use, with counts, that are not themselves slips."""
    counts, document_words = words_of(texts), words_of(documents)
    counts.update(document_words)
    # Contractions ("don't", "we're") count as written: the tokenizer splits them, and typing slips rarely
    # add an apostrophe.
    return {w: n for w, n in sorted(counts.items())
            if w in document_words or (n >= MIN_COUNT and (w in known or "'" in w))}


def whole_words(vocab: Iterable[str]) -> frozenset[str]:
    """The whole, alphabetic words of a WordPiece vocabulary (not "##ing" pieces, not [CLS])."""
    return frozenset(t for t in vocab if t.isalpha() and t.islower())


def _one_edit(word: str) -> set[str]:
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in cuts if b}
            | {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
            | {a + c + b[1:] for a, b in cuts if b for c in _LETTERS}
            | {a + c + b for a, b in cuts for c in _LETTERS})


def _apostrophe_in(word: str) -> list[str]:
    return [word[:i] + "'" + word[i:] for i in range(1, len(word))]


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip(" \t\"'(*_-")
    return not before or before[-1] in ".!?:;\n"


class Speller:
    def __init__(self, domain: Mapping[str, int], known: Collection[str]) -> None:
        self.domain, self.known = domain, known

    def _mend_word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        # Acronyms and names with inner capitals, contractions and known words pass through; so does a
        # capitalised word inside a sentence, a name ("is Sora better?" must not become "Soda").
        if (len(word) < MIN_LENGTH or "'" in word or not (word[1:].islower() or word.isupper())
                or lower in self.known or lower in self.domain
                or (word[0].isupper() and not word.isupper() and not _starts_sentence(match.string, match.start()))):
            return word
        # A dropped apostrophe is the commonest slip of all, and the word it looks like may differ in meaning
        # ("dont" is "don't", never "done"): when one restores a written contraction, that wins.
        near = [w for w in _apostrophe_in(lower) if w in self.domain] or [w for w in _one_edit(lower)
                                                                          if w in self.domain]
        if not near:
            return word
        best = max(near, key=lambda w: (self.domain[w], w))  # ties broken by the word, so it is deterministic
        return best.upper() if word.isupper() else best.capitalize() if word[0].isupper() else best

    def mend(self, text: str) -> str:
        if not self.domain:  # nothing to mend a word into: skip trying every one-edit neighbour of every word
            return text
        return _WORD.sub(self._mend_word, text)

    def with_documents(self, texts: Iterable[str]) -> Speller:
        """This speller, also knowing the words of these documents: the index's, which may be newer than the
        ones it was trained with (their words are its mending targets, so a new document's terms count)."""
        domain = dict(self.domain)
        for word, count in words_of(texts).items():
            domain.setdefault(word, count)
        return Speller(domain, self.known)


def save_speller(speller: Speller, folder: Path) -> None:
    data = {"domain": dict(speller.domain), "known": sorted(speller.known)}
    (folder / VOCABULARY).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")


def load_speller(folder: Path) -> Speller:
    """The speller saved beside a decider. Raises OSError or ValueError for a missing or malformed file."""
    data = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
    domain, known = (data.get("domain"), data.get("known")) if isinstance(data, dict) else (None, None)
    if not (isinstance(domain, dict) and isinstance(known, list)
            and all(isinstance(k, str) and isinstance(v, int) for k, v in domain.items())
            and all(isinstance(w, str) for w in known)):
        raise ValueError(f"{folder / VOCABULARY}: not a speller's vocabulary")
    return Speller(domain, frozenset(known))
