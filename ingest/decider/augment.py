"""Extra training examples made from the written ones, for what real users do that writers under-sample.

- Slips: copies with typing errors (swapped, dropped, doubled or neighbouring keys), lower case, no
  punctuation. A decider that has only seen careful spelling reads "footge" as an unknown word.
- Verdict lines: a written follow-up whose last reply opened with one model's name is also trained
  after this product's own verdict line for that model, with the same label.
- Conversations: a written question asked after an unrelated exchange keeps its own label (a new
  question stands alone), and a short statement of the situation answers a conditional reply
  ("It depends on ...") with that situation's label. A question labelled `depends` is never the new
  question: "which one should we pick?" is `depends` alone but, after a stated situation, asks about it,
  so pairing it with an unrelated exchange would teach the opposite of a follow-up.

Deterministic for a seed; only the written examples' labels are used, never the eval cases.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from assistant.deciders.inputs import context_of
from assistant.generators.extractive import VERDICT
from ingest.decider.data import Example

_NEIGHBOURS = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wertyuiopo" "sdfghjklk" "xcvbnmn", strict=True))
# What the assistant's own answers open with, so a composed conversation reads like a real one.
VERDICTS = {**VERDICT, "abstain": "The documents don't cover that, so I can't answer it without guessing."}
_REPLY = "assistant: "  # how context_of marks a reply
_NAME = re.compile(r"Ray 3\.2|Ray 3(?![.\d])")  # after inputs.normalise, every spelling reads one of these
_OPENING = re.compile(rf"\W*({_NAME.pattern})\b")


def _slip(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _NEIGHBOURS.get(word[i].lower(), word[i]) + word[i + 1:]


def noisy(text: str, rng: random.Random, rate: float = 0.15) -> str:
    words = [(_slip(w, rng) if len(w) >= 4 and w.isalpha() and rng.random() < rate else w)
             for w in re.split(r"(\W+)", text)]
    out = "".join(words)
    if rng.random() < 0.4:
        out = out.lower()
    if rng.random() < 0.3:
        out = re.sub(r"[.,;:!?'\"]", "", out)
    return out


def with_slips(examples: Sequence[Example], share: float, rng: random.Random) -> list[Example]:
    chosen = rng.sample(list(examples), int(len(examples) * share))
    return [replace(e, text=noisy(e.text, rng), kind="aug-slips") for e in chosen]


def conversations(examples: Sequence[Example], count: int, rng: random.Random) -> list[Example]:
    singles = [e for e in examples if not e.context]
    statements = [e for e in singles if e.target in ("ray-3.2", "ray-3") and len(e.text.split()) <= 14]
    general = [e for e in singles if e.target == "depends"]
    standalone = [e for e in singles if e.target != "depends"]
    out: list[Example] = []
    for n in range(count):
        if n % 2 and statements and general:  # a situation answers "it depends"
            asked, answer = rng.choice(general), rng.choice(statements)
        else:  # a new, self-contained question after an unrelated exchange
            asked, answer = rng.choice(singles), rng.choice(standalone)
        history = [{"role": "user", "content": asked.text},
                   {"role": "assistant", "content": VERDICTS[asked.target]}]
        out.append(replace(answer, context=context_of(history), kind="aug-conversation"))
    return out


def in_product_words(examples: Sequence[Example]) -> list[Example]:
    """Written follow-ups whose last reply opened with one model's name, again after the reply this product
    gives (its verdict line). Without them that line appears only before new, self-contained questions, and
    a re-ask after it ("so which one do I use?") would be read as if asked alone."""
    out = []
    for e in examples:
        earlier, sep, last = e.context.rpartition(_REPLY)
        opening = _OPENING.match(last) if sep else None
        if opening and not any(name != opening.group(1) for name in _NAME.findall(last[opening.end():])):
            verdict = VERDICTS["ray-3.2" if opening.group(1) == "Ray 3.2" else "ray-3"]
            reply = context_of([{"role": "assistant", "content": verdict}])
            out.append(replace(e, context=earlier + reply, kind="aug-verdict-line"))  # earlier ends in " | "
    return out


# Slipped copies of 15% of the examples: on round 5's dev split 0.15 scored 0.950 (0.934 with slips) against
# 0.3's 0.942 (0.924) and none's 0.937 (0.923), since answering mends most slips before the decider reads them.
def augment(examples: Sequence[Example], seed: int, slip_share: float = 0.15,
            conversation_count: int = 300) -> list[Example]:
    rng = random.Random(seed)
    return [*examples, *with_slips(examples, slip_share, rng), *conversations(examples, conversation_count, rng),
            *in_product_words(examples)]
