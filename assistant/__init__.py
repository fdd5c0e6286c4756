"""Ray Advisor: choose between Luma's Ray 3 and Ray 3.2, grounded in Luma's own documents.

Public names are imported lazily so `import assistant` stays fast for commands that need little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import assistant.offline  # noqa: F401

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.schema import Answer, Citation, Recommendation
    from assistant.settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "Recommendation", "Settings"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant.core import Assistant

        return Assistant
    if name in ("Answer", "Citation", "Recommendation"):
        from assistant import schema

        return getattr(schema, name)
    if name == "Settings":
        from assistant.settings import Settings

        return Settings
    raise AttributeError(name)
