"""The built leaderboard in a real headless Chromium (Debian's, driven by Playwright): pages load cleanly,
tables sort and filter, every internal link and image resolves; screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from dysts_bench.leaderboard.serve import serve_in_background

from .leaderboard_fixtures import build_test_site

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium: install Debian's chromium (`bash scripts/setup.sh --browser`) to run these")
# No network, no GPU, no first-run or background services: the browser only talks to our loopback server.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PAGES = ["index.html", "forecasters/nvar.html", "forecasters/reservoir.html", "systems/Lorenz.html",
         "systems/Thomas.html", "systems/index.html", "dataset.html", "analysis.html", "recovery.html"]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """The synthetic site served on a loopback port."""
    site = build_test_site(tmp_path_factory.mktemp("browser"))
    server, url = serve_in_background(site)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, uncaught exceptions and failed requests in `page.problems`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status}: {r.url}"))
    yield page
    context.close()


def _column(page, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr:not([hidden])", f"rows => rows.map(r => r.cells[{index}].innerText.trim())")


def test_pages_load_without_errors_and_all_images_render(page, base_url):
    failures = {}
    for rel in PAGES:
        page.goto(base_url + rel, wait_until="load")
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                               ".map(i => 'broken image ' + i.src)")
        if broken or page.problems:
            failures[rel] = broken + page.problems
        page.problems.clear()
    assert failures == {}


def test_every_internal_link_and_image_resolves(page, base_url):
    seen: set[str] = set()
    queue = [base_url + "index.html"]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = page.request.get(url)
        assert response.status == 200, url
        if not url.endswith(".html"):
            continue
        page.goto(url)
        targets = page.eval_on_selector_all("a[href], img[src], link[href], script[src]",
                                            "els => els.map(e => e.href || e.src)")
        queue += [t.split("#")[0] for t in targets if t.startswith(base_url)]
    assert {base_url + p for p in PAGES} <= seen
    assert page.problems == []


def test_clicking_a_header_sorts_the_table(page, base_url):
    page.goto(base_url + "index.html")
    assert _column(page, "board-0", 1) == ["reservoir", "nvar", "persistence"]    # ranked by median VPT
    header = page.locator("#board-0 thead th", has_text="Forecaster")
    header.click()
    assert _column(page, "board-0", 1) == ["nvar", "persistence", "reservoir"]
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _column(page, "board-0", 1) == ["reservoir", "persistence", "nvar"]
    smape_header = page.locator("#board-0 thead th").nth(8)
    assert smape_header.inner_text().startswith("sMAPE")
    smape_header.click()   # lower is better: ascending first
    smape = [float(v) for v in _column(page, "board-0", 8)]
    assert smape == sorted(smape)
    assert page.problems == []


def test_undefined_values_sort_last_and_the_filter_hides_rows(page, base_url):
    page.goto(base_url + "forecasters/nvar.html")
    vpt = page.locator("#per-system thead th", has_text="VPT ↑")
    for _ in range(2):   # descending, then ascending: Thomas (no successful forecast) stays last
        vpt.click()
        assert _column(page, "per-system", 0)[-1] == "Thomas"
    page.fill("input[data-filter='per-system']", "ross")
    assert _column(page, "per-system", 0) == ["Rossler"]
    assert page.inner_text("[data-count-for='per-system']") == "1 row"
    assert page.problems == []


def test_screenshots_are_kept_as_artifacts(page, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    for rel, name in [("index.html", "leaderboard-index.png"), ("systems/Lorenz.html", "leaderboard-system.png"),
                      ("forecasters/nvar.html", "leaderboard-forecaster.png"),
                      ("analysis.html", "leaderboard-analysis.png")]:
        page.goto(base_url + rel, wait_until="load")
        path = ARTIFACTS / name
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
    assert page.problems == []


def test_system_pages_show_error_growth_forecasts_and_long_runs(page, base_url):
    page.goto(base_url + "systems/Lorenz.html", wait_until="load")
    figures = page.eval_on_selector_all(
        "section.forecasts img", "imgs => imgs.map(i => [i.getAttribute('src'), i.alt, i.naturalWidth])")
    kinds = [src.rsplit("-", 1)[1] for src, _, _ in figures]
    assert kinds == ["error.svg", "forecast.png", "long.png"]
    assert all(width > 0 and "reservoir" in alt for _, alt, width in figures)
    assert page.locator("section.forecasts h3").all_inner_texts() == ["Error growth", "One forecast",
                                                                      "Long free runs"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("section.forecasts").screenshot(path=str(ARTIFACTS / "leaderboard-system-forecasts.png"))
    assert page.problems == []


def test_every_image_has_alt_text_and_nothing_loads_from_another_host(page, base_url):
    from urllib.parse import urlparse

    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    missing = {}
    for rel in PAGES:
        page.goto(base_url + rel, wait_until="load")
        unlabelled = page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.alt.trim()).map(i => i.src)")
        if unlabelled:
            missing[rel] = unlabelled
    assert missing == {}
    host = urlparse(base_url).netloc
    assert requested and {urlparse(u).netloc for u in requested} == {host}


def test_tables_sort_from_the_keyboard(page, base_url):
    page.goto(base_url + "index.html")
    page.locator("#board-0 thead th button", has_text="Forecaster").focus()
    page.keyboard.press("Enter")
    assert _column(page, "board-0", 1) == ["nvar", "persistence", "reservoir"]
    page.keyboard.press("Space")
    assert _column(page, "board-0", 1) == ["reservoir", "persistence", "nvar"]
    assert page.problems == []
