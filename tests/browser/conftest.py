"""Fixtures for the browser suite: one browser per engine per session.

Chromium is Debian's (``/usr/bin/chromium``, or ``CROSSORIGIN_CHROMIUM``), driven by
Playwright's Python package; Playwright's own browser downloads are never used. Firefox
(``firefox-esr``, Marionette) and WebKit (``WebKitWebDriver``, under Xvfb) come from
``engines.py``.

Two families of fixtures:

- ``engine`` / ``open_tab``: the engine-neutral ones. A test asking for them runs once per
  engine (Chromium, Firefox, WebKit), through the same code; ``open_tab(origin)`` gives a
  :class:`~tests.browser.engines.Tab` showing a page of that origin.
- ``browser`` / ``context`` / ``open_page``: Chromium only, as Playwright objects (kept for
  tests that need Playwright itself).
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from crossorigin.browser import CHROMIUM as CHROMIUM_RULES
from crossorigin.browser import FIREFOX as FIREFOX_RULES
from crossorigin.browser import SPEC
from crossorigin.browser import WEBKIT as WEBKIT_RULES
from tests.conftest import IN_CI, require

from .engines import (
    ENGINES,
    EngineName,
    FirefoxBrowser,
    PlaywrightTab,
    Tab,
    WebKitBrowser,
    missing,
)
from .harness import (
    ADAPTERS,
    CHROMIUM,
    CONSOLE,
    DIFFERENTIAL,
    INSTALL_HINT,
    STANDARD_HEADERS_FEATURE,
    Adapter,
    ApiServer,
    PageServers,
    chromium_available,
    launch_chromium,
    register_browser,
    register_engine,
    servers,
    unregister_browser,
)

_versions: dict[str, str] = {}


# Package scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def driver() -> Iterator[Playwright]:
    require(chromium_available(), INSTALL_HINT)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(
    driver: Playwright, record_testsuite_property: Callable[[str, object], None]
) -> Iterator[Browser]:
    launched = launch_chromium(driver)
    _versions["Chromium"] = launched.version
    record_testsuite_property("chromium_version", launched.version)
    register_browser(launched, CHROMIUM_RULES)
    yield launched
    unregister_browser(launched)
    launched.close()


@pytest.fixture(scope="package")
def standard_browser(driver: Playwright) -> Iterator[Browser]:
    """A second Chromium with the Fetch standard's rule for ``Allow-Headers: *`` restored."""
    launched = launch_chromium(driver, STANDARD_HEADERS_FEATURE)
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


# --- every engine ------------------------------------------------------------------------------


def _launch_engine(name: EngineName) -> FirefoxBrowser | WebKitBrowser:
    why = missing(name, CHROMIUM)
    require(why is None, why or "")
    if name == "firefox":
        firefox = FirefoxBrowser.launch()
        _versions["Firefox"] = firefox.version
        register_engine("firefox", FIREFOX_RULES)
        return firefox
    webkit = WebKitBrowser.launch()
    _versions["WebKitGTK"] = webkit.version
    register_engine("webkit", WEBKIT_RULES)
    return webkit


@dataclass
class Engine:
    """One running browser engine, as the scenarios see it."""

    name: EngineName
    version: str
    _fresh: Callable[[], tuple[Tab, Callable[[], None]]]

    def fresh(self) -> tuple[Tab, Callable[[], None]]:
        """A tab with no cookies, and what ends it after the test."""
        return self._fresh()


def _shared_tab_engine(name: EngineName, launched: FirefoxBrowser | WebKitBrowser) -> Engine:
    """Firefox and WebKit: one tab for the session, its cookies cleared after each test."""
    tab = launched.tab()
    return Engine(name, launched.version, lambda: (tab, launched.clear_cookies))


# Package scope, and parametrised: pytest runs every test of one engine before launching the
# next, and ends Firefox before WebKit starts (Chromium lives for the package: the Playwright
# fixtures share it).
#
# Every engine keeps one tab for all its tests (a fresh Chromium context per test costs about
# as much as the test): the preflight and HTTP caches cannot leak between tests, since every
# test mounts its policies under URLs of its own, and cookies are cleared after each test.
@pytest.fixture(scope="package", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    name = cast(EngineName, request.param)
    if name != "chromium":
        launched = _launch_engine(name)
        try:
            yield _shared_tab_engine(name, launched)
        finally:
            launched.close()
        return
    chromium: Browser = request.getfixturevalue("browser")
    context = _fresh_context(chromium)
    tab = PlaywrightTab(context.new_page())
    yield Engine("chromium", chromium.version, lambda: (tab, context.clear_cookies))
    context.close()


OpenTab = Callable[[str], Tab]

# Firefox's switch for the standard's rule on 'Access-Control-Allow-Headers: *'.
FIREFOX_STANDARD_HEADERS = {"network.cors_preflight.authorization_covered_by_wildcard": False}


@pytest.fixture
def standard_firefox_tab() -> Iterator[Tab]:
    """A second Firefox, with the standard's ``Allow-Headers: *`` rule (checked under SPEC)."""
    why = missing("firefox", CHROMIUM)
    require(why is None, why or "")
    launched = FirefoxBrowser.launch(FIREFOX_STANDARD_HEADERS)
    launched.rules = SPEC
    try:
        yield launched.tab()
    finally:
        launched.close()


@pytest.fixture
def open_tab(engine: Engine) -> Iterator[OpenTab]:
    """Show a blank page served from ``origin`` in this test's tab of ``engine``.

    The tab is navigated only when it shows another URL: what matters to a fetch is the
    origin of the document it runs in.
    """
    tab, done = engine.fresh()

    def opener(origin: str) -> Tab:
        if tab.url != origin + "/":
            tab.goto(origin + "/")
        return tab

    yield opener
    done()


_not_run: list[int] = []


_not_run_by_engine: dict[EngineName, int] = defaultdict(int)


def _engine_of(item: pytest.Item) -> EngineName:
    """The engine a browser test drives: its ``engine`` parameter, else Chromium."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = callspec.params if callspec is not None else {}
    return cast(EngineName, params.get("engine", "chromium"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Locally, leave out the tests of each missing engine, with one line saying why.

    In CI nothing is left out: the engine's fixture then fails every one of its tests.
    """
    if IN_CI:
        return
    here = Path(__file__).parent
    absent = {name for name in ENGINES if missing(name, CHROMIUM) is not None}
    if not absent:
        return
    left_out = [item for item in items if here in item.path.parents and _engine_of(item) in absent]
    if left_out:
        items[:] = [item for item in items if item not in left_out]
        config.hook.pytest_deselected(items=left_out)
        _not_run.append(len(left_out))
        for item in left_out:
            _not_run_by_engine[_engine_of(item)] += 1


# Per engine; "other" holds the tests not run through the ``engine`` fixture (Chromium-only
# Playwright tests, the second Firefox, the machinery's own tests).
_seconds_by_engine: dict[str, float] = defaultdict(float)
_tests_by_engine: dict[str, int] = defaultdict(int)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path, _, name = report.nodeid.partition("::")
    if not path.startswith("tests/browser/"):
        return
    ids = name.partition("[")[2].rstrip("]").split("-")
    engine = next((e for e in ENGINES if e in ids), "other")
    _seconds_by_engine[engine] += report.duration
    if report.when == "call":
        _tests_by_engine[engine] += 1


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
    for name, count in sorted(_not_run_by_engine.items()):
        terminalreporter.write_line(
            f"SKIPPED {count} browser tests in {name}: {missing(name, CHROMIUM)}", yellow=True
        )
    if _versions:
        shown = ", ".join(f"{name} {version}" for name, version in _versions.items())
        terminalreporter.write_line(f"browser suite ran in: {shown}")
    if _seconds_by_engine:
        terminalreporter.write_line(
            "browser suite time per engine (setup + call + teardown): "
            + ", ".join(
                f"{name} {_tests_by_engine[name]} tests {seconds:.1f} s"
                for name, seconds in sorted(_seconds_by_engine.items())
            )
        )
    if DIFFERENTIAL.compared or DIFFERENTIAL.exempted:
        exempted = sum(DIFFERENTIAL.exempted.values())
        per_rules = ", ".join(f"{n} under {p}" for p, n in sorted(DIFFERENTIAL.by_profile.items()))
        terminalreporter.write_line(
            f"crossorigin check agreed with the browser on {DIFFERENTIAL.compared} fetches "
            f"({per_rules}); {exempted} not compared"
            + "".join(f"\n  {n} x {why}" for why, n in sorted(DIFFERENTIAL.exempted.items()))
        )
    if CONSOLE:
        from .console_corpus import report_unknown

        for line in report_unknown(CONSOLE, dict(_versions)):
            terminalreporter.write_line(line, yellow=True)
