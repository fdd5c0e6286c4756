"""PNG charts for the report. Matplotlib is imported lazily (it is slow to import and only reports need it)
and drawn on a bare Figure with the Agg canvas, so no GUI backend or pyplot global state is involved."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def confusion_png(confusion: Mapping[str, Mapping[str, int]], path: Path) -> Path:
    rows = list(confusion)
    cols = list(next(iter(confusion.values()), {})) if confusion else []
    grid = [[confusion[r].get(c, 0) for c in cols] for r in rows]
    fig = _figure(7.5, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(grid or [[0]], cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), labels=cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    ax.set_title("Recommendation confusion matrix")
    peak = max((v for row in grid for v in row), default=0)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            colour = "white" if peak and value > peak / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=colour)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def categories_png(by_category: Mapping[str, float], path: Path, target: float) -> Path:
    """Bars at or above `target` (the accuracy gate) are green, the rest red."""
    names = list(by_category)
    values = [by_category[n] for n in names]
    fig = _figure(7.5, max(2.5, 0.4 * len(names) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(names, values, color=["#2e7d32" if v >= target else "#c62828" for v in values])
    ax.set_xlim(0, 1)
    ax.invert_yaxis()  # first category on top, as in the tables
    ax.set_xlabel("accuracy")
    ax.set_title("Recommendation accuracy by category")
    for y, value in enumerate(values):
        ax.text(min(value + 0.01, 0.9), y, f"{value:.0%}", va="center")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
