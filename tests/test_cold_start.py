"""`ray-advisor ask` imports only what answering needs (no torch, Gradio, FastAPI, ...). Checked with
`python -X importtime` in a fresh process; how long it takes is measured by `make bench`, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from assistant.settings import Settings
from tests.conftest import ROOT

FORBIDDEN = ("torch", "transformers", "sentence_transformers", "sklearn", "gradio", "fastapi", "starlette",
             "uvicorn", "langchain_openai", "openai", "langchain_core", "langchain", "matplotlib")


def imported_top_level(stderr: str) -> set[str]:
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return names


def test_ask_imports_nothing_it_does_not_use(ingested_settings: Settings) -> None:
    env = {**os.environ, "RAY_ADVISOR_CORPUS_DIR": str(ingested_settings.corpus_dir),
           "RAY_ADVISOR_CHROMA_PATH": str(ingested_settings.chroma_path),
           "RAY_ADVISOR_MODEL_DIR": str(ingested_settings.model_dir)}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "ui.cli", "ask",
                          "I have product footage and need to relight it. Which model?", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["recommendation"] == "ray-3.2"
    loaded = imported_top_level(run.stderr)
    assert "onnxruntime" in loaded and "chromadb" in loaded  # the check itself works
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
