"""The chat page in Debian's chromium (Playwright): ask, see the badge and a quote, thumbs up, screenshots at
1300 px and 420 px, the answer streaming in, follow-up buttons, system fonts, and /docs with no network."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.servers import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "We already shot product footage and need to relight it for an evening look. Which model?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium "
        "(apt-get install -y chromium); Playwright's own browser download does not work here",
    ),
]



@contextmanager
def opened_page(url: str, width: int, height: int, route: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """A chromium page at `url` in a window of width x height (requests through `route` when given)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            if route is not None:
                context.route("**/*", route)
            page = context.new_page()
            page.goto(url)
            yield page
        finally:
            browser.close()

@pytest.fixture
def page_server(bot: Any, ingested_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """API + page in one app, with an API key set: the page must keep working without it."""
    from ui.serve import build_app

    feedback = tmp_path / "feedback" / "feedback.jsonl"  # parent does not exist yet: the page creates it
    settings = make_settings(ingested_dir, api_key="page-test-key", feedback_path=feedback)
    with running_server(build_app(settings, bot)) as url:
        yield url, feedback


def _wait_for_lines(path: Path, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The like event is written by the server after the click; poll the file until the line is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            if len(lines) >= count:
                return lines
        time.sleep(0.05)
    raise AssertionError(f"no feedback line in {path} after {timeout} s")


def test_ask_in_the_page_and_leave_feedback(page_server: tuple[str, Path], bot: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, feedback = page_server
    expected = bot.ask(QUESTION)
    assert expected.recommendation == "ray-3.2"
    with opened_page(url + "/", 1300, 1000) as page:
        box = page.locator("#ra-question textarea")
        box.fill(QUESTION)
        box.press("Enter")

        badge = page.locator("#ra-badge-text")
        expect(badge).to_have_text("Recommended: Ray 3.2", timeout=60_000)
        sources = page.locator("#ra-sources")
        first = expected.citations[0]
        answer = page.locator("#ra-chat .message-row").last
        expect(answer).to_contain_text("Ray 3.2")
        # The quote is shown once, in the answer; the sources panel says where it comes from.
        expect(answer).to_contain_text(" ".join(first.quote.split())[:60])
        expect(sources).to_contain_text(first.source)
        expect(sources).not_to_contain_text(" ".join(first.quote.split())[:60])

        # System fonts: every heading, button and the badge in one face that renders offline.
        fonts = page.evaluate("""() => ({
            families: ['h1', '#ra-ask', '#ra-badge-text'].map(
                s => getComputedStyle(document.querySelector(s)).fontFamily),
            bundled: [...document.fonts].filter(f => /Source Sans/.test(f.family) && f.status === 'loaded')
                .length })""")
        assert all(f.startswith("system-ui") for f in fonts["families"]), fonts
        assert fonts["bundled"] == 0, fonts
        # No "Use via API" link to Gradio's internal endpoints; the page links to the API docs instead.
        assert page.get_by_text("Use via API").count() == 0
        assert page.locator("a[href='/docs']").count() == 1

        page.locator("#ra-chat button[aria-label='Like']").last.click()
        lines = _wait_for_lines(feedback, 1)
        assert lines[-1]["liked"] is True
        assert lines[-1]["question"] == QUESTION and lines[-1]["recommendation"] == "ray-3.2"
        assert lines[-1]["answer"] == expected.answer and lines[-1]["timestamp"]

        shot = tmp_path / "ray-advisor-page.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copy(shot, "/tmp/ray-advisor-page-1300.png")

        # Example questions fill the box with one click.
        page.get_by_text("Is Ray 3.2 always better than Ray 3?").first.click()
        expect(box).to_have_value("Is Ray 3.2 always better than Ray 3?")


DEPENDS = "Is Ray 3.2 always better for production?"
WATCH_ANSWER = """() => {
    window.__texts = [];
    const chat = document.querySelector('#ra-chat');
    new MutationObserver(() => {
        const rows = chat.querySelectorAll('.message-row.bot-row, .message-row');
        const text = rows.length ? rows[rows.length - 1].innerText : '';
        if (window.__texts[window.__texts.length - 1] !== text) window.__texts.push(text);
    }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def test_phone_width_verdict_first_streaming_and_follow_ups(page_server: tuple[str, Path], bot: Any,
                                                              tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = page_server
    expected = bot.ask(DEPENDS)
    assert expected.recommendation == "depends" and expected.follow_ups
    with opened_page(url + "/", 420, 860) as page:
        box = page.locator("#ra-question textarea")
        expect(box).to_be_visible(timeout=30_000)
        # The placeholder fits its box (it was clipped at this width).
        fits = page.evaluate("""() => { const t = document.querySelector('#ra-question textarea');
            const ctx = document.createElement('canvas').getContext('2d'); const cs = getComputedStyle(t);
            ctx.font = cs.fontSize + ' ' + cs.fontFamily;
            const room = t.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
            return ctx.measureText(t.placeholder).width <= room; }""")
        assert fits
        page.evaluate(WATCH_ANSWER)
        box.fill(DEPENDS)
        box.press("Enter")

        badge = page.locator("#ra-badge-text")
        expect(badge).to_have_text("Recommended: It depends", timeout=60_000)
        # The verdict is seen first: above the conversation, on screen without scrolling.
        expect(badge).to_be_in_viewport(ratio=1.0)
        assert page.evaluate("window.scrollY") == 0
        badge_box, chat_box = badge.bounding_box(), page.locator("#ra-chat").bounding_box()
        assert badge_box and chat_box and badge_box["y"] < chat_box["y"]

        # Streaming: the answer grew over several updates before it was complete.
        final = " ".join(page.locator("#ra-chat .message-row").last.inner_text().split())
        texts = [" ".join(t.split()) for t in page.evaluate("window.__texts")]
        growing = [t for t in texts if t and t != final and len(t) > 3]
        assert len(growing) >= 2, texts
        assert "It depends" in final

        shot = tmp_path / "ray-advisor-page-420.png"
        page.screenshot(path=str(shot))
        shutil.copy(shot, "/tmp/ray-advisor-page-420.png")

        # One click on a follow-up sends it as the next turn and gets a definite answer.
        buttons = page.locator(".ra-follow-up")
        expect(buttons).to_have_count(2)
        expect(buttons.nth(0)).to_have_text(expected.follow_ups[0])
        page.get_by_role("button", name="We already have footage").click()
        expect(badge).to_have_text("Recommended: Ray 3.2", timeout=60_000)
        expect(page.locator("#ra-chat")).to_contain_text("We already have footage")
        expect(page.get_by_role("button", name="We already have footage")).to_be_hidden()
        # The chat stays scrolled to its last message: no "scroll down" arrow lies over it.
        expect(page.locator("#ra-chat .scroll-down-button-container button")).to_have_count(0)
        page.screenshot(path="/tmp/ray-advisor-page-420-follow-up.png", full_page=True)


def test_docs_render_swagger_ui_with_no_network(page_server: tuple[str, Path]) -> None:
    from playwright.sync_api import Route, expect

    url, _ = page_server
    blocked: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:  # anything else would need the internet: refuse it, and remember it was asked for
            blocked.append(route.request.url)
            route.abort()

    with opened_page(url + "/docs", 1300, 1000, route=local_only) as page:
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ray Advisor", timeout=30_000)
        expect(page.locator(".opblock-summary-path", has_text="/v1/ask")).to_be_visible()
        page.screenshot(path="/tmp/ray-advisor-docs.png")
    assert blocked == []
