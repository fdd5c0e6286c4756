"""The one check of what a user sends: a question and the turns before it.

`Assistant.ask` and `Assistant.ask_stream` call it, so the CLI, the page and the API share it; the API
also calls it before it loads an index, so bad input is a 422 naming the field even when there is no
index yet (which would be a 503).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.errors import InputError
from assistant.schema import Turn

if TYPE_CHECKING:
    from assistant.settings import Settings

History = list[dict[str, str]]


def validate(settings: Settings, question: Any, history: Sequence[Any] | None = None) -> tuple[str, History]:
    """(the question stripped, the history as plain role/content dicts), or InputError naming the field."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("must not be empty or only whitespace", "question")
    if len(question) > settings.max_question_chars:
        raise InputError(f"is {len(question)} characters; at most {settings.max_question_chars} are allowed "
                         "(RAY_ADVISOR_MAX_QUESTION_CHARS)", "question")
    turns = list(history or [])
    if len(turns) > settings.max_history_turns:
        raise InputError(f"has {len(turns)} earlier turns; at most {settings.max_history_turns} are allowed "
                         "(RAY_ADVISOR_MAX_HISTORY_TURNS)", "history")
    clean: History = []
    for i, turn in enumerate(turns):
        try:
            t = turn if isinstance(turn, Turn) else Turn.model_validate(turn)
        except Exception:
            raise InputError("needs role 'user' or 'assistant' and text content", f"history.{i}") from None
        if len(t.content) > settings.max_question_chars * 4:
            raise InputError(f"is {len(t.content)} characters; at most {settings.max_question_chars * 4} are "
                             "allowed", f"history.{i}.content")
        clean.append({"role": t.role, "content": t.content})
    return question.strip(), clean
