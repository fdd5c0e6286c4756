"""A first ingest piped to a log or run in CI trains for minutes with no terminal to draw a bar on: it says how
training goes in plain lines instead (`ui.progress.PlainProgress`)."""

from __future__ import annotations

import io

from rich.console import Console

from ui.progress import PlainProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line]


def test_each_stage_is_reported_at_its_start_each_tenth_and_its_end_with_its_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    progress = PlainProgress(Console(file=out, width=200), prefix="decider: ", intro="training", clock=clock)
    for done in range(0, 1001, 7):  # callbacks far more often than lines are wanted
        clock.now = 100.0 + done * 0.3
        progress("training", done, 1000)
    progress("training", 1000, 1000)
    clock.now = 500.0
    progress("encoding", 0, 64)
    clock.now = 512.0
    progress("encoding", 64, 64)
    lines = _lines(out)
    assert lines[0] == "training"  # said once, before the first stage
    training = [line for line in lines[1:] if "training" in line]
    assert training[0] == "decider: training: 0% (0/1000, 0 s)"
    assert [line.split(": ")[2].split("%")[0] for line in training] == [str(p) for p in range(0, 101, 10)]
    assert training[-1].startswith("decider: training: 100% (1000/1000, ")
    assert lines[-2:] == ["decider: encoding: 0% (0/64, 0 s)", "decider: encoding: 100% (64/64, 12 s)"]


def test_a_stage_of_unknown_or_zero_length_is_reported_once_as_done() -> None:
    out = io.StringIO()
    progress = PlainProgress(Console(file=out, width=200), clock=Clock())
    progress("export", 0, 0)
    progress("export", 0, 0)
    assert _lines(out) == ["export: 100% (0/0, 0 s)"]
