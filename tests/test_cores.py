"""`assistant.cores`: a run alone in its process may use the process's share of the cores, one beside another not."""

from __future__ import annotations

import os
import threading

import pytest

from assistant import cores
from assistant.cores import WIDEST, WORKERS_ENV, Runs, run_threads, share


def test_a_run_started_while_another_runs_is_not_alone() -> None:
    runs = Runs()
    started, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with runs.started() as alone:
            seen.append(alone)
            started.set()
            release.wait(timeout=10)

    worker = threading.Thread(target=other)
    worker.start()
    try:
        assert started.wait(timeout=10)
        with runs.started() as alone:
            seen.append(alone)
    finally:
        release.set()
        worker.join(timeout=10)
    with runs.started() as alone:  # the other ended: alone again
        seen.append(alone)
    assert seen == [True, False, True]


def test_a_run_that_fails_is_no_longer_counted() -> None:
    runs = Runs()
    with pytest.raises(RuntimeError), runs.started():
        raise RuntimeError("the session failed")
    with runs.started() as alone:
        assert alone


def test_serving_workers_divide_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = len(os.sched_getaffinity(0))
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert share() == mine
    monkeypatch.setenv(WORKERS_ENV, str(mine))
    assert share() == 1
    monkeypatch.setenv(WORKERS_ENV, str(mine * 4))  # more workers than cores: still one each
    assert share() == 1
    monkeypatch.setenv(WORKERS_ENV, "two")  # not a number: as one worker
    assert share() == mine


def test_a_run_gets_at_most_the_widest_threads_while_answers_get_the_whole_share(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda _: set(range(96)))  # a large host
    assert (share(), run_threads()) == (96, WIDEST)  # 96 answers at once (`ui.api.answer_threads`), 4 threads a run
    monkeypatch.setenv(WORKERS_ENV, "48")
    assert (share(), run_threads()) == (2, 2)
