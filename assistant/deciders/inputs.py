"""What the learned decider reads: the user's message, plus the conversation it continues, cleaned of
typographic noise, model-name spellings and instructions aimed at the assistant.

Shared by training (ingest) and answering (here), so both see exactly the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.text import RAY_3, RAY_32

# The six things a decision can be: the five public labels, with "none" split into answered and abstained.
CLASSES: tuple[str, ...] = ("ray-3.2", "ray-3", "ray-3-then-ray-3.2", "depends", "none", "abstain")
SPLIT_LAYER = 3  # MiniLM's layers below this are shared with retrieval; the decider fine-tunes those above
SPLIT_OUTPUT = "hidden_split"  # the encoder's ONNX output holding those shared states
# The last two exchanges carry the situation; older turns rarely change it. The last exchange alone (2) lost 6 of
# 2,065 dev items (none fixed) and 1 of rounds 10-12's 2,977 (2026-12-06): jobs named two turns back.
CONTEXT_TURNS = 4
_MARKUP = re.compile(r"[*_`#>\[\]“”]+")
# Sentences that try to give the assistant orders: data to us, never instructions, so they are dropped
# before anything (retrieval, the decider, an LLM) reads the message. "Say that/exactly" is an order only as an
# imperative (a sentence's first words, or after "just", "please", "you"...): "Does the FAQ say that Ray 3 is obsolete?"
# and "what does it say exactly?" ask about the documents, and were dropped whole. ("Could you say that again" stays an
# order, as the decider's training data was read: no message in the data or the eval sets is read otherwise.)
# Words that are orders only in some uses are matched only in those: "DAN" in capitals (Dutch "dan", Malay "dan" mean
# then/and), "reveal the system prompt" (not "sand sweeping away to reveal the tomb"), "role-play as" or "ROLEPLAY:"
# (not "the role-play we recorded"), "act as" opening a sentence (not "the clip will act as our intro"), "new
# instructions:" (not "the client sent new instructions for the edit"), "from now on" beside an imperative ("from now
# on, always answer...", "respond only in emojis from now on"; not "which would you recommend from now on?"). Each of
# those deleted a sentence a user meant, and with it the situation: 10 of the written data's 16,098 messages that are no
# injection; "Malaysia dan Thailand" took a whole Malay brief (2026-12-05, seventh session). (A message opening as a
# system's, "SYSTEM:" or "[Admin note:", is not an order by that alone: the whole sentence would go, and with it the
# question an unseen eval case asked inside such a note.)
_ORDER_VERB = r"(?:you|u|always|only|never|answer|respond|reply|say|recommend|ignore|just|act|pretend|speak|talk)"
INJECTION = re.compile(
    r"(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|previous\s+|prior\s+|"
    r"above\s+|earlier\s+|these\s+)*(?:instructions?|rules?|prompts?|guidelines?|directions?|context|documents?"
    r"|constraints?)|you are now|you're now|"
    rf"from now on,?\s+{_ORDER_VERB}\b|(?:^|(?<=[.!?:;,]\s)|\b(?:please|just|only|now)\s+)(?:answer|respond|reply|"
    r"speak|talk|write|recommend|label|output)\b[^.?!]{0,40}\bfrom now on|"
    r"(?:^|(?<=[.!?:;,]\s)|\b(?:now|please|just|you|and)\s+)act as\b|pretend (?:to be|you)|"
    r"role[- ]?play\s*(?:as\b|:)|\blet(?:'s| us)\s+role[- ]?play|"
    r"jailbreak|(?-i:\bDAN\b)|developer mode|system prompt|your (?:instructions|prompt|rules)|"
    r"reveal (?:your|the) (?:system|hidden|secret|internal)|"
    r"print (?:your|the) (?:prompt|instructions|system)|new instructions?\s*:|"
    r"(?:here are|follow) (?:your |my |the )?new instructions?|respond only with|only answer with|"
    r"(?:^|(?<=[.!?:;]\s)|\b(?:just|please|now|only|you)\s+)say (?:that|exactly)|repeat after me|\bsudo\b|admin mode",
    re.IGNORECASE)


# Where an order to the assistant ends and what follows may be the user's own question.
_CLAUSE_BREAK = re.compile(r"\s*(?:[:;,]|\band\b|\bthen\b)\s*", re.IGNORECASE)
_LEADING_JOINERS = re.compile(r"^(?:(?:and|then)\b\s*)+", re.IGNORECASE)
_ASKS = re.compile(r"\b(?:what|which|how|why|when|whether|who)\b|\?\s*$", re.IGNORECASE)


def _question_after_order(rest: str) -> str:
    """The question an injected sentence still carries after its order ("Pretend you're X | and tell me
    which one is weaker"): the clauses from the first that asks something, unless they give orders too."""
    for clause in _CLAUSE_BREAK.finditer(rest):
        tail = _LEADING_JOINERS.sub("", rest[clause.end():].strip())
        if tail and _ASKS.search(tail) and not INJECTION.search(tail):
            return tail
    return ""


_ORDER_LEAD_WORDS = 2  # at most this many words before an order, in its sentence, are its own ("just", "ok", "Also,")


def strip_injections(text: str) -> tuple[str, bool]:
    """Drop the sentences that try to give instructions (they are data to us, never orders), keeping any
    question they also ask."""
    parts = [p for p in re.split(r"(?<=[.!?\n])\s+|\s+(?=(?:ignore|disregard|forget|you are now)\b)",
                                 text, flags=re.IGNORECASE) if p]
    orders = [INJECTION.search(p) for p in parts]
    kept = [p if order is None else _question_after_order(p[order.end():])
            for p, order in zip(parts, orders, strict=True)]
    # A word or two cut off the front of an order's sentence goes with it ("just | ignore all of that and print...",
    # "ok | forget that, pretend..."): read alone, "just" was a question the decider answered with `depends`.
    for i in range(len(parts) - 1):
        if orders[i] is None and orders[i + 1] is not None and len(parts[i].split()) <= _ORDER_LEAD_WORDS \
                and not parts[i].rstrip().endswith((".", "!", "?")):
            kept[i] = ""
    return " ".join(k for k in kept if k).strip(), any(orders)


def normalise(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s+", " ", text).strip()
    return RAY_3.sub("Ray 3", RAY_32.sub("Ray 3.2", text))


def turn_text(turn: Any) -> tuple[str, str]:
    """(role, content) of a history turn, a dict or a model with those fields."""
    if isinstance(turn, dict):
        return str(turn.get("role", "")), str(turn.get("content", ""))
    return str(getattr(turn, "role", "")), str(getattr(turn, "content", ""))


def context_of(history: Sequence[Any]) -> str:
    """Earlier turns, oldest first: user turns whole, assistant turns by their verdict line only."""
    parts = []
    for turn in list(history)[-CONTEXT_TURNS:]:
        role, content = turn_text(turn)
        if role == "assistant":
            first = next((line for line in content.splitlines() if line.strip()), "")
            parts.append("assistant: " + _MARKUP.sub("", first)[:160])
        elif role == "user":
            cleaned, _ = strip_injections(content)
            if cleaned:
                parts.append("user: " + cleaned)
    return normalise(" | ".join(parts))


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def last_reply_asks(history: Sequence[Any]) -> bool:
    """Whether the assistant's last turn ended by asking the user something (its last words, outside what it quoted,
    end with "?"): the message after it is an answer ("isn't Ray 3.2 better?" after "Is there shot material?"), not
    push-back on a recommendation."""
    for turn in reversed(list(history)):
        role, content = turn_text(turn)
        if role == "assistant":
            return _QUOTED.sub("", content).rstrip().endswith("?")
        if role == "user":
            return False
    return False


def decider_input(question: str, history: Sequence[Any]) -> tuple[str, str]:
    """(message, context): the tokenizer encodes them as a pair, the message first."""
    return normalise(question), context_of(history)
