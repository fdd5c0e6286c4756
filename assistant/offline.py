"""Keep every library offline and quiet: this machine reaches no model hub and sends no telemetry."""

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


# OMP_WAIT_POLICY is left to OpenMP's default (active): only ingest and training run torch now, and there
# active waiting trains the decider ~30% faster than passive. Answering runs ONNX Runtime, which keeps
# its own thread pool with spinning off (assistant/onnx_encoder.py). `make bench` sets PASSIVE for the
# torch-based LangChain baseline, which answers with torch under load.


def apply() -> None:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


apply()
