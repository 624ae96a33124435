"""The HTML report in a real headless Chromium (Debian's build, driven by Playwright).

Every request the page makes is routed: only the page's own file is served, anything else is
recorded and refused, so a page that needs the network fails here. Console errors and page
errors fail the test. Each test saves a screenshot under its tmp folder and prints the path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import report_testkit as rk
from osiris.report.site import write_reports
from osiris.session import list_sessions

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install chromium (scripts/setup.sh does it as root) and pip install playwright"


@pytest.fixture(scope="module")
def browser():
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing"
    if problem:
        message = f"{problem}: {INSTALL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("OSIRIS_HOME", "REPORT_ROWS", "OSIRIS_LOGS_DIR"):
        monkeypatch.delenv(name, raising=False)


class Visit:
    """A page opened offline, with every request and error it produced."""

    def __init__(self, browser, path: Path, *, allowed: tuple[Path, ...] = ()) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        served = {p.resolve().as_uri() for p in (path, *allowed)}

        def route(request_route):
            url = request_route.request.url
            self.requests.append(url)
            if url.split("#")[0] in served:
                request_route.continue_()
            else:
                request_route.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri())
        self.url = path.resolve().as_uri()

    def screenshot(self, tmp_path: Path, name: str) -> Path:
        target = tmp_path / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        print(f"screenshot: {target}")
        return target

    def close(self) -> None:
        self.context.close()


def _pages(tmp_path: Path) -> dict[str, Path]:
    logs = tmp_path / "logs"
    written = write_reports(logs, list_sessions(logs), tmp_path / "site")
    return {p.stem: p for p in written.pages} | {"index": written.index}


def test_run_report_offline(browser, tmp_path):
    result = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    path = _pages(tmp_path)[result.session_id]
    visit = Visit(browser, path)
    page = visit.page
    try:
        assert visit.requests == [visit.url], visit.requests  # nothing but the file itself
        assert page.locator("#run-status").inner_text() == "succeeded"
        steps = page.locator("#steps-table tbody tr")
        names = [steps.nth(i).locator("td").first.inner_text() for i in range(steps.count())]
        assert names == ["read-a", "read-b", "write-a", "write-b", "count-b"]
        rows = page.locator("#step-write-b td.rows-out").inner_text()
        assert rows == "1,234"
        assert page.locator("svg.dag a.dag-node").count() == 5
        assert page.locator("svg.gantt g.gantt-row").count() == 5
        events = len((result.session_dir / "events.jsonl").read_text().splitlines())
        assert page.locator("#events-table tbody tr").count() == events
        assert page.locator("#ev-count").inner_text() == f"{events} events"
        page.select_option("#ev-step", "write-a")
        cells = page.locator("#events-table tbody tr td:nth-child(4)").all_inner_texts()
        assert cells and set(cells) == {"write-a"}
        page.fill("#ev-search", "rows_verified-does-not-occur")
        assert page.locator("#events-table tbody tr").count() == 0
        visit.screenshot(tmp_path, "run-report")
        assert visit.errors == []
        assert visit.requests == [visit.url]
    finally:
        visit.close()


def test_failed_run_report_points_at_the_failing_step(browser, tmp_path):
    hostile = "</script><script>window.pwned=1</script> disk quota exceeded"
    result = rk.compile_and_run(rk.branches_oml(tmp_path, fail=hostile), tmp_path / "logs")
    visit = Visit(browser, _pages(tmp_path)[result.session_id])
    page = visit.page
    try:
        failure = page.locator("#failure")
        assert failure.is_visible()
        box = failure.bounding_box()
        assert box is not None and box["y"] < 400  # at the top, under the header
        assert page.locator("#failed-step").inner_text() == "read-b"
        assert "disk quota exceeded" in failure.inner_text()
        assert "</script><script>window.pwned=1</script>" in failure.inner_text()  # shown as text
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.locator("#run-status").inner_text() == "failed"
        assert page.locator("#step-write-b .badge").inner_text() == "skipped"
        page.click("#failure a[data-step-events]")
        cells = page.locator("#events-table tbody tr td:nth-child(4)").all_inner_texts()
        assert cells and set(cells) == {"read-b"}
        assert "step_error" in page.locator("#events-table tbody").inner_text()
        visit.screenshot(tmp_path, "failed-run-report")
        assert visit.errors == []
        assert visit.requests == [visit.url]
    finally:
        visit.close()


def test_index_lists_sessions_and_opens_one_with_the_keyboard(browser, tmp_path):
    good = rk.compile_and_run(rk.branches_oml(tmp_path), tmp_path / "logs")
    bad = rk.compile_and_run(rk.branches_oml(tmp_path, fail="boom"), tmp_path / "logs")
    pages = _pages(tmp_path)
    visit = Visit(browser, pages["index"], allowed=(pages[good.session_id], pages[bad.session_id]))
    page = visit.page
    try:
        text = page.locator("#sessions").inner_text()
        assert good.session_id in text and bad.session_id in text
        page.fill("#session-filter", "failed")
        visible = page.locator("#sessions tbody tr:visible")
        assert visible.count() == 1 and bad.session_id in visible.inner_text()
        visit.screenshot(tmp_path, "index")
        page.keyboard.press("Escape")
        page.keyboard.press("j")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == pages[bad.session_id].resolve().as_uri()
        assert page.locator("#failed-step").inner_text() == "read-b"
        assert visit.errors == []
        assert {u.split("#")[0] for u in visit.requests} <= {
            pages[k].resolve().as_uri() for k in ("index", good.session_id, bad.session_id)
        }
    finally:
        visit.close()


def test_chat_session_page(browser, tmp_path):
    with rk.chat_session() as session:
        written = write_reports(session.dir.parent, list_sessions(session.dir.parent), tmp_path)
        visit = Visit(browser, written.pages[0])
    try:
        conversation = visit.page.locator("#conversation")
        assert "copy movies to supabase" in conversation.inner_text()
        assert "name: movies" in conversation.inner_text()
        visit.screenshot(tmp_path, "chat-session")
        assert visit.errors == []
        assert visit.requests == [visit.url]
    finally:
        visit.close()
