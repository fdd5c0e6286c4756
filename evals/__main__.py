"""`python -m evals [--cases FILE] [--report DIR] [--generator NAME] [--url URL] ...`: the eval runner
without the full CLI. Exit code 0 when every threshold holds, 1 otherwise."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evals.runner import EvalOptions, main


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description="Run Ray Advisor's answer evals.")
    parser.add_argument("--cases", help="cases YAML (default: the packaged evals/cases.yaml)")
    parser.add_argument("--report", help="directory for report.md/.html, PNG charts and results.json")
    parser.add_argument("--generator", help="generator to evaluate in-process, e.g. extractive or openai")
    parser.add_argument("--url", help="evaluate a running server instead (POST {url}/v1/ask)")
    parser.add_argument("--api-key", help="bearer key for --url (default: RAY_ADVISOR_API_KEY)")
    parser.add_argument("--thresholds", help="JSON file of metric gates overriding the defaults")
    args = parser.parse_args(argv)
    return main(EvalOptions(cases=args.cases, report_dir=args.report, generator=args.generator, url=args.url,
                            api_key=args.api_key, thresholds=args.thresholds))


if __name__ == "__main__":
    sys.exit(cli())
