"""Differential test: ``crossorigin check`` reaches the same verdict as headless Chromium.

For every scenario (the crossorigin-protected app and the common mistakes of
``cors_apps``), a real Chromium runs ``fetch()`` from a page on one loopback origin against
the API on another; the checker, pointed at the same server with the page's origin, must
agree on allowed/blocked and on which response headers script can read. Chromium with
``CorsNonWildcardRequestHeadersSupport`` (the standard's rule for ``Allow-Headers: *``) is
compared with ``--browser spec``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from crossorigin.browser import CHROMIUM, SPEC, Profile, Request
from crossorigin.tools.check import Report, check
from tests.browser.harness import STANDARD_HEADERS_FEATURE, chromium

from .cors_apps import page_and_routers

pytestmark = [pytest.mark.browser, pytest.mark.server]


FETCH = """async ({url, method, headers, credentials}) => {
  try {
    const response = await fetch(url, {
      method, headers, credentials: credentials ? "include" : "same-origin", cache: "no-store"
    });
    return {allowed: true, headers: [...response.headers.keys()]};
  } catch (error) {
    return {allowed: false, headers: [], error: String(error)};
  }
}"""


@dataclass(frozen=True)
class Scenario:
    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    credentials: bool = False
    chromium_only: bool = False
    """Chromium deviates from the standard here even with the standard's header rule."""

    def __str__(self) -> str:
        extra = ",".join(f"{n}:{v[:10]}" for n, v in self.headers)
        return f"{self.method} {self.path} {extra}{' creds' if self.credentials else ''}".strip()

    def checked(self, api: str, page_origin: str, profile: Profile) -> Report:
        """What ``crossorigin check`` says of this fetch from ``page_origin``, as ``profile``."""
        request = Request(
            api + self.path, page_origin, self.method, self.headers, credentials=self.credentials
        )
        return check(request, profile=profile, probes=False)


AUTH = ("Authorization", "Bearer t")
JSON = ("Content-Type", "application/json")
SCENARIOS = [
    Scenario("/good/items"),
    Scenario("/good/items", credentials=True),
    Scenario("/good/items", "put", (JSON, AUTH), credentials=True),
    Scenario("/good/items", "PUT", (("X-Api-Key", "k"),)),
    Scenario("/good/items", "patch"),
    Scenario("/good/items", "POST", (("Content-Type", "text/plain;charset=UTF-8"),)),
    Scenario("/public/items"),
    Scenario("/public/items", credentials=True),
    Scenario("/public/items", headers=(("Accept", "a" * 129),)),  # over 128 bytes
    Scenario("/exposed/items"),
    Scenario("/exposed/items", headers=(("Range", "bytes=0-1"),)),
    Scenario("/none"),
    Scenario("/none", "DELETE"),
    Scenario("/star-credentials"),
    Scenario("/star-credentials", credentials=True),
    Scenario("/trailing-slash"),
    Scenario("/no-authorization", "PUT", (JSON,)),
    Scenario("/no-authorization", "PUT", (AUTH,)),
    Scenario("/two-acao"),
    Scenario("/redirecting-preflight", "PUT"),
    Scenario("/reflect", "PUT", (("X-A", "1"),), credentials=True),
    Scenario("/wildcard", "PATCH", (AUTH,)),  # the one Chromium deviation
    Scenario("/wildcard", "PATCH", (("X-A", "1"), ("Range", "bytes=-5"))),
    Scenario("/to-b"),  # cross-origin redirect: Origin becomes 'null'
    # Chromium safelists client hints with well-formed values; the standard does not.
    Scenario("/public/items", headers=(("DPR", "1.5"),), chromium_only=True),
    Scenario("/public/items", headers=(("Save-Data", "on"),), chromium_only=True),
    Scenario("/public/items", headers=(("ECT", "4g"), ("Width", "100")), chromium_only=True),
    Scenario("/public/items", headers=(("DPR", "2."),)),
    Scenario("/public/items", headers=(("Viewport-Width", "1.5"),)),
]


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[str, str]]:
    with page_and_routers() as origins:
        yield origins


@pytest.fixture(scope="module")
def chromium_verdicts(loopback: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """Every scenario run in stock Chromium and in Chromium with the standard's rule."""
    page_origin, api = loopback
    verdicts: dict[str, dict[str, Any]] = {}
    for label, extra in (("chromium", ()), ("spec", (STANDARD_HEADERS_FEATURE,))):
        with chromium(*extra) as browser:
            # One tab per browser: the preflight cache only holds what the server granted
            # for the same URL, so sharing it cannot change a verdict.
            tab = browser.new_context().new_page()
            tab.goto(page_origin + "/")
            for scenario in SCENARIOS:
                verdicts[f"{label} {scenario}"] = tab.evaluate(
                    FETCH,
                    {
                        "url": api + scenario.path,
                        "method": scenario.method,
                        "headers": dict(scenario.headers),
                        "credentials": scenario.credentials,
                    },
                )
    assert len(verdicts) == 2 * len(SCENARIOS), "scenario labels must be unique"
    return verdicts


@pytest.mark.parametrize("profile", [CHROMIUM, SPEC], ids=lambda p: p.name)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_checker_agrees_with_chromium(
    scenario: Scenario,
    profile: Profile,
    loopback: tuple[str, str],
    chromium_verdicts: dict[str, dict[str, Any]],
) -> None:
    page_origin, api = loopback
    browser = chromium_verdicts[f"{profile.name} {scenario}"]
    report = scenario.checked(api, page_origin, profile)
    if scenario.chromium_only and profile is SPEC:
        # The standard preflights these headers and /public allows none: blocked.
        assert browser["allowed"] is True
        assert report.allowed is False
        assert report.outcome.steps[0].kind == "preflight"
        return
    assert report.allowed is browser["allowed"], browser.get("error")
    assert list(report.outcome.readable_header_names) == browser["headers"]


def test_the_deviation_is_real(chromium_verdicts: dict[str, dict[str, Any]]) -> None:
    """Guard: the scenario that separates the profiles still separates the browsers."""
    deviation = str(Scenario("/wildcard", "PATCH", (AUTH,)))
    assert chromium_verdicts[f"chromium {deviation}"]["allowed"] is True
    assert chromium_verdicts[f"spec {deviation}"]["allowed"] is False
