"""An exported fine-tuned top (the decider's, the row classifier's): split-layer states -> class probabilities.

Both are exported by `ingest/decider/export.py` with the same inputs, and both are run the same way here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ExportedTop:
    def __init__(self, model_file: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a few small matrices: threads cost more than they save
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """One question's states [T, H] -> its class probabilities [C]."""
        hidden = states[None].astype(np.float32)
        mask = np.ones(hidden.shape[:2], dtype=np.int64)
        # InferenceSession.run is thread-safe: a worker's threads may run the tops side by side.
        (probs,) = self._session.run(None, {"hidden": hidden, "mask": mask})
        return np.asarray(probs[0], dtype=np.float64)
