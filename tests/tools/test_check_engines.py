"""Differential test in Firefox and WebKit: ``crossorigin check --browser firefox|webkit``.

The same scenarios as ``test_check_chromium`` (the crossorigin-protected app and the common
mistakes of ``cors_apps``), run by ``fetch()`` in real Firefox (Marionette) and WebKitGTK
(WebKitWebDriver under Xvfb); the checker, with that engine's profile, must reach the same
verdict and the same list of readable response headers on every one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from crossorigin.browser import FIREFOX, WEBKIT, Profile
from tests.browser.engines import FirefoxBrowser, WebKitBrowser, missing
from tests.browser.harness import CHROMIUM
from tests.conftest import require

from .cors_apps import page_and_routers
from .test_check_chromium import FETCH, SCENARIOS, Scenario

pytestmark = [pytest.mark.browser, pytest.mark.server]

LAUNCHERS: dict[str, tuple[Profile, Callable[[], Any]]] = {
    "firefox": (FIREFOX, FirefoxBrowser.launch),
    "webkit": (WEBKIT, WebKitBrowser.launch),
}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with page_and_routers() as origins:
        yield origins


@pytest.fixture(scope="module", params=sorted(LAUNCHERS))
def engine_verdicts(
    request: pytest.FixtureRequest, servers: tuple[str, str]
) -> tuple[Profile, dict[str, dict[str, Any]]]:
    """Every scenario run once in one engine (one browser, one tab)."""
    name: Any = request.param
    why = missing(name, CHROMIUM)
    require(why is None, why or "")
    profile, launch = LAUNCHERS[name]
    page_origin, api = servers
    browser = launch()
    try:
        tab = browser.tab()
        tab.goto(page_origin + "/")
        verdicts = {
            str(scenario): tab.evaluate(
                FETCH,
                {
                    "url": api + scenario.path,
                    "method": scenario.method,
                    "headers": dict(scenario.headers),
                    "credentials": scenario.credentials,
                },
            )
            for scenario in SCENARIOS
        }
    finally:
        browser.close()
    assert len(verdicts) == len(SCENARIOS), "scenario labels must be unique"
    return profile, verdicts


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_checker_agrees_with_the_engine(
    scenario: Scenario,
    servers: tuple[str, str],
    engine_verdicts: tuple[Profile, dict[str, dict[str, Any]]],
) -> None:
    page_origin, api = servers
    profile, verdicts = engine_verdicts
    browser = verdicts[str(scenario)]
    report = scenario.checked(api, page_origin, profile)
    assert report.allowed is browser["allowed"], (profile.name, browser.get("error"))
    assert sorted(report.outcome.readable_header_names) == sorted(browser["headers"])
