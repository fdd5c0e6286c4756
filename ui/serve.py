"""`serve()`: what `ray-advisor serve` runs.

One worker (the default): the API and the Gradio page in one uvicorn process. `--workers N`: N worker
processes on the port, each with its own listening socket (`ui.workers`) and its app built by
`worker_app()` (an app factory), so both cores answer at once. Every worker loads the index and the
ONNX encoder once, before it accepts a connection. The chat page is served by one process only: Gradio
keeps each browser session's queue in the memory of the process that started it, and with several
workers the page's follow-up requests would land on processes that do not know the session. Run the
page on its own (`ray-advisor serve`, one worker, another port) beside a `--workers N` API.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.serve")
_PAGE_ENV = "RAY_ADVISOR_SERVE_PAGE"  # read by worker processes: mount the page ("1") or not ("0")

# What a page load fetches besides the page itself: scripts, styles, fonts, icons, Gradio's config and
# heartbeats. About 50 lines per visit in uvicorn's access log; kept out so the log shows what people ask.
_ASSET_PREFIXES = ("/assets/", "/static/", "/docs-assets/", "/gradio_api/file=", "/file=", "/favicon",
                   "/theme.css", "/manifest.json", "/gradio_api/heartbeat/", "/gradio_api/info", "/config",
                   "/gradio_api/upload_progress", "/custom_component/", "/svelte/", "/gradio_api/queue/data")
_ASSET_SUFFIXES = (".js", ".mjs", ".css", ".map", ".woff", ".woff2", ".ttf", ".otf", ".png", ".svg", ".ico",
                   ".jpg", ".jpeg", ".webp", ".gif")


def is_asset(path: str) -> bool:
    path = path.split("?", 1)[0]
    return path.startswith(_ASSET_PREFIXES) or path.lower().endswith(_ASSET_SUFFIXES)


class QuietAssets(logging.Filter):
    """Drops uvicorn access-log lines for page assets (set RAY_ADVISOR_LOG_ASSETS=true to keep them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path, http version, status)
        return not (isinstance(args, tuple) and len(args) >= 3 and is_asset(str(args[2])))


def build_app(
    settings: Settings | None = None, assistant: Assistant | None = None, page: bool = True
) -> FastAPI:
    """The API from `create_app`, plus the chat page at "/".

    `ui` is imported here, lazily, like the CLI's commands do: the `assistant` package never depends on
    `ui` at import time, and Gradio (~4 s to import) is only paid for when a page is served.
    """
    from ui.api import create_app

    app = create_app(settings, assistant)
    if page:
        from ui.page import mount_page

        mount_page(app)
    return app


def _warm(app: FastAPI) -> None:
    from assistant.errors import IndexMissingError

    try:
        # Load the index and the encoder before listening, so no visitor waits for them.
        app.state.holder.get()
    except IndexMissingError as exc:
        log.warning("serving without an index (answers are 503 until it exists): %s", exc)


def worker_app() -> FastAPI:
    """The app factory each worker process calls (`uvicorn ui.serve:worker_app --factory`)."""
    from assistant.settings import load_settings

    settings = load_settings()
    _quiet_logs(settings)
    app = build_app(settings, page=os.environ.get(_PAGE_ENV, "0") == "1")
    _warm(app)
    return app


def _export_settings(settings: Settings) -> None:
    """Hand the parent's settings to the worker processes, which read theirs from the environment."""
    from assistant.settings import ENV_PREFIX

    for name, value in settings.model_dump(mode="json").items():
        key = ENV_PREFIX + name.upper()
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value if isinstance(value, str) else json.dumps(value)


def serve(host: str = "127.0.0.1", port: int = 7860, settings: Settings | None = None, workers: int = 1,
          page: bool | None = None) -> None:
    """Serve until interrupted. `page` defaults to True for one worker and False for several."""
    import uvicorn

    from assistant.settings import load_settings
    from ui.ports import check_port

    settings = settings or load_settings()  # a wrong RAY_ADVISOR_* value stops here, naming the variable
    check_port(host, port)  # before the model and Gradio load (the CLI checks even earlier)
    _quiet_logs(settings)
    page = (workers == 1) if page is None else page
    if workers <= 1:
        app = build_app(settings, page=page)
        _warm(app)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    if page:
        raise ValueError("the chat page needs a single process (Gradio keeps sessions in memory): "
                         "serve it with --workers 1, beside the --workers N API")
    _export_settings(settings)
    os.environ[_PAGE_ENV] = "0"
    log.warning("%d workers: the HTTP API only; the chat page is served by `ray-advisor serve` (one worker)",
                workers)
    from ui.workers import run_workers

    run_workers(host, port, workers)


def _quiet_logs(settings: Settings) -> None:
    if not settings.log_assets:
        logging.getLogger("uvicorn.access").addFilter(QuietAssets())
    ours = logging.getLogger("ray_advisor")  # our own notes (an index switch) beside uvicorn's lines
    if not ours.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
