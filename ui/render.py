"""What the page shows next to the chat: the recommendation badge and the quoted sources."""

from __future__ import annotations

import html

from assistant.quotes import place, shown_in
from assistant.schema import MODEL_NAMES, Answer

EMPTY_BADGE = '<div class="ra-badge ra-empty" id="ra-badge-text">Ask a question to get a recommendation</div>'
EMPTY_SOURCES = "*The quotes an answer rests on appear here.*"


def badge_html(answer: Answer) -> str:
    if answer.abstained:
        text, css = "Not covered by the documents", "ra-abstained"
    elif answer.recommendation == "none":
        text, css = "No model choice asked: facts only", "ra-none"
    else:
        text, css = f"Recommended: {MODEL_NAMES[answer.recommendation]}", f"ra-{answer.recommendation}"
    css = css.replace(".", "-")
    return f'<div class="ra-badge {css}" id="ra-badge-text">{html.escape(text)}</div>'


def sources_markdown(answer: Answer) -> str:
    if not answer.citations:
        return "*No quotes: the documents do not cover this.*" if answer.abstained else EMPTY_SOURCES
    parts = []
    for i, cite in enumerate(answer.citations, 1):
        quote = " ".join(cite.quote.split())
        where = f"**[{i}]** {cite.source} · {place(cite)}"
        # A quote the answer already shows (numbered [i]) is not printed a second time; only where it is from.
        parts.append(where if shown_in(answer.answer, quote) else f"{where}\n\n> {quote}")
    return "\n\n".join(parts)


PAGE_CSS = """
.ra-badge { display: inline-block; padding: 0.5rem 0.9rem; border-radius: 999px; font-weight: 600;
            font-size: 1.05rem; background: #eef2ff; color: #312e81; border: 1px solid #c7d2fe; }
.ra-ray-3-2 { background: #ecfdf5; color: #065f46; border-color: #a7f3d0; }
.ra-ray-3 { background: #eff6ff; color: #1e3a8a; border-color: #bfdbfe; }
.ra-ray-3-then-ray-3-2 { background: #fdf4ff; color: #701a75; border-color: #f5d0fe; }
.ra-depends { background: #fffbeb; color: #78350f; border-color: #fde68a; }
.ra-abstained, .ra-none, .ra-empty { background: #f4f4f5; color: #3f3f46; border-color: #e4e4e7; }
"""
