"""Shared fixtures: every test gets its own temp dirs; one real index of the corpus is built per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import assistant.offline  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
# The comparison table's rows, in the page's order (ingest keeps them; the row examples are labelled with them).
TABLE_ROWS = ["Best starting point", "Core strength", "Control style", "Best output goal", "Continuity",
              "Production use"]


_MODEL_DIR: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def shared_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RAY_ADVISOR_MODEL_DIR for the session: the ONNX export (~20 s) and the decider (10-20 min on 2 cores)
    are made once."""
    if not _MODEL_DIR:  # RAY_ADVISOR_TEST_MODEL_DIR reuses a developer's cache (CI leaves it unset)
        reuse = os.environ.get("RAY_ADVISOR_TEST_MODEL_DIR")
        _MODEL_DIR.append(Path(reuse).resolve() if reuse else tmp_path_factory.mktemp("models"))
    return _MODEL_DIR[0]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_model_dir: Path) -> None:
    """No test reads the developer's .env or RAY_ADVISOR_* variables, or writes outside its temp dirs."""
    for key in list(os.environ):
        if key.startswith("RAY_ADVISOR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAY_ADVISOR_MODEL_DIR", str(shared_model_dir))
    monkeypatch.chdir(tmp_path)


def make_settings(base: Path, **overrides: object) -> Settings:  # noqa: F821
    from assistant.settings import load_settings

    values: dict[str, object] = {
        "corpus_dir": base / "corpus",
        "chroma_path": base / "chroma",
        "feedback_path": base / "feedback.jsonl",
        "model_dir": _MODEL_DIR[0] if _MODEL_DIR else base / "models",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def ingested_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the corpus and a real Chroma index of it (real embedding model), built once."""
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("index")
    shutil.copytree(CORPUS, base / "corpus")
    run_ingest(make_settings(base))
    return base


@pytest.fixture(scope="session")
def ingested_settings(ingested_dir: Path) -> Settings:  # noqa: F821
    return make_settings(ingested_dir)


@pytest.fixture(scope="session")
def bot(ingested_settings: Settings) -> Iterator[Assistant]:  # noqa: F821
    from assistant import Assistant

    yield Assistant.from_settings(ingested_settings)
