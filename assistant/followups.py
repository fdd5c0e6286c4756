"""One-click next turns for an answer that hinges on a fact the user has not given."""

from __future__ import annotations

from assistant.schema import Recommendation

HAVE_FOOTAGE = "We already have footage"
NOTHING_FILMED = "Nothing is filmed yet"
FOLLOW_UPS = (HAVE_FOOTAGE, NOTHING_FILMED)


def follow_ups_for(recommendation: Recommendation, abstained: bool) -> list[str]:
    """A conditional answer turns on whether a source take exists: offer both answers to that."""
    return list(FOLLOW_UPS) if recommendation == "depends" and not abstained else []
