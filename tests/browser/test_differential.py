"""The differential comparison itself: it runs against the live server, and it can fail.

Every ``fetch()`` of the suite is compared with ``crossorigin check`` (harness.py,
``compare_with_checker``); these tests show the comparison is not a formality: it catches a
checker applying the wrong rules, a wrong list of readable headers and a preflight the
browser did not send, and the checker's own requests never reach the tests' logs.
"""

from __future__ import annotations

import dataclasses

import pytest

from crossorigin.browser import CHROMIUM, SPEC
from crossorigin.tools.check import USER_AGENT

from .conftest import OpenTab
from .harness import (
    EXPOSED_VALUE,
    Adapter,
    ApiServer,
    PageServers,
    checker_request,
    compare_with_checker,
    fetch,
)
from .test_deviation import star_headers_app

pytestmark = pytest.mark.browser

AUTHORIZATION = {"Authorization": "Bearer t0ken"}


def test_checker_requests_stay_out_of_the_log(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page], allow_methods=["PUT"])
    page = open_tab(pages.page)
    assert fetch(page, route.url(), method="PUT", body="a").body == "PUT #1 a"
    # The app's counter ignores the checker's PUT too: this is the browser's second.
    assert fetch(page, route.url(), method="PUT", body="b").body == "PUT #2 b"
    assert [e.method for e in route.log] == ["OPTIONS", "PUT", "PUT"]
    assert all(e.headers["user-agent"] != USER_AGENT for e in route.log)
    # The checker really asked the live route, each time in full: it never caches.
    assert [e.method for e in route.checker_log] == ["OPTIONS", "PUT"] * 2
    assert all(e.headers["user-agent"] == USER_AGENT for e in route.checker_log)
    assert all(e.headers["origin"] == pages.page for e in route.checker_log)


def test_checker_under_the_wrong_rules_is_caught(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    """Stock Chromium lets ``Allow-Headers: *`` cover Authorization; the standard does not."""
    route = apis["asgi"].mount_raw(star_headers_app)
    result = fetch(open_tab(pages.page), route.url(), headers=AUTHORIZATION)  # CHROMIUM: agrees
    assert result.ok
    request = checker_request(result.origin, route.url(), "GET", AUTHORIZATION, None, None)
    with pytest.raises(AssertionError, match="browser allowed it, the checker says blocked"):
        compare_with_checker(result, request, SPEC)


def test_wrong_readable_headers_are_caught(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    route = apis["wsgi"].mount(allow_origins=[pages.page], expose_headers=["X-Exposed"])
    result = fetch(open_tab(pages.page), route.url())
    assert result.headers["x-exposed"] == EXPOSED_VALUE
    request = checker_request(result.origin, route.url(), "GET", None, None, None)
    compare_with_checker(result, request, CHROMIUM)  # the truth passes again
    hidden_too = dataclasses.replace(result, headers={**result.headers, "x-hidden": "?"})
    with pytest.raises(AssertionError, match="readable headers"):
        compare_with_checker(hidden_too, request, CHROMIUM)


def test_a_preflight_the_browser_did_not_send_is_caught(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    route = apis["asgi"].mount(allow_origins=[pages.page], allow_headers=["X-Trace-Id"])
    before = len(route.log)
    result = fetch(open_tab(pages.page), route.url())
    assert result.ok
    wire = (route.log[:before], route.log[before:])
    # Same verdict, but this request would have needed a preflight the browser never sent.
    traced = checker_request(result.origin, route.url(), "GET", {"X-Trace-Id": "1"}, None, None)
    with pytest.raises(AssertionError, match="preflights: browser asked"):
        compare_with_checker(result, traced, CHROMIUM, wire)
