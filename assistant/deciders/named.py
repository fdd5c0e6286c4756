"""Which models a question names: by name, by a bare version number, or as the two of them together."""

from __future__ import annotations

import re

from assistant.text import RAY_3, RAY_32, models_named

_BOTH = re.compile(r"\b(?:both|the two|each (?:one|model)|differ\w*|compar\w*|versus|vs\.?|side by side)\b",
                   re.IGNORECASE)

_NUMBERS = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")
# The models by age ("the older one" is Ray 3, "the newer model" Ray 3.2) and "the other one", which is the model the
# conversation was about, flipped.
_BY_AGE = {"ray-3": re.compile(r"\b(?:older|previous|earlier)\s+(?:one|model|version|ray)\b", re.IGNORECASE),
           "ray-3.2": re.compile(r"\b(?:newer|latest|later)\s+(?:one|model|version|ray)\b", re.IGNORECASE)}
_OTHER = re.compile(r"\bother\s+(?:one|model|version|ray)\b", re.IGNORECASE)
_MODELS = frozenset({"ray-3", "ray-3.2"})
_PAIRING = frozenset({"vs", "versus", "v", "or", "and"})


def models_asked(question: str) -> set[str]:
    """The models a question names; a bare "3.2" is Ray 3.2 too ("does 3.2 have keyframes?"): no other 3.2
    is asked about here. A bare "3" is Ray 3 only when paired with a "3.2" ("3 vs 3.2", "3.2 or 3", "3/3.2"),
    never otherwise ("3.2 for 3 clips")."""
    named = models_named(question)
    words = _NUMBERS.findall(question.lower())
    versions = [i for i, word in enumerate(words) if word == "3.2"]
    if versions:
        named.add("ray-3.2")
        if any(word == "3" and any(_beside(words, i, v) for v in versions) for i, word in enumerate(words)):
            named.add("ray-3")
    return named


def models_meant(question: str, context: str) -> set[str]:
    """The models a follow-up asks about: by name or by age ("the older one"), else "the other one" (the model its
    last user turn named, or else the last answer recommended, flipped), else that model itself ("what does it keep?"
    after a question on Ray 3.2)."""
    named = _named_outright(question)
    if named:
        return named
    earlier = models_asked(last_user_turn(context)) or last_verdict(context)
    if _OTHER.search(question) and len(earlier) == 1:
        return set(_MODELS - earlier)
    return earlier


def names_a_model(question: str) -> bool:
    """Whether a message names one of the models, by name, by age or as "the other one"."""
    return bool(_named_outright(question)) or bool(_OTHER.search(question))


# What a follow-up that only turns the same question to another model says besides the model ("and the older model?",
# "what about Ray 3?", "ok and for 3.2?"): joiners, and the words a model is called by.
_JOINERS = frozenset({"and", "what", "about", "how", "for", "then", "so", "ok", "okay", "but", "also", "the", "same",
                      "one", "model", "version"})
_BARE_32 = re.compile(r"(?<![\w.])3\.2\b")  # "and for 3.2?": a bare 3.2 is Ray 3.2 (`models_asked`)
_WORD = re.compile(r"[a-z']+|\d+(?:\.\d+)?")


def only_names_a_model(question: str) -> bool:
    """Whether a message says nothing but a model (by name, by age or as "the other one") and joiners."""
    if not names_a_model(question):
        return False
    rest = _OTHER.sub(" ", _BARE_32.sub(" ", RAY_3.sub(" ", RAY_32.sub(" ", question))))
    for said in _BY_AGE.values():
        rest = said.sub(" ", rest)
    return all(word in _JOINERS for word in _WORD.findall(rest.lower()))


def _named_outright(question: str) -> set[str]:
    """The models a message names by name or by age, without the conversation."""
    return models_asked(question) | {model for model, said in _BY_AGE.items() if said.search(question)}


# The documents' parts by the names people give them ("per the FAQ", "the decision guide", "the intro", "the table").
_SECTIONS = {"FAQ": re.compile(r"\bfaqs?\b", re.IGNORECASE),
             "Decision guide": re.compile(r"\bdecision\s+(?:guide|section)\b", re.IGNORECASE),
             "Introduction": re.compile(r"\bintro(?:duction)?\b", re.IGNORECASE),
             "Comparison": re.compile(r"\b(?:table|comparison\s+(?:section|table|chart))\b", re.IGNORECASE)}


# The decision guide by the name people give it, bare or in full ("what signs does the guide give for Ray 3?"): not a
# source for `sections_named` (people call the whole page "the guide"), but its content on one model is a list.
_GUIDE = re.compile(r"\bguide\b", re.IGNORECASE)


def names_the_guide(text: str) -> bool:
    return bool(_GUIDE.search(text))


def sections_named(question: str) -> set[str]:
    """The parts of the documents a question names as its source ("according to the FAQ, ...")."""
    return {section for section, named in _SECTIONS.items() if named.search(question)}


def _beside(words: list[str], i: int, j: int) -> bool:
    """Words i and j are next to each other ("3/3.2") or joined by one word that pairs them ("3 vs 3.2")."""
    low, high = sorted((i, j))
    return high - low == 1 or (high - low == 2 and words[low + 1] in _PAIRING)


def asks_about_both(question: str) -> bool:
    """A factual question that names both models, or the two of them together, is answered from both sides."""
    return len(models_asked(question)) == 2 or bool(_BOTH.search(question))


def _said_by(role: str, context: str) -> list[str]:
    """The turns of one role in a decider context (`inputs.context_of`: "user: ... | assistant: ... | user: ...")."""
    return [part[len(role) + 2:] for part in context.split(" | ") if part.startswith(f"{role}: ")]


def last_user_turn(context: str) -> str:
    users = _said_by("user", context)
    return users[-1] if users else ""


def last_verdict(context: str) -> set[str]:
    """The model the conversation's last answer recommended, when its verdict line names one alone ("Ray 3.2: it
    transforms the clip you have"); empty otherwise (no answer yet, both models, or none)."""
    answers = _said_by("assistant", context)
    named = models_asked(answers[-1]) if answers else set()
    return named if len(named) == 1 else set()
