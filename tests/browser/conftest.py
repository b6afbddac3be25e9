"""Fixtures for the headless Chromium suite: one browser per session, one context per test.

Chromium is Debian's (``/usr/bin/chromium``, or ``CROSSORIGIN_CHROMIUM``), driven by
Playwright's Python package; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from crossorigin.browser import CHROMIUM as CHROMIUM_RULES
from crossorigin.browser import SPEC
from tests.conftest import IN_CI, require

from .harness import (
    ADAPTERS,
    DIFFERENTIAL,
    HOST_RESOLVER_RULES,
    Adapter,
    ApiServer,
    PageServers,
    register_browser,
    servers,
    unregister_browser,
)

CHROMIUM = os.environ.get("CROSSORIGIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
INSTALL_HINT = (
    f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install chromium` "
    "(or set CROSSORIGIN_CHROMIUM=/path/to/chromium) to run the browser suite"
)


def _chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


# Chromium keeps only the last --enable-features switch, so this one replaces Playwright's
# own list (screenshot and sign-in tweaks this suite does not need).
STANDARD_HEADERS_FEATURE = "--enable-features=CorsNonWildcardRequestHeadersSupport"

_versions: dict[str, str] = {}


def _launch(driver: Playwright, *extra: str) -> Browser:
    return driver.chromium.launch(
        executable_path=CHROMIUM, args=[HOST_RESOLVER_RULES, *extra], timeout=30_000
    )


# Package scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def driver() -> Iterator[Playwright]:
    require(_chromium_available(), INSTALL_HINT)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(
    driver: Playwright, record_testsuite_property: Callable[[str, object], None]
) -> Iterator[Browser]:
    launched = _launch(driver)
    _versions["Chromium"] = launched.version
    record_testsuite_property("chromium_version", launched.version)
    register_browser(launched, CHROMIUM_RULES)
    yield launched
    unregister_browser(launched)
    launched.close()


@pytest.fixture(scope="package")
def standard_browser(driver: Playwright) -> Iterator[Browser]:
    """A second Chromium with the Fetch standard's rule for ``Allow-Headers: *`` restored."""
    launched = _launch(driver, STANDARD_HEADERS_FEATURE)
    _versions["Chromium (standard headers)"] = launched.version
    # Its one difference from stock Chromium is the standard's Allow-Headers rule.
    register_browser(launched, SPEC)
    yield launched
    unregister_browser(launched)
    launched.close()


@pytest.fixture(scope="package")
def loopback() -> Iterator[tuple[PageServers, dict[Adapter, ApiServer]]]:
    with servers() as running:
        yield running


@pytest.fixture(scope="package")
def pages(loopback: tuple[PageServers, dict[Adapter, ApiServer]]) -> PageServers:
    return loopback[0]


@pytest.fixture(scope="package")
def apis(loopback: tuple[PageServers, dict[Adapter, ApiServer]]) -> dict[Adapter, ApiServer]:
    return loopback[1]


@pytest.fixture(params=ADAPTERS)
def api(request: pytest.FixtureRequest, apis: dict[Adapter, ApiServer]) -> ApiServer:
    """The API server of one adapter: every scenario runs once through each middleware."""
    return apis[request.param]


def _fresh_context(launched: Browser) -> BrowserContext:
    context = launched.new_context()
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: empty cookie jar, preflight cache and HTTP cache."""
    fresh = _fresh_context(browser)
    yield fresh
    fresh.close()


OpenPage = Callable[[str], Page]


def _opener(context: BrowserContext) -> OpenPage:
    """Show a blank page served from ``origin``.

    One tab is reused (opening one costs three navigations), and it is navigated only when
    it shows another URL: what matters to a fetch is the origin of the document it runs in.
    """
    tabs: list[Page] = []

    def opener(origin: str) -> Page:
        if not tabs:
            tabs.append(context.new_page())
        tab = tabs[0]
        if tab.url != origin + "/":
            tab.goto(origin + "/")
        return tab

    return opener


@pytest.fixture
def open_page(context: BrowserContext) -> OpenPage:
    return _opener(context)


@pytest.fixture
def open_standard_page(standard_browser: Browser) -> Iterator[OpenPage]:
    """Like ``open_page``, in the Chromium that follows the standard on ``Allow-Headers: *``."""
    fresh = _fresh_context(standard_browser)
    yield _opener(fresh)
    fresh.close()


_not_run: list[int] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium (locally), leave the browser suite out with one line saying why.

    In CI nothing is left out: the ``driver`` fixture then fails every browser test.
    """
    if IN_CI or _chromium_available():
        return
    here = Path(__file__).parent
    browser_items = [item for item in items if here in item.path.parents]
    if browser_items:
        items[:] = [item for item in items if here not in item.path.parents]
        config.hook.pytest_deselected(items=browser_items)
        _not_run.append(len(browser_items))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Name the browser before the run, as a report header line would."""
    here = Path(__file__).parent
    if not any(here in item.path.parents for item in session.items):
        return
    try:
        shown = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError as error:
        shown = f"cannot run {CHROMIUM}: {error}"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"browser: {shown or 'unknown version'} ({CHROMIUM})")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _not_run:
        terminalreporter.write_line(
            f"SKIPPED the browser suite ({sum(_not_run)} tests): {INSTALL_HINT}", yellow=True
        )
    if _versions:
        shown = ", ".join(f"{name} {version}" for name, version in _versions.items())
        terminalreporter.write_line(f"browser suite ran in: {shown} ({CHROMIUM})")
    if DIFFERENTIAL.compared or DIFFERENTIAL.exempted:
        exempted = sum(DIFFERENTIAL.exempted.values())
        terminalreporter.write_line(
            f"crossorigin check agreed with Chromium on {DIFFERENTIAL.compared} fetches; "
            f"{exempted} not compared"
            + "".join(f"\n  {n} x {why}" for why, n in sorted(DIFFERENTIAL.exempted.items()))
        )
