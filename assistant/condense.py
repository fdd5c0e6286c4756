"""Condense: resolve a follow-up against the history into a standalone question, and drop injections.

The standalone question is what retrieval searches for and what the answer reports; it reads as one
question ("Which model fits if we want to change the background and we have nothing filmed?"), never as
two turns glued together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.deciders.inputs import normalise as normalise_question
from assistant.deciders.inputs import strip_injections
from assistant.followups import FOLLOW_UPS
from assistant.text import MESSAGE_SENTENCE_END

_FOLLOW_UP = re.compile(
    r"^(?:and|but|so|then|ok|okay|what about|how about|what if|and if|also|instead|same|why|really|"
    r"which one|that|this|it)\b|\b(?:it|its|it's|that|this|them|they|those|these|one|then|instead|"
    r"the same|as well|too)\b", re.IGNORECASE)
MAX_FOLLOW_UP_WORDS = 16
_KNOWN_REPLIES = frozenset(f.lower() for f in FOLLOW_UPS)  # the page's one-click follow-ups answer the last turn

_CONNECTOR = re.compile(r"^(?:(?:and|but|so|ok|okay|also|well|then|hmm|right)\b[\s,]*)+", re.IGNORECASE)
_CONDITION = re.compile(r"^(?:what if|and if|what happens if|suppose|supposing|in case|if)\s+", re.IGNORECASE)
_QUESTION_START = re.compile(r"^(?:what|which|how|why|when|where|who|is|are|does|do|did|can|could|should|would|"
                             r"will|was|were|has|have)\b", re.IGNORECASE)
_ABOUT = re.compile(r"^(?:what|how) about\s+", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:no|not|nothing|without|haven't|hasn't|don't|doesn't|didn't|yet to)\b", re.IGNORECASE)
_FOOTAGE = re.compile(r"\b(?:footage|filmed|shot|recorded|clips?|takes?|source)\b", re.IGNORECASE)
_KEEP_CAPITAL = re.compile(r"^(?:I\b|I'|Ray\b|Luma\b)")


@dataclass
class Condensed:
    question: str  # the user's question, injections removed, typos and model names normalised
    standalone: str  # what retrieval searches for
    context: str  # earlier user turns this question follows up on ("" when it stands alone)
    injected: bool


def _lower_first(text: str) -> str:
    return text if not text or _KEEP_CAPITAL.match(text) else text[0].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _split(text: str) -> tuple[list[str], list[str]]:
    """(statements, questions) of a turn, each without its end punctuation."""
    statements: list[str] = []
    questions: list[str] = []
    for part in MESSAGE_SENTENCE_END.split(text):
        sentence = part.strip()
        bare = sentence.rstrip(".!? ").strip()
        if not bare:
            continue
        (questions if sentence.endswith("?") else statements).append(bare)
    return statements, questions


def _footage_side(text: str) -> bool | None:
    """True: says a source take exists; False: says none does; None: does not say."""
    if not _FOOTAGE.search(text):
        return None
    return not _NEGATED.search(text)


def rewrite(previous: str, follow_up: str) -> str:
    """One question from the previous (standalone) question and a follow-up to it."""
    statements, questions = _split(previous)
    ask = questions[-1] if questions else "Which model fits"
    situation = " and ".join(_lower_first(s) for s in statements)
    text = _CONNECTOR.sub("", follow_up.strip()).strip()
    condition, about = _CONDITION.match(text), _ABOUT.match(text)
    is_question = text.endswith("?") or bool(_QUESTION_START.match(text))
    if about:  # "what about relighting it?"
        topic = text[about.end():].rstrip(".!? ")
        return f"{ask} if {situation}, and what about {topic}?" if situation else f"{ask}, and what about {topic}?"
    if condition or not is_question:  # "and if we have nothing filmed?", "We already have footage"
        clause = _lower_first(text[condition.end():] if condition else text).rstrip(".!? ")
        if not situation:
            return f"{ask} if {clause}?"
        before, now = _footage_side(situation), _footage_side(clause)
        joint = ", but" if before is not None and now is not None and before != now else " and"
        return f"{ask} if {situation}{joint} {clause}?"
    asked = _lower_first(text.rstrip(".!? "))
    if situation:
        return f"{_upper_first(asked)}, given that {situation}?"
    return f"{ask}: {asked}?"


def condense(question: str, history: list[dict[str, str]]) -> Condensed:
    cleaned, injected = strip_injections(question)
    cleaned = normalise_question(cleaned)
    earlier, last = [], -1
    for i, turn in enumerate(history):
        if turn.get("role") == "user":
            text, _ = strip_injections(str(turn.get("content", "")))
            if text:
                earlier.append(normalise_question(text))
                last = i
    context, standalone = "", cleaned
    short = len(cleaned.split()) <= MAX_FOLLOW_UP_WORDS
    if earlier and cleaned and short and (_FOLLOW_UP.search(cleaned) or cleaned.lower().rstrip(".") in _KNOWN_REPLIES):
        context = " ".join(earlier[-2:])
        # The previous turn may itself have been a follow-up: resolve it first, against what came before it.
        previous = condense(str(history[last].get("content", "")), history[:last]).standalone or earlier[-1]
        standalone = rewrite(previous, cleaned)
    return Condensed(cleaned, standalone, context, injected)
