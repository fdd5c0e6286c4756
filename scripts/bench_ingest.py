"""Benchmark ingest: chunks before/after de-duplication, cold ingest (fresh process, model load included),
warm ingest (model already loaded, fresh index), and no-op re-ingest.

    .venv/bin/python scripts/bench_ingest.py [--corpus corpus] [--repeat 3]

Everything is written to a temp dir; the project's own index is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import assistant.offline  # noqa: E402,F401


def _settings(corpus: Path, index: Path):  # type: ignore[no-untyped-def]
    from assistant.settings import load_settings

    return load_settings(corpus_dir=corpus, chroma_path=index, feedback_path=index.parent / "feedback.jsonl")


def child(corpus: Path, index: Path) -> None:
    """Run in a fresh process: time one ingest from cold (imports done, model not loaded yet)."""
    started = time.perf_counter()
    from ingest.pipeline import run_ingest

    imported = time.perf_counter()
    report = run_ingest(_settings(corpus, index))
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - started, "ingest_s": done - imported, "added": report.added}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the warm and no-op measurements")
    parser.add_argument("--child", nargs=2, type=Path, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    corpus = args.corpus.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        base = Path(tmp)
        from ingest.pipeline import plan_chunks

        t = time.perf_counter()
        chunks, files, skipped, before, _ = plan_chunks([corpus])
        plan_s = time.perf_counter() - t
        print(f"corpus: {corpus} ({len(files)} files, {len(skipped)} skipped)")
        print(f"chunks: {before} before de-duplication, {len(chunks)} after "
              f"(load+chunk+dedupe {plan_s * 1000:.0f} ms)")

        t = time.perf_counter()
        run = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(base / "cold")],
                             capture_output=True, text=True, check=True, cwd=base, env=os.environ.copy())
        wall = time.perf_counter() - t
        cold = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"cold ingest (fresh process, model load included): {cold['ingest_s']:.2f} s "
              f"[+ {cold['import_s']:.2f} s imports; {wall:.2f} s process wall time; "
              f"{cold['added']} embedded]")

        from assistant.embeddings import MiniLMEmbeddings
        from ingest.pipeline import run_ingest

        settings = _settings(corpus, base / "warm-0")
        t = time.perf_counter()
        MiniLMEmbeddings(settings.embedding_model_path())(["warm up"])
        print(f"model load in this process: {time.perf_counter() - t:.2f} s")

        warm, noop = [], []
        for i in range(args.repeat):
            settings = _settings(corpus, base / f"warm-{i}")
            report = run_ingest(settings)
            warm.append(report.seconds)
            again = run_ingest(settings)
            assert again.added == again.updated == again.removed == 0, again
            noop.append(again.seconds)
            shutil.rmtree(base / f"warm-{i}", ignore_errors=True)
        print(f"warm ingest (model loaded, fresh index): median {statistics.median(warm):.2f} s "
              f"(runs: {', '.join(f'{s:.2f}' for s in warm)})")
        print(f"no-op re-ingest: median {statistics.median(noop) * 1000:.0f} ms "
              f"(runs: {', '.join(f'{s * 1000:.0f}' for s in noop)})")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f}")


if __name__ == "__main__":
    main()
