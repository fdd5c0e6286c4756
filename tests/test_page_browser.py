"""The chat page in Debian's chromium (Playwright): ask, see the badge and a quote, thumbs up, screenshot."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.servers import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
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


@pytest.fixture
def page_server(bot: Any, ingested_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """API + page in one app, with an API key set: the page must keep working without it."""
    from assistant.serve import build_app

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
    from playwright.sync_api import expect, sync_playwright

    url, feedback = page_server
    expected = bot.ask(QUESTION)
    assert expected.recommendation == "ray-3.2"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url + "/")
            box = page.locator("#ra-question textarea")
            box.fill(QUESTION)
            box.press("Enter")

            badge = page.locator("#ra-badge-text")
            expect(badge).to_have_text("Recommended: Ray 3.2", timeout=60_000)
            sources = page.locator("#ra-sources")
            first = expected.citations[0]
            expect(sources).to_contain_text(" ".join(first.quote.split())[:60])
            expect(sources).to_contain_text(first.source)
            answer = page.locator("#ra-chat .message-row").last
            expect(answer).to_contain_text("Ray 3.2")

            page.locator("#ra-chat button[aria-label='Like']").last.click()
            lines = _wait_for_lines(feedback, 1)
            assert lines[-1]["liked"] is True
            assert lines[-1]["question"] == QUESTION and lines[-1]["recommendation"] == "ray-3.2"
            assert lines[-1]["answer"] == expected.answer and lines[-1]["timestamp"]

            shot = tmp_path / "ray-advisor-page.png"
            page.screenshot(path=str(shot), full_page=True)
            shutil.copy(shot, "/tmp/ray-advisor-page.png")

            # Example questions fill the box with one click.
            page.get_by_text("Is Ray 3.2 always better than Ray 3?").first.click()
            expect(box).to_have_value("Is Ray 3.2 always better than Ray 3?")
        finally:
            browser.close()
