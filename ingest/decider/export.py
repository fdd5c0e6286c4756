"""Export the decider's fine-tuned top to ONNX, so answering needs onnxruntime and numpy, never torch."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def export_top(top: Any, out_file: Path, hidden_size: int) -> Path:
    """(hidden [B, T, H] float32, mask [B, T] int64) -> class probabilities [B, C]."""
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.top = top

        def forward(self, hidden: Any, mask: Any) -> Any:
            return torch.softmax(self.top(hidden, mask), dim=-1)

    model = WithSoftmax().eval()
    example = (torch.zeros(1, 7, hidden_size), torch.ones(1, 7, dtype=torch.long))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(model, example, str(out_file), input_names=["hidden", "mask"], output_names=["probs"],
                          dynamic_axes={"hidden": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"}},
                          opset_version=17, dynamo=False)
    return out_file
