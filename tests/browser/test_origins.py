"""Which page origins may read the API: exact, other, '*', localhost, patterns, regex, null.

Every refused simple request is also checked in the server's log: it *arrived* (the
browser sends it and only hides the response), which is why CORS is no CSRF defence.
"""

from __future__ import annotations

import pytest

from .conftest import OpenTab
from .harness import ApiServer, PageServers, Route, fetch

pytestmark = pytest.mark.browser

ACAO = "access-control-allow-origin"


def assert_read(open_tab: OpenTab, route: Route, origin: str) -> None:
    """A page on ``origin`` can read the API; the server saw that Origin and granted it."""
    before = len(route.log)
    result = fetch(open_tab(origin), route.url())
    assert result.ok, f"{origin} should be allowed: {result}"
    assert result.status == 200
    assert result.body is not None
    assert result.body.startswith("GET #")
    [entry] = route.log[before:]
    assert entry.headers["origin"] == origin
    assert entry.response_headers[ACAO] in (origin, "*")


def assert_refused(open_tab: OpenTab, route: Route, origin: str) -> None:
    """The browser rejects the fetch, yet the simple request did reach the server."""
    before = len(route.log)
    result = fetch(open_tab(origin), route.url())
    assert result.blocked, f"{origin} should be refused: {result}"
    [entry] = route.log[before:]
    assert entry.method == "GET"
    assert entry.headers["origin"] == origin
    assert ACAO not in entry.response_headers
    assert entry.response_headers["vary"] == "Origin"


def test_exact_origin_is_allowed(api: ApiServer, pages: PageServers, open_tab: OpenTab) -> None:
    route = api.mount(allow_origins=[pages.page])
    result = fetch(open_tab(pages.page), route.url())
    assert result.ok
    assert result.status == 200
    assert result.body == "GET #1"
    [entry] = route.log
    assert not entry.is_preflight
    assert entry.headers["origin"] == pages.page
    assert entry.response_headers[ACAO] == pages.page
    assert entry.response_headers["vary"] == "Origin"


def test_other_origin_is_refused(api: ApiServer, pages: PageServers, open_tab: OpenTab) -> None:
    route = api.mount(allow_origins=[pages.page], allow_methods=["PUT"])
    assert_refused(open_tab, route, pages.other)
    # A request needing a preflight never reaches the app: the preflight is refused.
    result = fetch(open_tab(pages.other), route.url(), method="PUT", body="x")
    assert result.blocked
    assert [(e.method, e.status) for e in route.log] == [("GET", 200), ("OPTIONS", 403)]
    assert ACAO not in route.log[-1].response_headers


def test_public_policy_allows_any_origin(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=["*"])
    for origin in (pages.page, pages.other, pages.at("anyone.test")):
        assert_read(open_tab, route, origin)
    assert [e.response_headers[ACAO] for e in route.log] == ["*", "*", "*"]
    # A constant '*' does not depend on the request, so nothing varies on Origin.
    assert all("vary" not in e.response_headers for e in route.log)


def test_localhost_and_127_0_0_1_are_different_origins(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.localhost])
    assert_read(open_tab, route, pages.localhost)
    assert_refused(open_tab, route, pages.page)
    numeric = api.mount(allow_origins=[pages.page])
    assert_read(open_tab, numeric, pages.page)
    assert_refused(open_tab, numeric, pages.localhost)


def test_subdomain_pattern(api: ApiServer, pages: PageServers, open_tab: OpenTab) -> None:
    route = api.mount(allow_origins=[f"http://*.app.test:{pages.port}"])
    for host in ("a.app.test", "deep.b.app.test"):
        assert_read(open_tab, route, pages.at(host))
    for origin in (
        pages.at("app.test"),  # the bare domain is not a subdomain of itself
        pages.at("evilapp.test"),
        pages.at("a.app.test.evil.test"),
        pages.at("a.app.test", pages.second_port),  # the pattern names one port
    ):
        assert_refused(open_tab, route, origin)


def test_subdomain_pattern_any_port(api: ApiServer, pages: PageServers, open_tab: OpenTab) -> None:
    route = api.mount(allow_origins=["http://*.app.test:*"])
    assert_read(open_tab, route, pages.at("a.app.test"))
    assert_read(open_tab, route, pages.at("a.app.test", pages.second_port))
    assert_refused(open_tab, route, pages.at("a.other.test"))


def test_regex_origin(api: ApiServer, pages: PageServers, open_tab: OpenTab) -> None:
    route = api.mount(allow_origin_regex=r"http://(alpha|beta)\.app\.test:\d+")
    assert_read(open_tab, route, pages.at("alpha.app.test"))
    assert_read(open_tab, route, pages.at("beta.app.test", pages.second_port))
    assert_refused(open_tab, route, pages.at("gamma.app.test"))
    # Full match: a matching prefix is not enough.
    assert_refused(open_tab, route, pages.at("alpha.app.test.evil.test"))


def test_null_origin_is_refused_unless_listed(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    unlisted = api.mount(allow_origins=[pages.page])
    listed = api.mount(allow_origins=[pages.page, "null"])
    frame = open_tab(pages.page).sandboxed_frame()

    refused = fetch(frame, unlisted.url())
    assert refused.blocked
    [entry] = unlisted.log
    assert entry.headers["origin"] == "null"
    assert ACAO not in entry.response_headers

    allowed = fetch(frame, listed.url())
    assert allowed.ok
    assert allowed.body == "GET #1"
    [entry] = listed.log
    assert entry.headers["origin"] == "null"
    assert entry.response_headers[ACAO] == "null"
