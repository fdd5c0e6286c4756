"""Two ingests at once (in two terminals, say) make a decider or an encoder export once: one makes it, the other
waits for it and uses it."""

from __future__ import annotations

import threading
from pathlib import Path

from ingest.once import make_once


def test_of_two_callers_at_once_one_makes_the_thing_and_the_other_uses_it(tmp_path: Path) -> None:
    thing = tmp_path / "thing"
    looked = {"a": threading.Event(), "b": threading.Event()}
    makers: list[str] = []
    results: dict[str, bool] = {}

    def made() -> bool:
        looked.setdefault(threading.current_thread().name, threading.Event()).set()
        return thing.exists()

    def make() -> None:
        me = threading.current_thread().name
        makers.append(me)
        # Finish only once the other caller has looked and found nothing: without the lock it would make it too.
        assert looked["b" if me == "a" else "a"].wait(timeout=60)
        thing.write_text(me)

    def ask() -> None:
        results[threading.current_thread().name] = make_once(tmp_path / "models" / ".thing.lock", made, make)

    callers = [threading.Thread(target=ask, name=name) for name in ("a", "b")]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=120)
    assert len(makers) == 1 and thing.read_text() == makers[0]
    assert results == {name: name == makers[0] for name in ("a", "b")}
    assert make_once(tmp_path / "models" / ".thing.lock", made, make) is False and len(makers) == 1
