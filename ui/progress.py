"""Progress as plain lines, for a console that is not a terminal: a log file, CI, `make run > log`.

Rich draws no bar there, so a first ingest (training the decider: minutes) would be silent until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

STEP_PERCENT = 10  # a line at each tenth of a stage: ten lines per stage, whatever its length


class PlainProgress:
    """`(stage, done, total)` callbacks as lines: `intro` once, then a line when a stage starts, at each
    `STEP_PERCENT` of it and when it ends, each with the seconds since that stage started."""

    def __init__(self, console: Console, prefix: str = "", intro: str = "",
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.console, self.prefix, self.intro, self.clock = console, prefix, intro, clock
        self._started: dict[str, float] = {}
        self._said: dict[str, int] = {}  # the last percentage step printed for each stage

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if self.intro and not self._started:  # the first callback: say once what is happening
            self.console.print(self.intro, highlight=False, soft_wrap=True)
        if stage not in self._started:
            self._started[stage], self._said[stage] = now, -1
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        step = percent // STEP_PERCENT * STEP_PERCENT
        if step <= self._said[stage]:
            return
        self._said[stage] = step
        seconds = now - self._started[stage]
        self.console.print(f"{self.prefix}{stage}: {step}% ({done}/{total}, {seconds:.0f} s)", highlight=False,
                           soft_wrap=True)
