"""An exported fine-tuned top (the decider's, the row classifier's): split-layer states -> class probabilities.

Both are exported by `ingest/decider/export.py` with the same inputs, and both are run the same way here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.cores import RUNS, run_threads

# A follow-up reads the turn before it again (`LearnedDecider._earlier_reading`), and in a chat that turn was read
# moments ago, on the very states the pipeline keeps (`Pipeline._encode_pair` keeps the last 512 encodings, read-only):
# the probabilities of the last `REMEMBERED` states a top ran are kept rather than run again. A top on a
# conversation's states is most of a follow-up's decision: about 13 ms for 142 tokens on one thread (2026-12-06).
REMEMBERED = 256


class ExportedTop:
    def __init__(self, model_file: Path, wide: int | None = None) -> None:
        import onnxruntime as ort

        def session(threads: int) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Off: each session has its own pool, and one still spinning after its run takes a core from the next
            # run's (the encoder's, another top's). Follow-ups' decision p50 8.4 ms spinning, 6.8 not (2026-12-06).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

        # A run alone in this process uses its share of the cores (`assistant.cores`); one beside another, one thread.
        # Alone on 2 cores, two threads ran 142 tokens in 9 ms against 13, and 25 in 1.8 against 2.4 (2026-12-06).
        # The two sessions hold the same weights (a few MB) and give the same probabilities bit for bit.
        self._session = session(1)
        wide = run_threads() if wide is None else wide
        self._wide = session(wide) if wide > 1 else None
        # id(states) -> (states, probabilities); the states are held, so their id is not reused while remembered
        self._recent: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """One question's states [T, H] -> its class probabilities [C] (read-only)."""
        with self._lock:
            seen = self._recent.get(id(states))
            if seen is not None and seen[0] is states:
                self._recent.move_to_end(id(states))
                return seen[1]
        hidden = states[None].astype(np.float32)
        mask = np.ones(hidden.shape[:2], dtype=np.int64)
        # InferenceSession.run is thread-safe: a worker's threads may run the tops side by side.
        with RUNS.started() as alone:
            session = self._wide if alone and self._wide is not None else self._session
            (probs,) = session.run(None, {"hidden": hidden, "mask": mask})
        result = np.asarray(probs[0], dtype=np.float64)
        result.setflags(write=False)
        if not states.flags.writeable:  # read-only, as the pipeline keeps its encodings: remembered by identity
            with self._lock:
                self._recent[id(states)] = (states, result)
                while len(self._recent) > REMEMBERED:
                    self._recent.popitem(last=False)
        return result
