"""How well the decider's recipe generalises, measured on its own training data only.

    python -m ingest.decider.report [--folds 5] [--states fp32|int8]

Prints the dev-split accuracy (trained on the train split; also with typing slips added to the dev
messages, the same slips every run), k-fold cross-validated accuracy over all examples, and accuracy
per writer's batch and per class. Only the training data is read here; the frozen eval cases are
scored by `ray-advisor eval`, through the whole assistant.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.deciders.inputs import CLASSES
from ingest.decider import train
from ingest.decider.augment import noisy
from ingest.decider.data import Example, load_examples
from ingest.decider.mending import corpus_texts, mended, speller_for, training_rows

if TYPE_CHECKING:
    from assistant.spelling import Speller

SLIP_SEED = 99


def _scores(top: Any, states: Sequence[Any], examples: Sequence[Example]) -> list[tuple[Example, str]]:
    got = train.predict(top, states).argmax(1)
    return [(e, CLASSES[int(g)]) for e, g in zip(examples, got, strict=True)]


def _table(rows: list[tuple[Example, str]], key: str) -> dict[str, str]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for example, got in rows:
        groups[getattr(example, key)].append(got == example.target)
    return {k: f"{np.mean(v):.3f} ({len(v)})" for k, v in sorted(groups.items())}


def _fit(encoder: Any, states_from: Any, examples: list[Example], config: train.TrainConfig,
         speller: Speller) -> Any:
    """The recipe `ingest` uses: the written examples plus their augmentation, mended, never a held-out one."""
    fitted = training_rows(examples, config.seed, speller)
    states = train.onnx_states(states_from, [(e.text, e.context) for e in fitted])
    return train.fit(states, [e.target for e in fitted], encoder, config)


def _held_out(encoder: Any, states_from: Any, fit: list[Example], held: dict[str, list[Example]],
              config: train.TrainConfig, documents: list[str]) -> dict[str, list[tuple[Example, str]]]:
    """Train on `fit` (its own speller too) and score each held-out set, mended by that speller."""
    speller = speller_for(fit, documents, states_from.whole_words())
    top = _fit(encoder, states_from, fit, config, speller)
    scored = {}
    for name, examples in held.items():
        cleaned = mended(examples, speller)
        scored[name] = _scores(top, train.onnx_states(states_from, [(e.text, e.context) for e in cleaned]), examples)
    return scored


def _accuracy(rows: list[tuple[Example, str]]) -> float:
    return float(np.mean([g == e.target for e, g in rows]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5, help="0: the dev split only")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--states", choices=("fp32", "int8"), default=None,
                        help="which ONNX question encoder gives the states (default: RAY_ADVISOR_ENCODER)")
    args = parser.parse_args(argv)
    from assistant.settings import load_settings
    from ingest.decider.build import states_encoder
    from ingest.onnx_export import ensure_encoder

    settings = load_settings()
    ensure_encoder(settings)  # the export under RAY_ADVISOR_MODEL_DIR, made once
    base = Path(settings.embedding_model_path())
    config = train.TrainConfig(states=args.states or settings.encoder)
    states_from = states_encoder(settings, config.states)
    examples = load_examples()
    documents = corpus_texts(settings.corpus_dir)
    encoder = train.load_encoder(base)
    started = time.perf_counter()
    report: dict[str, Any] = {"examples": len(examples), "states": config.states,
                              "classes": dict(Counter(e.target for e in examples))}

    dev = [e for e in examples if e.split == "dev"]
    rng = random.Random(SLIP_SEED)  # the same slips every run, so runs compare
    slipped = [replace(e, text=noisy(e.text, rng, rate=0.25)) for e in dev]
    scored = _held_out(encoder, states_from, [e for e in examples if e.split == "train"],
                       {"dev": dev, "slipped": slipped}, config, documents)
    report["dev"] = {"size": len(dev), "accuracy": _accuracy(scored["dev"]),
                     "by_class": _table(scored["dev"], "target"), "with_slips": _accuracy(scored["slipped"])}
    print(json.dumps(report["dev"], indent=2), flush=True)

    if args.folds > 1:  # --folds 0 or 1: the dev split only
        fold_of = [int.from_bytes(e.text.encode()[:4].ljust(4, b"\0"), "little") % args.folds for e in examples]
        cv: list[tuple[Example, str]] = []
        for fold in range(args.folds):
            fit = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
            held = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
            cv += _held_out(encoder, states_from, fit, {"fold": held}, config, documents)["fold"]
            print(f"fold {fold + 1}/{args.folds}: {_accuracy(cv):.3f} so far", flush=True)
        report["cv"] = {"folds": args.folds, "accuracy": _accuracy(cv),
                        "by_class": _table(cv, "target"), "by_writer": _table(cv, "writer")}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
