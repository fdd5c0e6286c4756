"""Load corpus files (.txt, .md, .html) into lines, keeping the structure each format carries.

A file that is empty, binary or not UTF-8 is skipped with a warning naming it; the rest goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True)
class Line:
    text: str
    heading: int = 0  # 1-6 when the format marks it as a heading; 0 when unknown
    item: bool = False  # the format marks it as a list item
    cells: tuple[str, ...] = ()  # the format marks it as a table row


@dataclass
class Document:
    name: str  # file name under the corpus dir: what citations name
    path: Path
    text: str  # the decoded file, for verifying quotes
    lines: list[Line] = field(default_factory=list)


@dataclass
class Skipped:
    path: Path
    reason: str


def discover(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            found.append(path)
    return found


def read_text(path: Path) -> str:
    """Decoded text, or ValueError saying why the file is unusable."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
    if not data.strip():
        raise ValueError("empty")
    if b"\x00" in data[:8192]:
        raise ValueError("binary (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})") from None
    if not any(ch.isalpha() for ch in text):
        raise ValueError("no words in it")
    return text


def load(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(f"unsupported file type {suffix or '(none)'}; use .txt, .md or .html")
    text = read_text(path)
    if suffix in (".html", ".htm"):
        lines = html_lines(text)
    elif suffix in (".md", ".markdown"):
        lines = markdown_lines(text)
    else:
        lines = plain_lines(text)
    if not lines:
        raise ValueError("no text left after parsing")
    return Document(name=path.name, path=path, text=text, lines=lines)


def load_all(paths: Iterable[Path]) -> tuple[list[Document], list[Skipped]]:
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in discover(paths):
        try:
            docs.append(load(path))
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(path, str(exc)))
    return docs, skipped


_PIPE_ROW = re.compile(r"^\|(.+)\|\s*$")
_PIPE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _pipe_cells(stripped: str) -> tuple[str, ...] | None:
    match = _PIPE_ROW.match(stripped)
    if not match:
        return None
    return tuple(cell.strip() for cell in match.group(1).split("|"))


def plain_lines(text: str) -> list[Line]:
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or _PIPE_RULE.match(stripped):
            continue
        cells = _pipe_cells(stripped)
        lines.append(Line(stripped, cells=cells) if cells else Line(stripped))
    return lines


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+(.*)$")


def markdown_lines(text: str) -> list[Line]:
    lines = []
    for line in plain_lines(text):
        if line.cells:
            lines.append(line)
        elif heading := _MD_HEADING.match(line.text):
            lines.append(Line(heading.group(2), heading=len(heading.group(1))))
        elif item := _MD_ITEM.match(line.text):
            lines.append(Line(item.group(1), item=True))
        else:
            lines.append(line)
    return lines


def html_lines(text: str) -> list[Line]:
    from bs4 import BeautifulSoup  # lazy: only HTML files need it

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    lines: list[Line] = []
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "tr", "dt", "dd", "summary", "blockquote"]):
        if el.name == "tr":
            cells = tuple(c.get_text(" ", strip=True) for c in el.find_all(["th", "td"]))
            if any(cells):
                lines.append(Line(" | ".join(cells), cells=cells))
            continue
        if el.find_parent(["li", "tr", "p"]) is not None:
            continue  # its text is already in the enclosing element
        words = " ".join(el.get_text(" ", strip=True).split())
        if not words:
            continue
        if el.name[0] == "h":
            lines.append(Line(words, heading=int(el.name[1])))
        else:
            lines.append(Line(words, item=el.name == "li"))
    return lines
