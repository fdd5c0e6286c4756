"""Generators and the factory that picks one by name (imports lazily: openai pulls in langchain-openai)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.generators.base import Generator

if TYPE_CHECKING:
    from assistant.settings import Settings

GENERATOR_NAMES = ("extractive", "openai")


def make_generator(name: str, settings: Settings) -> Generator:
    if name == "extractive":
        from assistant.generators.extractive import ExtractiveGenerator

        return ExtractiveGenerator()
    if name == "openai":
        from assistant.generators.openai import OpenAIGenerator

        return OpenAIGenerator.from_settings(settings)
    raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(GENERATOR_NAMES)}")


__all__ = ["GENERATOR_NAMES", "Generator", "make_generator"]
