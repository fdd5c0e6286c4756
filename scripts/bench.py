"""`make bench`: Ray Advisor against a plain LangChain RAG, measured side by side in one run, one table.

    .venv/bin/python scripts/bench.py [--requests 3000] [--soak 10000] [--skip-baseline]

Everything runs on a fresh copy of corpus/ in a temp dir (the project's own index is not touched); the
ONNX export is read from RAY_ADVISOR_MODEL_DIR (default .ray-advisor/models, made by `make ingest`).
The baseline (scripts/baseline_langchain.py) runs in a scratch venv, .ray-advisor/bench-venv, made on
first use with its three extra packages pinned (and no dependencies); it sees the project's venv for the rest.

Figures: warm answer latency (one process, sequential: every single-turn eval question and written dev
messages, each asked once), a cold `ask` (a whole fresh process, median of runs), `POST /v1/ask` on
`ray-advisor serve --workers 2` at 32 and 64 concurrent clients over 1,500 distinct written questions
(answers/s, p50/p99, errors = non-200 or another recommendation than the same question got unloaded), fresh ingest and
no-op re-ingest (as reported, and the whole process), peak memory, and a worker's memory before and
after a soak of --soak requests. The load generator is a minimal keep-alive HTTP/1.1 client on the same
2 cores as the server (a heavier client would take CPU from the server it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import percentile, warm_latencies  # scripts/timing.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = Path(sys.executable)
DEFAULT_ENCODER = "int8"  # RAY_ADVISOR_ENCODER's default (assistant/settings.py): the soak runs on it, and
# the table's int8 column is marked default
CLI = VENV_PY.with_name("ray-advisor")
BENCH_VENV = ROOT / ".ray-advisor" / "bench-venv"
BASELINE_PINS = ["langchain-huggingface==1.2.3", "langchain-chroma==1.1.0", "langchain-text-splitters==1.1.3"]
# Warm answers: these first (untimed), then each timed question once, every one new to the process. A question asked
# again finds its encoding and the decider's reading kept (`encoded.RecentEncodings`, 512; `top.REMEMBERED`, 256), and
# costs 1.2 ms p50 instead of 8-9 ms: repeating a few questions measured the caches, not answering (2026-12-06).
WARMUP = [
    "I have existing product footage and need to relight it. Which model?",
    "I have no footage, only an idea for a shot. Which model should I use?",
    "We shot a hero take and need versions for five markets with different packaging.",
    "I want to explore new camera moves from a single still image.",
    "Can I use Ray 3 and Ray 3.2 together?",
    "How much does Ray 3.2 cost?",
]
TIMED = 450  # the single-turn eval questions, then the decider's written dev messages, to this many
LOAD_POOL = 1500  # distinct questions the load cycles through: more than a worker keeps (512), so none is kept
COLD_QUESTION = "I have product footage and need to relight it. Which model?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_mem_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def eval_questions() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from evals.cases import load_cases

    return [c.question for c in load_cases(None) if not c.history]


@functools.cache  # read once: the timed questions, the load pool and the baseline's warm run all draw from it
def written_questions() -> tuple[str, ...]:
    """The decider's written single messages, dev split first, in a fixed order (never the eval cases)."""
    sys.path.insert(0, str(ROOT))
    from ingest.decider.data import load_examples

    examples = sorted((e for e in load_examples() if not e.context), key=lambda e: (e.split != "dev", e.text))
    return tuple(dict.fromkeys(e.text for e in examples))


def timed_questions() -> list[str]:
    """`TIMED` distinct questions, none of them a warm-up one: the single-turn eval questions, then written ones."""
    asked = [q for q in dict.fromkeys([*eval_questions(), *written_questions()]) if q not in WARMUP]
    return asked[:TIMED]


def load_pool() -> list[str]:
    """`LOAD_POOL` distinct written questions, none of them a timed or warm-up one."""
    taken = {*timed_questions(), *WARMUP}
    return [q for q in reversed(written_questions()) if q not in taken][:LOAD_POOL]


# -- children (run in fresh processes) ------------------------------------------------------------------
def child_warm() -> None:
    from assistant import Assistant

    bot = Assistant.from_settings()
    got = warm_latencies(bot.ask, WARMUP, timed_questions())
    print(json.dumps({**got, "peak_rss_mb": proc_mem_mb(os.getpid())[1]}))


# -- the load generator ---------------------------------------------------------------------------------
async def _client(host: str, port: int, bodies: list[bytes], wants: list[str] | None, counter: Any,
                  latencies: list[float], errors: list[str], got: dict[int, str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for i in counter:
            body = bodies[i % len(bodies)]
            request = (b"POST /v1/ask HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            payload = await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode())
                continue
            recommendation = json.loads(payload)["recommendation"]
            if wants is None:
                got[i % len(bodies)] = recommendation
            elif recommendation != wants[i % len(wants)]:
                errors.append("another recommendation than unloaded")
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(repr(exc))
    finally:
        writer.close()


async def _load(port: int, clients: int, total: int, questions: list[str],
                wants: list[str] | None) -> tuple[dict[str, float], dict[int, str]]:
    bodies = [json.dumps({"question": q}).encode() for q in questions]
    counter = iter(range(total))  # shared: each client takes the next request number until none are left
    latencies: list[float] = []
    errors: list[str] = []
    got: dict[int, str] = {}
    t0 = time.perf_counter()
    await asyncio.gather(*(_client("127.0.0.1", port, bodies, wants, counter, latencies, errors, got)
                           for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    return ({"clients": clients, "requests": total, "answers_per_s": len(latencies) / elapsed,
             "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 99),
             "errors": len(errors) + (total - len(latencies))}, got)


def load(port: int, clients: int, total: int, questions: list[str],
         wants: list[str] | None = None) -> tuple[dict[str, float], dict[int, str]]:
    """`total` requests from `clients` keep-alive clients, cycling through `questions`. With `wants`, an answer
    whose recommendation differs from its question's there is an error; without, each one's is returned."""
    try:
        import uvloop

        return uvloop.run(_load(port, clients, total, questions, wants))
    except ImportError:
        return asyncio.run(_load(port, clients, total, questions, wants))


# -- Ray Advisor ----------------------------------------------------------------------------------------
def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[str, float]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return done.stdout, wall


def ingest_seconds(out: str) -> float:
    found = re.search(r"in ([\d.]+) s", out.replace("\n", " "))
    if not found:
        raise SystemExit(f"cannot read the ingest time from: {out}")
    return float(found.group(1))


def serve(env: dict[str, str], cwd: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                             str(workers)], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited:\n" + (proc.stderr.read().decode() if proc.stderr else ""))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # a poll interval
    raise SystemExit("server not ready after 300 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_pids(parent: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "spawn_main" in line]


def ray_advisor(base: Path, args: argparse.Namespace, out: dict[str, Any]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADVISOR_")}
    model_dir = Path(os.environ.get("RAY_ADVISOR_MODEL_DIR", ROOT / ".ray-advisor" / "models")).resolve()
    env.update({"RAY_ADVISOR_CORPUS_DIR": str(base / "corpus"), "RAY_ADVISOR_CHROMA_PATH": str(base / "chroma"),
                "RAY_ADVISOR_MODEL_DIR": str(model_dir), "RAY_ADVISOR_FEEDBACK_PATH": str(base / "fb.jsonl")})
    print("Ray Advisor: ingest ...", file=sys.stderr)
    text, wall = run([str(CLI), "ingest"], env, base)
    out["ingest"] = {"reported": ingest_seconds(text), "wall": wall}
    noop = [run([str(CLI), "ingest"], env, base) for _ in range(3)]
    out["noop"] = {"reported": statistics.median(ingest_seconds(t) for t, _ in noop),
                   "wall": statistics.median(w for _, w in noop)}
    print("Ray Advisor: cold ask ...", file=sys.stderr)
    run([str(CLI), "ask", COLD_QUESTION, "--json"], env, base)  # the first one writes the span-vector cache
    colds = [run([str(CLI), "ask", COLD_QUESTION, "--json"], env, base)[1] for _ in range(args.cold_runs)]
    out["cold"] = statistics.median(colds)
    for variant in ("fp32", "int8"):
        venv = {**env, "RAY_ADVISOR_ENCODER": variant}
        # Each encoder variant has a decider trained on its own states: ingest makes it (once, 10-20 min on 2 cores).
        run([str(CLI), "ingest"], venv, base)
        print(f"Ray Advisor ({variant}): warm answers ...", file=sys.stderr)
        text, _ = run([str(VENV_PY), __file__, "--child-warm"], venv, base)
        out[variant] = {"warm": json.loads(text.strip().splitlines()[-1])}
        print(f"Ray Advisor ({variant}): serve --workers 2 under load ...", file=sys.stderr)
        proc, port = serve(venv, base, workers=2)
        try:
            # Each question once, unloaded (8 clients, so both workers answer): what every answer under load must
            # recommend too. It also warms the workers, and pushes each question out of their kept encodings.
            pool = load_pool()
            _, unloaded = load(port, 8, len(pool), pool)
            wants = [unloaded.get(i, "") for i in range(len(pool))]
            out[variant]["c32"] = load(port, 32, args.requests, pool, wants)[0]
            out[variant]["c64"] = load(port, 64, args.requests, pool, wants)[0]
            if variant == DEFAULT_ENCODER and args.soak:
                pids = worker_pids(proc.pid)
                before = {pid: proc_mem_mb(pid)[0] for pid in pids}
                print(f"Ray Advisor ({variant}): {args.soak} requests for memory ...", file=sys.stderr)
                soak = load(port, 32, args.soak, pool, wants)[0]
                after = {pid: proc_mem_mb(pid) for pid in pids}
                out["soak"] = {"requests": args.soak, "errors": soak["errors"],
                               "rss_before_mb": max(before.values()),
                               "rss_after_mb": max(a[0] for a in after.values()),
                               "peak_mb": max(a[1] for a in after.values())}
        finally:
            stop(proc)


# -- the baseline -----------------------------------------------------------------------------------------
def bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    stamp = BENCH_VENV / ".installed"
    if stamp.exists() and stamp.read_text() == "\n".join(BASELINE_PINS):
        return python
    print(f"making the baseline's scratch venv in {BENCH_VENV} ...", file=sys.stderr)
    shutil.rmtree(BENCH_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    # See the project's packages (torch, sentence-transformers, chromadb, ...) without reinstalling them.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "ray-advisor-venv.pth").write_text(ours + "\n")
    # Without their dependencies: the project's venv has them all (langchain-core, chromadb, sentence-transformers),
    # and resolving them again put an older huggingface-hub (langchain-huggingface 1.2.3 asks for < 2) in front of
    # the one the project's transformers needs (>= 2.4), so the baseline could not import sentence-transformers.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", *BASELINE_PINS], check=True)
    stamp.write_text("\n".join(BASELINE_PINS))
    return python


def baseline(base: Path, args: argparse.Namespace, out: dict[str, Any]) -> None:
    python = bench_venv()
    script = str(ROOT / "scripts" / "baseline_langchain.py")
    # Passive OpenMP waiting, as Ray Advisor's processes use: with torch's default busy-waiting, one
    # question took ~750 ms instead of ~30 ms while other processes shared the 2 cores.
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    index = base / "baseline-chroma"
    print("baseline: ingest ...", file=sys.stderr)
    first = json.loads(run([str(python), script, "ingest", str(base / "corpus"), str(index)], env, base)[0]
                       .strip().splitlines()[-1])
    again = json.loads(run([str(python), script, "ingest", str(base / "corpus"), str(index)], env, base)[0]
                       .strip().splitlines()[-1])
    out["ingest"] = {"reported": first["seconds"], "wall": first["wall"], "chunks": first["chunks"]}
    out["noop"] = {"reported": again["seconds"], "wall": again["wall"]}
    print("baseline: cold ask ...", file=sys.stderr)
    colds = [run([str(python), script, "ask", str(index), COLD_QUESTION], env, base)[1]
             for _ in range(args.baseline_cold_runs)]
    out["cold"] = statistics.median(colds)
    print("baseline: warm answers ...", file=sys.stderr)
    text, _ = run([str(python), script, "warm", str(index), str(len(WARMUP)), *WARMUP, *timed_questions()], env, base)
    out["warm"] = json.loads(text.strip().splitlines()[-1])


# -- the table ------------------------------------------------------------------------------------------
def table(ours: dict[str, Any], base: dict[str, Any] | None) -> str:
    def b(path: str, fmt: str) -> str:
        if not base:
            return "not run"
        value: Any = base
        for key in path.split("."):
            if key not in value:
                return "-"
            value = value[key]
        return fmt.format(value)

    def load_cell(r: dict[str, float]) -> str:
        return (f"{r['answers_per_s']:.0f}/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
                f"{r['errors']:.0f} errors")

    f32, i8 = ours["fp32"], ours["int8"]
    rows = [
        ("warm answer p50 / p95", b("warm.p50_ms", "{:.1f}") + " / " + b("warm.p95_ms", "{:.1f}") + " ms",
         f"{f32['warm']['p50_ms']:.1f} / {f32['warm']['p95_ms']:.1f} ms",
         f"{i8['warm']['p50_ms']:.1f} / {i8['warm']['p95_ms']:.1f} ms", "<= 10 / 20 ms"),
        ("cold `ask`, whole process", b("cold", "{:.2f} s"), f"{ours['cold']:.2f} s", "(same process)", "<= 2.5 s"),
        ("`POST /v1/ask`, 32 clients", "-", load_cell(f32["c32"]), load_cell(i8["c32"]),
         ">= 200/s, p99 <= 250 ms, 0 errors"),
        ("`POST /v1/ask`, 64 clients", "-", load_cell(f32["c64"]), load_cell(i8["c64"]), ">= 200/s, 0 errors"),
        ("ingest, fresh index (reported / whole process)",
         b("ingest.reported", "{:.2f}") + " / " + b("ingest.wall", "{:.2f} s"),
         f"{ours['ingest']['reported']:.2f} / {ours['ingest']['wall']:.2f} s", "(same)", "-"),
        ("re-ingest, nothing changed (reported / whole process)",
         b("noop.reported", "{:.2f}") + " / " + b("noop.wall", "{:.2f} s") + (" (re-embeds all)" if base else ""),
         f"{ours['noop']['reported']:.2f} / {ours['noop']['wall']:.2f} s", "(same)", "<= 0.2 s reported"),
        ("peak memory, one answering process", b("warm.peak_rss_mb", "{:.0f} MB"),
         f"{f32['warm']['peak_rss_mb']:.0f} MB", f"{i8['warm']['peak_rss_mb']:.0f} MB", "-"),
    ]
    if "soak" in ours:
        s = ours["soak"]
        rows.append((f"API worker memory over {s['requests']:,} requests", "-", "",
                     f"{s['rss_before_mb']:.0f} -> {s['rss_after_mb']:.0f} MB (peak {s['peak_mb']:.0f}), "
                     f"{s['errors']:.0f} errors", "flat"))
    head = ("figure", "plain LangChain RAG", "Ray Advisor, fp32", "Ray Advisor, int8 (default)", "goal")
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per load level")
    parser.add_argument("--soak", type=int, default=10_000, help="requests for the memory check (0: skip)")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--baseline-cold-runs", type=int, default=3)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--child-warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_warm:
        child_warm()
        return
    with tempfile.TemporaryDirectory(prefix="ray-advisor-bench-") as tmp:
        base = Path(tmp)
        shutil.copytree(ROOT / "corpus", base / "corpus")
        ours: dict[str, Any] = {}
        theirs: dict[str, Any] | None = None
        if not args.skip_baseline:
            theirs = {}
            baseline(base, args, theirs)
        ray_advisor(base, args, ours)
    load_avg = os.getloadavg()[0]
    print()
    print(table(ours, theirs))
    print(f"\n{os.cpu_count()} CPUs; load average {load_avg:.2f} at the end (other processes share the cores). "
          f"Warm: {ours['fp32']['warm']['answers']} questions, each asked once after {len(WARMUP)} others; "
          f"load: {args.requests} requests per level on `serve --workers 2`, over {LOAD_POOL:,} distinct questions.")
    if args.json:
        args.json.write_text(json.dumps({"ray_advisor": ours, "baseline": theirs}, indent=2))


if __name__ == "__main__":
    main()
