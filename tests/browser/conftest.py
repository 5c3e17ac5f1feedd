"""Browser tests: Debian's Chromium driven by Playwright (no browser download), sites built once.

Needs ``apt-get install chromium-headless-shell fonts-noto-cjk`` and the ``playwright`` Python
package. The headless shell is Chromium's engine without the browser's own interface, what
Playwright itself runs for headless tests; the full ``chromium`` in its new headless mode took
144 s of the machine's CPU for the browser tests where the shell takes 105 s (docs/benchmarks.md).
Screenshots go to ``test-artifacts/`` at the repository root (gitignored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from koarena.bench import Bench
from koarena.report import build_report
from koarena.report.serve import make_server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BENCH = "ko-arena-hard-v0.1"
ROUNDS = 20


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Module scope, not session: Playwright's sync API keeps an asyncio loop running while it is
# open, and any later test that calls asyncio.run() would then fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium-headless-shell fonts-noto-cjk")
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def full_site(
    full_bench: Bench,
    tmp_path_factory: pytest.TempPathFactory,
    profiles_once: Callable[[], AbstractContextManager[None]],
) -> Path:
    """The site of the whole shared benchmark, built once (few bootstrap rounds: CIs only)."""
    site = tmp_path_factory.mktemp("full-site")
    with profiles_once():
        build_report(full_bench, site, rounds=ROUNDS, seed=42)
    return site


@pytest.fixture(scope="session")
def full_site_url(full_site: Path) -> Iterator[str]:
    """The full site served by `koarena serve`'s server on a free loopback port."""
    server = make_server(full_site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host!s}:{port}"
    server.shutdown()
    server.server_close()
    thread.join()
