"""What the LLM path adds to an answer's latency, against the scripted OpenAI-compatible server on loopback.

The fake server answers at once (or after --delay seconds, to play a model), so the difference from
the extractive path is our own overhead: prompt building, LangChain + HTTP, JSON parsing, the quote
guardrail, and verification of the LLM's quotes. Run from the repo root:

    .venv/bin/python scripts/bench_llm.py                 # builds a temp index of corpus/ first (~15 s)
    .venv/bin/python scripts/bench_llm.py --asks 50 --delay 0.2
    .venv/bin/python scripts/bench_llm.py --index-from-settings   # reuse the index Settings() points at
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.fake_openai_server

QUESTION = "I have product footage and need to relight it. Which model?"
QUOTE = (
    "Ray 3.2 is usually stronger when you already have product footage and need swaps, relighting, "
    "new environments, or market versions."
)


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=30, help="asks per path (default 30)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the fake model takes to reply")
    parser.add_argument("--index-from-settings", action="store_true", help="use Settings()' index")
    args = parser.parse_args()

    from assistant.core import Assistant
    from assistant.settings import load_settings
    from tests.fake_openai_server import Behaviour, FakeOpenAIServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    try:
        if args.index_from_settings:
            base_settings = load_settings()
        else:
            from ingest.pipeline import run_ingest

            shutil.copytree(ROOT / "corpus", tmp / "corpus")
            base_settings = load_settings(
                corpus_dir=tmp / "corpus", chroma_path=tmp / "chroma", feedback_path=tmp / "feedback.jsonl"
            )
            t0 = time.perf_counter()
            run_ingest(base_settings)
            print(f"temp index built in {time.perf_counter() - t0:.1f} s")

        with FakeOpenAIServer() as server:
            llm_settings = base_settings.model_copy(
                update={"generator": "openai", "llm_base_url": server.base_url, "llm_model": "fake"}
            )
            extractive = Assistant.from_settings(base_settings, generator="extractive")
            llm = Assistant.from_settings(llm_settings, generator="openai")
            chunk_id = next(p.chunk_id for p in llm.pipeline.retriever.passages if QUOTE in p.text)
            reply = {
                "label": "ray-3.2",
                "abstained": False,
                "answer": f'Use **Ray 3.2**. The FAQ says "{QUOTE}"',
                "quotes": [{"chunk_id": chunk_id, "quote": QUOTE}],
            }
            server.default = Behaviour(content=json.dumps(reply), delay=args.delay, chunk_size=8)

            for bot in (extractive, llm):  # warm up: first calls load models and open connections
                bot.ask(QUESTION)
            totals: dict[str, list[float]] = {"extractive": [], "openai": []}
            composes: dict[str, list[float]] = {"extractive": [], "openai": []}
            first_piece: list[float] = []
            fallbacks = 0
            for _ in range(args.asks):  # interleaved, so drift hits both paths alike
                for name, bot in (("extractive", extractive), ("openai", llm)):
                    t0 = time.perf_counter()
                    answer = bot.ask(QUESTION)
                    totals[name].append((time.perf_counter() - t0) * 1000)
                    t = answer.timings_ms
                    composes[name].append(t.get("compose", 0.0) + t.get("verify", 0.0))
                    if name == "openai" and answer.generator != "openai":
                        fallbacks += 1
                t0 = time.perf_counter()
                for item in llm.ask_stream(QUESTION):
                    if isinstance(item, str):
                        first_piece.append((time.perf_counter() - t0) * 1000)
                        break
                else:
                    fallbacks += 1

        ext, gen = p50(totals["extractive"]), p50(totals["openai"])
        ext_c, gen_c = p50(composes["extractive"]), p50(composes["openai"])
        print(f"asks per path: {args.asks}; fake model delay: {args.delay * 1000:.0f} ms")
        print(f"extractive ask  p50 {ext:8.1f} ms   (compose+verify p50 {ext_c:6.2f} ms)")
        print(f"openai ask      p50 {gen:8.1f} ms   (compose+verify p50 {gen_c:6.2f} ms)")
        # Whole-ask p50s share retrieval (tens of ms, noisy), so the stage difference is the honest figure.
        print(f"added by the LLM path: compose+verify p50 {gen_c - ext_c:+.2f} ms; whole ask p50 {gen - ext:+.1f} ms")
        print(f"openai stream: time to first piece p50 {p50(first_piece):.1f} ms")
        if fallbacks:
            print(f"WARNING: {fallbacks} LLM asks fell back to extractive; numbers include fallbacks")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
