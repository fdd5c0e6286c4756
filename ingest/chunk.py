"""Structure-aware chunking: table rows, decision-guide lists, FAQ pairs and prose paragraphs.

Works on what a page's text actually holds, whatever the format: explicit headings/items/rows when
the format marks them (Markdown, HTML), otherwise the shape of the lines (a flattened web page glues
table cells together, keeps headings as short unpunctuated lines and FAQ questions ending in "?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.schema import Span
from assistant.text import content_hash, models_named, normalise_ws, split_sentences
from ingest.load import Document, Line

# A lower-case letter or digit running straight into a capital: cells glued by flattening.
_GLUE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TERMINAL = (".", "!", "?", ":", ";")
_FAQ_SECTION = re.compile(r"\b(faq|frequently asked|questions)\b", re.IGNORECASE)
# A list's own heading: "Use Ray 3.2 for ...", "Choose Ray 3 when ...", "Use both in sequence".
_LIST_HEADING = re.compile(r"^(use|choose|pick|try|go with)\b", re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r",\s+(?=while\b|whereas\b|but\b)|;\s+")
_PRONOUN_START = re.compile(r"^(it|its|it's|this|that|these|they|their)\b", re.IGNORECASE)
MAX_PROSE_WORDS = 120


@dataclass
class Chunk:
    text: str
    source: str
    section: str
    kind: str  # table-row | guide | faq | prose
    heading: str = ""
    spans: list[Span] = field(default_factory=list)
    order: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def chunk_id(self) -> str:
        return content_hash(self.text)


def _words(text: str) -> int:
    return len(text.split())


def _is_short(line: Line) -> bool:
    return not line.cells and not line.text.endswith(_TERMINAL) and _words(line.text) <= 12


def _is_major(line: Line) -> bool:
    """A section heading: marked h1/h2, or a bare line of at most three words ("Comparison", "FAQ")."""
    if line.heading:
        return line.heading <= 2
    return not line.item and _is_short(line) and _words(line.text) <= 3 and not re.search(r"\d", line.text)


def _glued_cells(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _GLUE.split(text) if part.strip())


def _is_artifact(line: Line) -> bool:
    """A navigation label repeated by flattening, like "Ray 3.2Ray 3.2"."""
    parts = _glued_cells(line.text)
    return len(parts) > 1 and len(set(parts)) == 1


def _mark_glued_tables(lines: list[Line]) -> list[Line]:
    """Runs of >= 2 consecutive lines that split into the same number (>= 3) of glued cells are rows."""
    out = list(lines)
    i = 0
    while i < len(out):
        cells = _glued_cells(out[i].text) if not out[i].cells else ()
        if len(cells) >= 3 and not out[i].text.endswith(_TERMINAL):
            j = i + 1
            while j < len(out) and not out[j].cells and len(_glued_cells(out[j].text)) == len(cells):
                j += 1
            if j - i >= 2:
                for k in range(i, j):
                    out[k] = Line(out[k].text, cells=_glued_cells(out[k].text))
                i = j
                continue
        i += 1
    return out


def stance_of(text: str, previous: str = "none") -> str:
    named = models_named(text)
    if named == {"ray-3.2", "ray-3"}:
        return "both"
    if named:
        return named.pop()
    if re.search(r"\bboth\b", text, re.IGNORECASE):
        return "both"
    return previous if _PRONOUN_START.match(text) else "none"


def sentence_spans(text: str, label: str = "", inherit: str = "none") -> list[Span]:
    """Sentences, split further at ', while' and ';' so each clause speaks for one model."""
    spans: list[Span] = []
    previous = inherit
    for sentence in split_sentences(text):
        for clause in _CLAUSE_SPLIT.split(sentence):
            clause = clause.strip()
            if not clause:
                continue
            stance = stance_of(clause, previous)
            spans.append(Span(text=clause, stance=stance, label=label))  # type: ignore[arg-type]
            previous = stance
    return spans


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.chunks: list[Chunk] = []
        self.section = "Introduction"

    def add(self, text: str, kind: str, heading: str, spans: list[Span]) -> None:
        if spans:
            self.chunks.append(Chunk(text=normalise_ws(text), source=self.doc.name, section=self.section,
                                     kind=kind, heading=heading, spans=spans, order=len(self.chunks)))

    def table(self, rows: list[tuple[str, ...]]) -> None:
        header, body = rows[0], rows[1:]
        for row in body:
            parts, spans = [], []
            for col, cell in enumerate(row):
                name = header[col] if col < len(header) else ""
                parts.append(f"{name}: {cell}" if col else f"{header[0]}: {cell}")
                if col:
                    spans.append(Span(text=cell, stance=stance_of(name), label=f"{row[0]} ({name})"))  # type: ignore[arg-type]
            self.add(". ".join(parts) + ".", "table-row", row[0], spans)

    def guide(self, heading: str, items: list[str]) -> None:
        stance = stance_of(heading)
        spans = [Span(text=heading, stance=stance, label=heading)] if heading else []  # type: ignore[arg-type]
        spans += [Span(text=item, stance=stance, label=heading) for item in items]  # type: ignore[arg-type]
        text = (f"{heading}: " if heading else "") + "; ".join(items) + "."
        self.add(text, "guide", heading, spans)

    def faq(self, question: str, answer: str) -> None:
        spans = [Span(text=question, stance="none", label=question)]
        spans += sentence_spans(answer, label=question)
        self.add(f"Q: {question}\nA: {answer}", "faq", question, spans)

    def prose(self, heading: str, paragraph: str) -> None:
        sentences = split_sentences(paragraph)
        group: list[str] = []
        for sentence in [*sentences, ""]:
            if sentence and (not group or _words(" ".join([*group, sentence])) <= MAX_PROSE_WORDS):
                group.append(sentence)
                continue
            body = " ".join(group)
            spans = ([Span(text=heading, stance=stance_of(heading), label=heading)] if heading else [])  # type: ignore[arg-type]
            spans += sentence_spans(body, label=heading)
            self.add((heading + "\n" if heading else "") + body, "prose", heading, spans)
            group = [sentence] if sentence else []


def chunk_document(doc: Document) -> list[Chunk]:
    lines = _mark_glued_tables([line for line in doc.lines if not _is_artifact(line)])
    b = _Builder(doc)
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if line.cells:
            j = i
            while j < len(lines) and lines[j].cells:
                j += 1
            rows = [ln.cells for ln in lines[i:j]]
            if len(rows) >= 2:
                b.table(rows)
            i = j
            continue
        text = line.text.rstrip("+").strip()  # "Question?+" : an accordion's expand marker
        in_faq = bool(_FAQ_SECTION.search(b.section))
        if in_faq and text.endswith("?") and nxt is not None and not nxt.cells and not _is_short(nxt):
            b.faq(text, nxt.text)
            i += 2
            continue
        if _is_major(line):
            b.section = text.rstrip(":")
            i += 1
            continue
        if (line.heading or _is_short(line) or text.endswith("?")) and nxt is not None and not nxt.cells \
                and not _is_short(nxt) and not nxt.heading and not nxt.item:
            b.prose(text, nxt.text)  # a sub-heading and its paragraph
            i += 2
            continue
        if _is_short(line) or line.item:
            j = i
            while j < len(lines) and (_is_short(lines[j]) or lines[j].item) and not _is_major(lines[j]):
                j += 1
            _lists(b, [ln.text for ln in lines[i:j]])
            i = j
            continue
        b.prose("", text)
        i += 1
    return b.chunks


def _lists(b: _Builder, run: list[str]) -> None:
    """A run of short lines: split into lists at their own headings ("Use Ray 3 for invention")."""
    if len(run) == 1:
        b.prose("", run[0])
        return
    heading, items = "", list[str]()
    for text in run:
        if _LIST_HEADING.match(text) and (models_named(text) or re.search(r"\bboth\b", text, re.I)):
            if items or heading:
                b.guide(heading, items)
            heading, items = text, []
        else:
            items.append(text)
    if items or heading:
        b.guide(heading, items)
