"""`serve()`: the API and the Gradio page in one uvicorn process (what `ray-advisor serve` runs)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.serve")


def build_app(
    settings: Settings | None = None, assistant: Assistant | None = None, page: bool = True
) -> FastAPI:
    """The API from `create_app`, plus the chat page at "/".

    `ui` is imported here, lazily, like the CLI's commands do: the `assistant` package never depends on
    `ui` at import time, and Gradio (~4 s to import) is only paid for when a page is served.
    """
    from assistant.api import create_app

    app = create_app(settings, assistant)
    if page:
        from ui.page import mount_page

        mount_page(app)
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, settings: Settings | None = None) -> None:
    import uvicorn

    from assistant.errors import IndexMissingError
    from assistant.settings import load_settings

    settings = settings or load_settings()  # a wrong RAY_ADVISOR_* value stops here, naming the variable
    app = build_app(settings)
    try:
        # Warm up before listening so the first visitor does not wait for the embedding model.
        app.state.holder.get()
    except IndexMissingError as exc:
        log.warning("serving without an index (answers are 503 until it exists): %s", exc)
    uvicorn.run(app, host=host, port=port, log_level="info")
