"""The one Assistant a server answers with, and how it moves to a new index version without a restart."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.api")


class AdvisorHolder:
    """The one Assistant the server answers with, built on first use and swapped when the index changes.

    A failure to build (no index yet) is retried on the next request. `refresh()` notices a new active
    index (another process ran `ray-advisor ingest`), builds a complete new Assistant aside while the
    old one keeps answering, then replaces one reference. A request takes the reference once, at its
    start, so it is answered wholly by the old assistant or wholly by the new one, never by half of each.
    """

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings, self._bot, self._lock = settings, assistant, threading.Lock()
        self.loaded_at = _now() if assistant is not None else ""
        self.last_switch: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def ready(self) -> Assistant | None:
        return self._bot

    def get(self) -> Assistant:
        if self._bot is None:
            with self._lock:
                if self._bot is None:
                    from assistant.core import Assistant

                    self._bot = Assistant.from_settings(self.settings)
                    self.loaded_at = _now()
        return self._bot

    @property
    def current(self) -> Assistant | None:
        return self._bot

    def refresh(self) -> bool:
        """Swap in an assistant on the active index if the pointer has moved; True when it swapped."""
        bot = self._bot
        if bot is None or bot.store is None:
            return False  # nothing loaded yet: the next request builds from whatever is active then
        version = bot.store.version()
        if version is None or version.name == bot.index.name:
            return False
        with self._lock:  # one build at a time; requests never take this lock once a bot exists
            if self._bot is not bot:
                return False
            started = time.perf_counter()
            fresh = bot.for_version(version)  # built aside: the old one answers meanwhile
            self._bot = fresh  # the switch itself: one reference assignment
            took_ms = round((time.perf_counter() - started) * 1000, 1)
            self.loaded_at = _now()
            self.last_switch = {"from": bot.index.name, "to": version.name, "build_ms": took_ms,
                                "at": self.loaded_at}
        log.info("index switched from %s to %s (new assistant built in %.0f ms)", bot.index.name, version.name,
                 took_ms)
        return True

    def watch(self, every_s: float) -> None:
        """Poll the pointer every `every_s` seconds on a daemon thread until `stop()`."""
        if every_s <= 0 or self._watcher is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.refresh()
                except Exception:  # a half-written store, a vanished collection: keep answering, try again
                    log.warning("could not switch to the new index; still answering from the old one",
                                exc_info=True)

        self._watcher = threading.Thread(target=loop, name="ray-advisor-index-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
            self._watcher = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
