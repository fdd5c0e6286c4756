"""Name the uncovered subject of a question the decider abstained on ("the documents don't say anything
about price or cost"). These tables never decide anything: the learned decider decides whether a
question is covered; this only words the abstention. An answered question names none of them: a subject
the decider judged covered only mentioned the word ("our music video", "the set looks cheap").
"""

from __future__ import annotations

import re

# Subjects the page never covers, by what a user would call them.
UNCOVERED = {
    "price or cost": r"pric\w*|costs?|cheap\w*|expensive|afford\w*|subscriptions?|credits?|free (?:tier|plan|trial)|"
                     r"pay\w*|paid|billing|licen[sc]\w*",
    "release dates or availability": r"releas\w*|launch date|came out|come out|availab\w*|roadmap|beta|waitlist",
    "resolution, frame rate or formats": r"resolution|4k|8k|1080p?|fps|frame ?rates?|aspect ratios?|codecs?|"
                                         r"prores|mp4|mov|file formats?|upscal\w*",
    "clip length or duration limits": r"how long|max(?:imum)? (?:length|duration)|longest|length limit|seconds long",
    "audio": r"audio|sound\w*|music|voice\w*|lip[- ]?sync\w*|dialog(?:ue)?|soundtrack|narration|dub\w*",
    "hardware or installation": r"gpu|vram|hardware|run (?:it )?locally|install\w*|system requirements|download",
    "APIs and integrations": r"api|sdk|integrat\w*|plug-?ins?|premiere|after effects|davinci|resolve|webhooks?",
    "other models or vendors": r"sora|runway|veo|kling|pika|midjourney|stable diffusion|dream machine|photon|"
                               r"ray ?[124]\b|ray ?3\.[013-9]",
    "rendering speed or generation time": r"render(?:ing)? (?:time|speed)|how fast|how quickly|queue|wait time",
    "legal, safety or data policy": r"copyright\w*|commercial (?:use|rights)|rights|watermark\w*|privacy|"
                                    r"training data|trained on|gdpr|terms of service|nsfw|content policy",
    "company facts": r"ceo|founder\w*|funding|headquarter\w*|employees|valuation|investors?",
    "supported languages": r"which languages|what languages|how many languages|languages (?:are )?supported",
    "image or video quality": r"quality|realis\w*|photorealis\w*|artifacts?|glitch\w*|flicker\w*",
}
_TOPIC_RE = {topic: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) for topic, pattern in UNCOVERED.items()}
_ASKING = re.compile(r"\?\s*$|^(?:what|which|how|does|do|is|are|can|could|will|would|when|where|who|why)\b",
                     re.IGNORECASE)


def topics_in(text: str) -> list[str]:
    return [topic for topic, rx in _TOPIC_RE.items() if rx.search(text)]


def asked_topics(text: str) -> list[str]:
    """Uncovered subjects named in the sentences that ask something (not in those that set the scene)."""
    sentences = [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]
    asked = [s for s in sentences if _ASKING.search(s.strip())] or sentences[-1:]
    return topics_in(" ".join(asked))
