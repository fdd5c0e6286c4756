"""Eval metrics as pure functions over `Outcome`s: no I/O, no knowledge of particular questions.

Corpus texts are passed in (file name -> text) so citation validity stays a pure check.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.cases import LABELS
from evals.support import normalise_ws, support_counts

ERROR_LABEL = "error"  # what a case "predicted" when the assistant raised instead of answering


@dataclass(frozen=True)
class CitedQuote:
    source: str
    section: str
    quote: str


@dataclass(frozen=True)
class Outcome:
    """One case and what the assistant returned for it (flattened so metrics need no pydantic)."""

    case_id: str
    category: str
    question: str
    expected_labels: tuple[str, ...]
    expected_abstain: bool
    got_label: str
    got_abstained: bool
    answer: str = ""
    citations: tuple[CitedQuote, ...] = ()
    expected_sections: tuple[str, ...] = ()
    must_mention: tuple[str, ...] = ()
    latency_ms: float = 0.0
    error: str | None = None

    @property
    def label_ok(self) -> bool:
        return self.error is None and self.got_label in self.expected_labels

    @property
    def abstain_ok(self) -> bool:
        return self.error is None and self.got_abstained == self.expected_abstain

    @property
    def ok(self) -> bool:
        return self.label_ok and self.abstain_ok

    @property
    def mentioned(self) -> int:
        """How many of the case's required terms the answer contains (case-insensitive)."""
        text = self.answer.casefold()
        return sum(term.casefold() in text for term in self.must_mention)

    @property
    def fully_right(self) -> bool:
        """Right as a reader judges one answer: the label and the abstention, every required term in the
        answer, and (when it answers a case that names sections) a quote from one of them."""
        cites = self.got_abstained or not self.expected_sections or _cites_expected(self)
        return self.ok and self.mentioned == len(self.must_mention) and cites


def _ratio(num: int, den: int, empty: float = 1.0) -> float:
    return num / den if den else empty


def accuracy(outcomes: Sequence[Outcome]) -> float:
    """Share of cases whose recommendation is one of the acceptable labels (errors count as wrong)."""
    return _ratio(sum(o.label_ok for o in outcomes), len(outcomes), empty=0.0)


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval for `hits` of `n`: the spread a score on this many cases has by chance
    alone, so two runs (or a run and a gate) can be told apart from noise. Sound near 0 and 1, where the
    normal approximation is not."""
    if n == 0:
        return 0.0, 1.0
    p, z2 = hits / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_by_category(outcomes: Sequence[Outcome]) -> dict[str, float]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.category].append(o)
    return {cat: accuracy(group) for cat, group in sorted(groups.items())}


def abstention_precision_recall(outcomes: Sequence[Outcome]) -> tuple[float, float]:
    """Positive class = abstained. With no predicted abstentions, precision is 1.0 only if none were due."""
    predicted = [o for o in outcomes if o.error is None and o.got_abstained]
    expected = [o for o in outcomes if o.expected_abstain]
    true_pos = sum(o.expected_abstain for o in predicted)
    precision = _ratio(true_pos, len(predicted), empty=0.0 if expected else 1.0)
    recall = _ratio(true_pos, len(expected))
    return precision, recall


def quote_is_valid(cited: CitedQuote, corpus: Mapping[str, str]) -> bool:
    """Verbatim, case-sensitive, whitespace-normalised containment in the named source file."""
    text = corpus.get(cited.source)
    quote = normalise_ws(cited.quote)
    return bool(text is not None and quote and quote in normalise_ws(text))


def citation_validity(outcomes: Sequence[Outcome], corpus: Mapping[str, str]) -> dict[str, float]:
    cited = [c for o in outcomes for c in o.citations]
    invalid = sum(not quote_is_valid(c, corpus) for c in cited)
    return {
        "citations": len(cited),
        "invalid_citations": invalid,
        "invalid_rate": _ratio(invalid, len(cited), 0.0),
    }


def _cites_expected(o: Outcome) -> bool:
    wanted = {s.casefold() for s in o.expected_sections}
    return any(c.section.strip().casefold() in wanted for c in o.citations)


def citation_relevance(outcomes: Sequence[Outcome]) -> float:
    """Share of answered (not abstained) cases that cite at least one section the case expects.

    Cases expecting an abstention have no expected sections; they are left to the abstention metrics
    rather than being penalised twice here.
    """
    pool = [o for o in outcomes if o.error is None and not o.got_abstained and o.expected_sections]
    return _ratio(sum(_cites_expected(o) for o in pool), len(pool))


def must_mention_rate(outcomes: Sequence[Outcome]) -> float:
    """Share of required terms (over all cases that list some) found case-insensitively in the answer."""
    return _ratio(sum(o.mentioned for o in outcomes), sum(len(o.must_mention) for o in outcomes))


def answer_support(outcomes: Sequence[Outcome], corpus: Mapping[str, str]) -> float:
    """Share of claim sentences, pooled over answered cases, backed by one of the answer's own quotes.

    Only quotes that really are in the corpus count: a fabricated quote must not back a claim.
    """
    supported = claims = 0
    for o in outcomes:
        if o.error is not None or o.got_abstained:
            continue
        quotes = [c.quote for c in o.citations if quote_is_valid(c, corpus)]
        s, n = support_counts(o.answer, quotes)
        supported += s
        claims += n
    return _ratio(supported, claims)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency(outcomes: Sequence[Outcome]) -> dict[str, float]:
    values = [o.latency_ms for o in outcomes if o.error is None]
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}


def expected_label(o: Outcome) -> str:
    """The acceptable label the prediction matched, else the first: right answers sit on the diagonal."""
    return o.got_label if o.label_ok else o.expected_labels[0]


def confusion_matrix(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    """matrix[expected][predicted] over every label (plus `error` as a predicted column when seen)."""
    columns = list(LABELS) + ([ERROR_LABEL] if any(o.error for o in outcomes) else [])
    matrix = {row: dict.fromkeys(columns, 0) for row in LABELS}
    for o in outcomes:
        predicted = ERROR_LABEL if o.error is not None else o.got_label
        matrix[expected_label(o)][predicted] = matrix[expected_label(o)].get(predicted, 0) + 1
    return matrix


@dataclass
class Metrics:
    values: dict[str, float] = field(default_factory=dict)
    by_category: dict[str, float] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.values, "by_category": self.by_category, "confusion": self.confusion}


def compute_metrics(outcomes: Sequence[Outcome], corpus: Mapping[str, str]) -> Metrics:
    precision, recall = abstention_precision_recall(outcomes)
    low, high = wilson_interval(sum(o.label_ok for o in outcomes), len(outcomes))
    values: dict[str, float] = {
        "cases": len(outcomes),
        "accuracy": accuracy(outcomes),
        "accuracy_low": low,
        "accuracy_high": high,
        "pass_rate": _ratio(sum(o.ok for o in outcomes), len(outcomes), 0.0),
        "fully_right": _ratio(sum(o.fully_right for o in outcomes), len(outcomes), 0.0),
        "abstention_precision": precision,
        "abstention_recall": recall,
        **citation_validity(outcomes, corpus),
        "citation_relevance": citation_relevance(outcomes),
        "must_mention_rate": must_mention_rate(outcomes),
        "answer_support": answer_support(outcomes, corpus),
        **latency(outcomes),
        "errors": sum(o.error is not None for o in outcomes),
    }
    return Metrics(
        values=values, by_category=accuracy_by_category(outcomes), confusion=confusion_matrix(outcomes)
    )
