"""Make a thing once, even when several processes ask for it at the same time (ingest run in two terminals, say):
the first makes it, the others wait for it and use it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


def make_once(lock_file: Path, made: Callable[[], bool], make: Callable[[], None]) -> bool:
    """Call `make` unless `made()` says it is done; True if it was made by this call.

    `made` is asked again once the lock is held, since whoever held it before may have made it meanwhile. The lock
    is the operating system's (flock on `lock_file`), so a process killed while making releases it.
    """
    if made():
        return False
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_file):
        if made():
            return False
        make()
        return True
