"""An exported fine-tuned top (the decider's, the row classifier's): split-layer states -> class probabilities.

Both are exported by `ingest/decider/export.py` with the same inputs, and both are run the same way here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.cores import run_threads
from assistant.onnx_encoder import Sessions
from assistant.recent import Recent

# A follow-up reads the turn before it again (`followups.FollowUps._earlier_reading`), and in a chat that turn was read
# moments ago, on the very states the pipeline keeps (`encoded.RecentEncodings`, the last 512 encodings, read-only):
# the probabilities of the last `REMEMBERED` states a top ran are kept rather than run again. A top on a
# conversation's states is most of a follow-up's decision: about 13 ms for 142 tokens on one thread (2026-12-06).
REMEMBERED = 256


class ExportedTop:
    def __init__(self, model_file: Path, wide: int | None = None) -> None:
        # One thread a run, or the process's share of the cores for a run that has the process to itself
        # (`assistant.cores`): alone on 2 cores, two threads ran 142 tokens in 9 ms against 13, and 25 in 1.8 against
        # 2.4 (2026-12-06). The two sessions hold the same weights (a few MB) and give the same probabilities.
        self._sessions = Sessions(model_file, 1, run_threads() if wide is None else wide)
        # id(states) -> (states, probabilities); the states are held, so their id is not reused while remembered
        self._recent: Recent[int, tuple[np.ndarray, np.ndarray]] = Recent(REMEMBERED)

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """One question's states [T, H] -> its class probabilities [C] (read-only)."""
        seen = self._recent.get(id(states))
        if seen is not None and seen[0] is states:
            return seen[1]
        hidden = states[None].astype(np.float32)
        mask = np.ones(hidden.shape[:2], dtype=np.int64)
        (probs,) = self._sessions.run(None, {"hidden": hidden, "mask": mask})
        result = np.asarray(probs[0], dtype=np.float64)
        result.setflags(write=False)
        if not states.flags.writeable:  # read-only, as the pipeline keeps its encodings: remembered by identity
            self._recent.put(id(states), (states, result))
        return result
