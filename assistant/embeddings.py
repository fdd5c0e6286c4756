"""Sentence-transformers embeddings (the packaged all-MiniLM-L6-v2), usable as a Chroma embedding function.

Collections are always created with this function, never Chroma's default (which downloads a model).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

import assistant.offline  # noqa: F401  (before sentence-transformers reads the environment)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def load_model(path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except Exception as exc:  # any loader failure means the same to a user: a wrong setting
        raise ValueError(
            f"RAY_ADVISOR_EMBEDDING_MODEL: cannot load sentence-transformers model {path!r} offline ({exc})"
        ) from None


@register_embedding_function
class MiniLMEmbeddings(EmbeddingFunction[Documents]):
    """Normalised embeddings, so cosine distance is 1 - dot product."""

    def __init__(self, model_path: str, batch_size: int = 32) -> None:
        self.model_path = model_path
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        model = load_model(self.model_path)
        with _LOCK:  # torch on 2 cores: one encode at a time is faster than two fighting
            vectors = model.encode(list(input), batch_size=self.batch_size, normalize_embeddings=True,
                                   show_progress_bar=False, convert_to_numpy=True)
        return [v for v in vectors]

    @staticmethod
    def name() -> str:
        return "ray-advisor-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model_path": self.model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddings:
        return MiniLMEmbeddings(str(config["model_path"]))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]
