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
    # torch's OpenMP threads otherwise spin while waiting; on 2 cores shared with other processes that
    # turned a 30 ms sentence-transformers encode into ~750 ms. Passive waiting costs nothing when idle.
    "OMP_WAIT_POLICY": "PASSIVE",
}


def apply() -> None:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


apply()
