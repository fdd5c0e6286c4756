"""Benchmark the served API: /v1/ask req/s and p95 at N concurrent clients; streamed time to first token.

Starts `ui.serve.serve` (API + page, as `make run` does) in a subprocess on a free 127.0.0.1 port,
on a fresh index of corpus/ in a temp dir (or the configured index with --use-env), then stops it.

    .venv/bin/python scripts/bench_api.py [--clients 16] [--requests 480] [--ttft-samples 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [  # (question, expected recommendation): a wrong answer under load counts as an error
    ("I have existing product footage and need to relight it. Which model?", "ray-3.2"),
    ("I have no footage, only an idea for a shot. Which model should I use?", "ray-3"),
    ("We shot a hero take and need versions for five markets with different packaging.", "ray-3.2"),
    ("I want to explore new camera moves from a single still image.", "ray-3"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    code = f"from ui.serve import serve; serve(host='127.0.0.1', port={port})"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited:\n" + (proc.stderr.read().decode() if proc.stderr else ""))
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready after {timeout} s")


async def load(url: str, clients: int, total: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    wrong = 0
    counter = iter(range(total))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal wrong
        for i in counter:  # shared iterator: clients take the next request number until none are left
            question, want = QUESTIONS[i % len(QUESTIONS)]
            start = time.perf_counter()
            r = await http.post(url + "/v1/ask", json={"question": question})
            latencies.append((time.perf_counter() - start) * 1000)
            if r.status_code != 200 or r.json()["recommendation"] != want:
                wrong += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies, wrong


def time_to_first_token(url: str, samples: int) -> list[float]:
    body = {
        "model": "ray-advisor",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTIONS[0][0]}],
    }
    out = []
    with httpx.Client(timeout=120) as http:
        for _ in range(samples):
            start = time.perf_counter()
            with http.stream("POST", url + "/v1/chat/completions", json=body) as r:
                first = None
                # Read to the end (not just the first token) so each sample is a whole, normal request.
                for line in r.iter_lines():
                    if first is None and line.startswith("data: ") and '"content": "' in line \
                            and '"content": ""' not in line:
                        first = (time.perf_counter() - start) * 1000
                if first is None:
                    raise SystemExit("a streamed answer had no content")
                out.append(first)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=480)
    parser.add_argument("--ttft-samples", type=int, default=30)
    parser.add_argument(
        "--use-env", action="store_true", help="use the configured index instead of a fresh one"
    )
    args = parser.parse_args()

    env = {**os.environ, "RAY_ADVISOR_API_KEY": ""}
    tmp = Path(tempfile.mkdtemp(prefix="ray-advisor-bench-"))
    try:
        if not args.use_env:
            sys.path.insert(0, str(ROOT))
            from assistant.settings import load_settings
            from ingest.pipeline import run_ingest

            shutil.copytree(ROOT / "corpus", tmp / "corpus")
            paths = {
                "corpus_dir": tmp / "corpus",
                "chroma_path": tmp / "chroma",
                "feedback_path": tmp / "fb.jsonl",
            }
            run_ingest(load_settings(**paths))
            env.update({f"RAY_ADVISOR_{k.upper()}": str(v) for k, v in paths.items()})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port)
        try:
            wait_ready(url, proc)
            asyncio.run(load(url, args.clients, 4 * args.clients))  # warm-up, not measured
            elapsed, latencies, wrong = asyncio.run(load(url, args.clients, args.requests))
            ttft = time_to_first_token(url, args.ttft_samples)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"/v1/ask, {args.clients} concurrent clients, {args.requests} requests:")
    print(f"  throughput   {args.requests / elapsed:8.1f} req/s   (wrong or failed answers: {wrong})")
    print(
        f"  latency ms   p50 {statistics.median(latencies):.1f}   p95 {percentile(latencies, 95):.1f}"
        f"   p99 {percentile(latencies, 99):.1f}   max {max(latencies):.1f}"
    )
    print(f"/v1/chat/completions stream, time to first token ({len(ttft)} sequential requests):")
    p50, p95 = statistics.median(ttft), percentile(ttft, 95)
    print(f"  ms           p50 {p50:.1f}   p95 {p95:.1f}   min {min(ttft):.1f}")


if __name__ == "__main__":
    main()
