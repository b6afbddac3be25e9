"""Each entry of the engine table (``deviations.py``) demonstrated, in every engine.

One test per entry, named after its key, run in Chromium, Firefox and WebKit: a listed engine
must show the deviation and an unlisted one must not. So the table cannot go stale: when an
engine changes, its test fails and names the entry to update (and docs/browser.md with it).
The responders here are hand-written (no crossorigin) where the point is the browser itself.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from crossorigin import ConfigError, CORSPolicy, RequestKind

from .conftest import Engine, OpenPage, OpenTab
from .deviations import BY_KEY, DEVIATIONS, deviates
from .engines import Tab
from .harness import Adapter, ApiServer, PageServers, fetch
from .test_caching import (
    CACHED_WITHOUT_VARY,
    FROM_HTTP_CACHE,
    WithoutVary,
    navigate_then_fetch,
)

pytestmark = pytest.mark.browser

AUTHORIZATION = {"Authorization": "Bearer t0ken"}


async def star_headers_app(scope: Any, receive: Any, send: Any) -> None:
    """A hand-written CORS responder (no crossorigin) granting ``Allow-Headers: *``."""
    origin = dict(scope["headers"]).get(b"origin", b"")
    headers = [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    if scope["method"] == "OPTIONS":
        headers.append((b"access-control-allow-headers", b"*"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"raw"})


def says(engine: Engine, key: str) -> str:
    entry = BY_KEY[key]
    listed = deviates(engine.name, key)
    return (
        f"{engine.name} {engine.version} {'no longer' if listed else 'now'} shows '{key}' "
        f"({entry.observed}): update deviations.py and docs/browser.md"
    )


def test_every_entry_has_its_demonstration() -> None:
    module = sys.modules[__name__]
    for entry in DEVIATIONS:
        assert callable(getattr(module, "test_" + entry.key.replace("-", "_"), None)), entry.key


def test_wildcard_covers_authorization(
    engine: Engine, apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    route = apis["asgi"].mount_raw(star_headers_app)
    result = fetch(open_tab(pages.page), route.url(), headers=AUTHORIZATION)
    assert result.ok is deviates(engine.name, "wildcard-covers-authorization"), says(
        engine, "wildcard-covers-authorization"
    )
    assert route.log[0].is_preflight
    assert route.log[0].headers["access-control-request-headers"] == "authorization"
    if result.ok:
        assert route.log[1].headers["authorization"] == "Bearer t0ken"
    else:
        assert len(route.log) == 1


def test_chromium_follows_the_standard_with_its_feature_switch(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_standard_page: OpenPage
) -> None:
    """``CorsNonWildcardRequestHeadersSupport`` gives Chromium the standard's rule (and SPEC)."""
    route = apis["asgi"].mount_raw(star_headers_app)
    result = fetch(open_standard_page(pages.page), route.url(), headers=AUTHORIZATION)
    assert result.blocked
    assert [e.method for e in route.log] == ["OPTIONS"]
    assert route.log[0].response_headers["access-control-allow-headers"] == "*"


def test_firefox_follows_the_standard_with_its_pref(
    apis: dict[Adapter, ApiServer], pages: PageServers, standard_firefox_tab: Tab
) -> None:
    """``network.cors_preflight.authorization_covered_by_wildcard=false`` (and SPEC) agree."""
    route = apis["asgi"].mount_raw(star_headers_app)
    standard_firefox_tab.goto(pages.page + "/")
    result = fetch(standard_firefox_tab, route.url(), headers=AUTHORIZATION)
    assert result.blocked
    assert [e.method for e in route.log] == ["OPTIONS"]


def test_client_hints_safelisted(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    # Public data, no request header allowed: only a request needing no preflight passes.
    route = api.mount(allow_origins=["*"])
    page = open_tab(pages.page)
    lenient = deviates(engine.name, "client-hints-safelisted")
    for headers in ({"DPR": "1.5"}, {"Save-Data": "on"}, {"ECT": "4g", "Width": "100"}):
        before = len(route.log)
        result = fetch(page, route.url(), headers=headers)
        sent = route.log[before:]
        assert result.ok is lenient, says(engine, "client-hints-safelisted")
        assert [e.method for e in sent] == (["GET"] if lenient else ["OPTIONS"])
    # A malformed value is unsafe everywhere.
    assert fetch(page, route.url(), headers={"DPR": "2."}).blocked
    assert route.log[-1].is_preflight


async def closing_app(scope: Any, receive: Any, send: Any) -> None:
    """Grants PUT with ``Max-Age: 600`` and closes the connection after every response."""
    origin = dict(scope["headers"]).get(b"origin", b"")
    headers = [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"connection", b"close"),
    ]
    if scope["method"] == "OPTIONS":
        headers += [(b"access-control-allow-methods", b"PUT"), (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"put"})


def test_no_preflight_cache_for_ip_hosts(
    engine: Engine, apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    """Every request on a new connection: IP-literal host against host name."""
    page = open_tab(pages.page)
    dropped = deviates(engine.name, "no-preflight-cache-for-ip-hosts")
    for host in ("127.0.0.1", "localhost"):
        route = apis["asgi"].mount_raw(closing_app)
        for _ in range(3):
            assert fetch(page, route.url(host=host), method="PUT", body="x").ok
        preflights = len([e for e in route.log if e.is_preflight])
        assert [e.method for e in route.log if not e.is_preflight] == ["PUT"] * 3
        # How many extra preflights depends on how the connections line up; one is enough.
        if dropped and host == "127.0.0.1":
            assert preflights > 1, (host, says(engine, "no-preflight-cache-for-ip-hosts"))
        else:
            assert preflights == 1, (host, says(engine, "no-preflight-cache-for-ip-hosts"))


def test_no_http_cache(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page])
    page = open_tab(pages.page)
    uncached = deviates(engine.name, "no-http-cache")
    assert fetch(page, route.url("cached")).body == "GET #1"
    again = fetch(page, route.url("cached"), checker_exempt=None if uncached else FROM_HTTP_CACHE)
    assert again.body == ("GET #2" if uncached else "GET #1"), says(engine, "no-http-cache")
    assert len(route.log) == (2 if uncached else 1)
    assert route.log[0].response_headers["cache-control"] == "max-age=600"


def test_refused_responses_cached(
    engine: Engine,
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A policy stripped of ``Vary``: page Q is refused, then page P (allowed) asks."""
    route = api.mount(allow_origins=[pages.page])
    monkeypatch.setattr(route.middleware, "policy", WithoutVary(route.middleware.policy))
    url = route.url("cached")
    assert fetch(open_tab(pages.other), url).blocked
    reused = deviates(engine.name, "refused-responses-cached")
    result = fetch(
        open_tab(pages.page), url, checker_exempt=CACHED_WITHOUT_VARY if reused else None
    )
    # Reused: P is served Q's refused response (no grant for P) and refused in turn.
    assert result.blocked is reused, says(engine, "refused-responses-cached")
    assert [e.headers["origin"] for e in route.log] == (
        [pages.other] if reused else [pages.other, pages.page]
    )


def test_navigation_entry_not_reused(
    engine: Engine,
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A policy stripped of ``Vary``: a navigation stores the URL, then a page fetches it."""
    route = api.mount(allow_origins=[pages.page])
    monkeypatch.setattr(route.middleware, "policy", WithoutVary(route.middleware.policy))
    read = navigate_then_fetch(route, pages, open_tab, engine, broken=True)
    fresh = deviates(engine.name, "navigation-entry-not-reused")
    assert read is fresh, says(engine, "navigation-entry-not-reused")
    assert [e.headers.get("origin") for e in route.log] == ([None, pages.page] if fresh else [None])


def test_star_headers_policy_works_in_every_engine(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    """crossorigin's answer to ``allow_headers="*"`` must not depend on the deviation.

    Whatever crossorigin sends for ``*`` (it echoes the requested names), the verdict on
    Authorization is the same in every engine, credentialed or not: the browser allows the
    request exactly when the core's own decision does, and never because a bare ``*``
    covered Authorization. Listing Authorization by name works everywhere.
    """
    page = open_tab(pages.page)
    for credentials in (False, True):
        options: dict[str, Any] = {
            "allow_origins": [pages.page],
            "allow_headers": "*",
            "allow_methods": "*",
            "allow_credentials": credentials,
        }
        try:
            policy = CORSPolicy(**options)
        except ConfigError:
            # Refusing to build a credentialed '*' is also engine-independent.
            assert credentials
            continue
        star = api.mount(**options)
        mode = "include" if credentials else None
        for method, headers in (("GET", AUTHORIZATION), ("PURGE", {"X-Anything": "1"})):
            decision = policy.decide("OPTIONS", pages.page, method, ",".join(headers).lower())
            assert decision.kind is RequestKind.PREFLIGHT
            before = len(star.log)
            result = fetch(page, star.url(), method=method, headers=headers, credentials=mode)
            assert result.ok is decision.allowed, (engine.name, method, credentials)
            preflight = star.log[before]
            assert preflight.is_preflight
            if result.ok and "Authorization" in headers:
                granted = preflight.response_headers["access-control-allow-headers"]
                assert "authorization" in granted.lower().replace(" ", "").split(",")
                assert star.log[before + 1].headers["authorization"] == "Bearer t0ken"
        assert star.log[-1].method == "PURGE"
    named = api.mount(allow_origins=[pages.page], allow_headers=["*", "Authorization"])
    assert fetch(page, named.url(), headers=AUTHORIZATION).ok
    assert [e.method for e in named.log] == ["OPTIONS", "GET"]
    assert named.log[1].headers["authorization"] == "Bearer t0ken"
