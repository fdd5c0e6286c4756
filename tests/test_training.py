"""Fitting the decider's top layers, on a tiny random BERT so it takes a second: later epochs skip the
examples already learnt, the model still learns, and the progress bar still ends at its total."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from assistant.deciders.inputs import CLASSES
from ingest.decider.train import TrainConfig, fit, predict


def _tiny_encoder() -> Any:
    import torch  # here, not at the top: collecting the suite should not import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    torch.manual_seed(0)
    return BertModel(config).eval()


def _situations(n: int = 192) -> tuple[list[Any], list[str]]:
    """Token states whose class shows in one feature's sign, at lengths from 3 to 12 tokens."""
    import torch

    gen = torch.Generator().manual_seed(1)
    states, targets = [], []
    for i in range(n):
        x = torch.randn(3 + i % 10, 32, generator=gen)
        x[:, 0] = 3.0 if i % 2 else -3.0
        states.append(x)
        targets.append("ray-3.2" if i % 2 else "ray-3")
    return states, targets


@pytest.fixture(scope="module")
def config() -> TrainConfig:
    return TrainConfig(split=2, epochs=4, batch_size=16, lr=3e-3, precision="fp32", settle_from=2)


def test_later_epochs_skip_what_is_learnt_and_the_model_still_learns(config: TrainConfig) -> None:
    states, targets = _situations()
    reports: list[tuple[str, int, int]] = []
    top = fit(states, targets, _tiny_encoder(), config, lambda *report: reports.append(report))

    assert top.rows_by_epoch[0] == len(states)
    assert top.rows_by_epoch[-1] < len(states) // 2, top.rows_by_epoch  # most are settled by then
    guessed = predict(top, states).argmax(-1)
    right = sum(int(g == CLASSES.index(t)) for g, t in zip(guessed, targets, strict=True))
    assert right >= 0.95 * len(states)
    # Fewer steps than four full epochs, yet the bar climbs steadily and ends full.
    total = 4 * len(states) // config.batch_size
    assert len(reports) < total
    assert [done for _, done, _ in reports] == sorted(done for _, done, _ in reports)
    assert reports[-1] == ("training", total, total)


def test_without_skipping_every_epoch_reads_every_example(config: TrainConfig) -> None:
    states, targets = _situations(64)
    top = fit(states, targets, _tiny_encoder(), replace(config, settle_from=0))
    assert top.rows_by_epoch == [64, 64, 64, 64]
