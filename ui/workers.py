"""`serve --workers N`: N worker processes, each listening on its own SO_REUSEPORT socket on one port.

Why not uvicorn's own `workers=N`: there the workers share one listening socket, and whichever worker
wakes first accepts the whole burst of waiting connections (asyncio accepts up to the backlog per
wake-up). Keep-alive clients then stay on that worker: 32 clients split 27/5, 23/9, 20/12 across two
workers in three tries here, and the busier worker's queue sets the slowest answers. With a socket per
worker the kernel spreads new connections across the workers by a hash of each connection.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from types import FrameType

from assistant.cores import WORKERS_ENV
from assistant.errors import RayAdvisorError
from ui.ports import listen_address

STOP_TIMEOUT_S = 30.0  # a worker finishing its in-flight answers after SIGTERM (uvicorn's graceful shutdown)


def listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, address = listen_address(host, port)
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config("ui.serve:worker_app", factory=True, log_level=log_level)
    config.load()  # builds the app and loads the index first: the kernel sends no connection to a worker
    # that is still starting, because its socket does not exist yet
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def run_workers(host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Start the workers and wait. SIGINT or SIGTERM stops them all; so does any worker's exit, which is
    then an error naming the worker, so a broken worker never leaves the port half served."""
    os.environ[WORKERS_ENV] = str(workers)  # inherited by the workers
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: nothing loaded is shared
    processes = [context.Process(target=_worker, args=(host, port, log_level), name=f"ray-advisor-worker-{n}")
                 for n in range(workers)]
    stop = threading.Event()
    failed = ""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        while not stop.is_set() and all(p.is_alive() for p in processes):
            stop.wait(0.5)  # how soon a worker's exit is noticed
        if not stop.is_set():
            gone = next(p for p in processes if not p.is_alive())
            failed = f"worker {gone.pid} exited with code {gone.exitcode} (its messages are above)"
    finally:
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failed:
        raise RayAdvisorError(f"{failed}; the other workers were stopped")
