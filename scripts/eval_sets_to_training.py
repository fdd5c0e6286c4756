"""Turn eval sets that have done their job as a measurement into the decider's training data.

    .venv/bin/python scripts/eval_sets_to_training.py evals/unseen/*.yaml

Writes one `ingest/decider/data/raw/eval_format_<set>.jsonl` per set (the format of `data/LABELS.md`): the
question, its history, its label and abstention; `voice` is the set's name, `kind` "eval-format <category>".
A case that lists two acceptable labels is left out: a training example has one class, and picking either
label would teach a preference the case's writer did not state. It takes only sets from `evals/unseen/`, whose
measuring is done: once trained on, a set measures nothing. The frozen test set is never a source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.cases import load_cases
from ingest.decider.data import DATA_DIR

UNSEEN = Path(__file__).resolve().parents[1] / "evals" / "unseen"  # the only sets it takes


def training_lines(path: Path) -> tuple[list[str], int]:
    """The set's one-label cases as training lines, and how many two-label cases were left out."""
    lines, left_out = [], 0
    for case in load_cases(path):
        if len(case.labels) != 1:
            left_out += 1
            continue
        row = {"text": case.question, "history": case.history_dicts(), "label": case.labels[0],
               "abstain": bool(case.abstain), "voice": path.stem, "kind": f"eval-format {case.category}"}
        lines.append(json.dumps(row, ensure_ascii=False))
    return lines, left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--into", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    for path in args.sets:
        if path.resolve().parent != UNSEEN:
            raise SystemExit(f"{path} is not an unseen eval set (evals/unseen/*.yaml): only those are trained on")
        lines, left_out = training_lines(path)
        (args.into / f"eval_format_{path.stem}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path.stem}: {len(lines)} examples, {left_out} two-label cases left out")


if __name__ == "__main__":
    main()
