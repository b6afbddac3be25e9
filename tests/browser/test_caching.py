"""What the browser caches: preflights (Access-Control-Max-Age) and responses (Vary: Origin).

Both are counted in the server's log: a cached preflight or response never reaches it.

The differential comparison with ``crossorigin check`` (which never caches) covers every
fetch whose verdict the server's live answer decides, cached preflights included (the
checker asks again and must get the same grant). A fetch answered from the browser's HTTP
cache is exempt, by name, below.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from crossorigin import Decision

from .conftest import Engine, OpenTab
from .deviations import deviates
from .harness import ADAPTERS, Adapter, ApiServer, PageServers, Route, fetch

pytestmark = pytest.mark.browser

# Every engine caches a preflight without Access-Control-Max-Age for 5 s: the repeat that
# tells "600" from "absent" has to come later than that.
DEFAULT_PREFLIGHT_CACHE_SECONDS = 5.0
JSON = {"Content-Type": "application/json"}

# Why a fetch is not compared with crossorigin check: the checker never caches.
FROM_HTTP_CACHE = "answered from the browser's HTTP cache (the checker never caches)"
CACHED_WITHOUT_VARY = (
    "the browser reused a cached response the broken policy left without Vary: Origin "
    "(the checker never caches, so it sees the live, correct grant)"
)


def test_max_age_zero_repeats_every_preflight(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(
        allow_origins=[pages.page], allow_methods=["PUT"], allow_headers=["Content-Type"], max_age=0
    )
    page = open_tab(pages.page)
    for _ in range(3):
        assert fetch(page, route.url(), method="PUT", headers=JSON, body="{}").ok
    assert [e.method for e in route.log] == ["OPTIONS", "PUT"] * 3
    assert route.preflights[0].response_headers["access-control-max-age"] == "0"


def test_max_age_caches_preflights(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    """One waiting period serves both adapters: 600 caches, absent expires after 5 s.

    The API is called by name (``localhost``): Firefox does not keep preflights cached for
    an IP-literal host across connections (``no-preflight-cache-for-ip-hosts``).
    """
    base: dict[str, Any] = {
        "allow_origins": [pages.page],
        "allow_methods": ["PUT"],
        "allow_headers": ["Content-Type"],
    }
    routes: dict[tuple[Adapter, str], Route] = {}
    for adapter in ADAPTERS:
        routes[adapter, "600"] = apis[adapter].mount(**base, max_age=600)
        # None, not omitted: with Starlette's option names the ASGI middleware defaults to
        # Starlette's 600 (test_asgi covers that), and this route must send no header.
        routes[adapter, "absent"] = apis[adapter].mount(**base, max_age=None)
    page = open_tab(pages.page)

    def put_everywhere() -> None:
        for route in routes.values():
            url = route.url(host="localhost")
            assert fetch(page, url, method="PUT", headers=JSON, body="{}").ok

    put_everywhere()
    first_preflights_done = time.monotonic()  # after the last of them: the wait errs long
    put_everywhere()  # within 5 s: cached either way
    counts = {key: len(route.preflights) for key, route in routes.items()}
    assert counts == dict.fromkeys(routes, 1)

    waited = time.monotonic() - first_preflights_done
    time.sleep(max(0.0, DEFAULT_PREFLIGHT_CACHE_SECONDS + 0.5 - waited))
    put_everywhere()
    for adapter in ADAPTERS:
        cached, expired = routes[adapter, "600"], routes[adapter, "absent"]
        assert [e.method for e in cached.log] == ["OPTIONS", "PUT", "PUT", "PUT"], adapter
        assert [e.method for e in expired.log] == ["OPTIONS", "PUT", "PUT", "OPTIONS", "PUT"]
        assert cached.preflights[0].response_headers["access-control-max-age"] == "600"
        assert "access-control-max-age" not in expired.preflights[0].response_headers


class WithoutVary:
    """A deliberately broken policy: same grants, but no ``Vary: Origin`` anywhere."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.preflight_status = real.preflight_status

    def decide(self, *request: Any) -> Decision:
        decision: Decision = self._real.decide(*request)
        headers = tuple((name, value) for name, value in decision.headers if name != b"vary")
        return Decision(
            decision.kind,
            decision.allowed,
            headers,
            b"",
            decision.status,
            decision.refusals,
        )


def two_origins_read_cached(
    route: Route, pages: PageServers, open_tab: OpenTab, engine: Engine, broken: bool = False
) -> tuple[str | None, str | None, str | None]:
    """Page 1 reads a cacheable response twice, then page 2 (same site) reads it once.

    ``broken``: the policy sends no ``Vary``, so page 2 may be served page 1's entry.
    """
    cached = not deviates(engine.name, "no-http-cache")
    url = route.url("cached")
    first = fetch(open_tab(pages.page), url)
    again = fetch(open_tab(pages.page), url, checker_exempt=FROM_HTTP_CACHE if cached else None)
    assert first.ok
    assert again.ok
    second = fetch(
        open_tab(pages.other),
        url,
        checker_exempt=CACHED_WITHOUT_VARY if broken and cached else None,
    )
    return first.body, again.body, (second.body if second.ok else None)


def test_vary_origin_keeps_cached_responses_apart(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page, pages.other])
    first, again, second = two_origins_read_cached(route, pages, open_tab, engine)
    assert all(e.response_headers["vary"] == "Origin" for e in route.log)
    if deviates(engine.name, "no-http-cache"):
        assert (first, again, second) == ("GET #1", "GET #2", "GET #3")
        return
    # The repeat came from the browser's cache: caching is observable here...
    assert (first, again) == ("GET #1", "GET #1")
    # ...and Vary: Origin sent the other origin to the server for its own grant.
    assert second == "GET #2"
    assert [e.headers["origin"] for e in route.log] == [pages.page, pages.other]


def test_missing_vary_is_caught(
    engine: Engine,
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = api.mount(allow_origins=[pages.page, pages.other])
    monkeypatch.setattr(route.middleware, "policy", WithoutVary(route.middleware.policy))
    first, again, second = two_origins_read_cached(route, pages, open_tab, engine, broken=True)
    assert all("vary" not in e.response_headers for e in route.log)
    if deviates(engine.name, "no-http-cache"):
        # Nothing is reused, so the missing Vary cannot show (shared caches still suffer).
        assert (first, again, second) == ("GET #1", "GET #2", "GET #3")
        return
    assert (first, again) == ("GET #1", "GET #1")
    # The other origin got page 1's cached grant, so the browser refused it: a wrong denial.
    assert second is None
    assert len(route.log) == 1


def navigate_then_fetch(
    route: Route, pages: PageServers, open_tab: OpenTab, engine: Engine, broken: bool = False
) -> bool:
    """Load a cacheable URL as a page (no Origin), then fetch it from a page; True if read.

    ``broken``: the policy sends no ``Vary``, so the fetch may reuse the navigation's entry.
    """
    url = route.url("cached")
    open_tab(pages.page).goto(url)  # a navigation: no Origin header, so no grant
    reused = not deviates(engine.name, "navigation-entry-not-reused")
    exempt = CACHED_WITHOUT_VARY if broken and reused else None
    return fetch(open_tab(pages.page), url, checker_exempt=exempt).ok


def test_vary_origin_on_response_without_origin(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page])
    assert navigate_then_fetch(route, pages, open_tab, engine)
    assert [e.headers.get("origin") for e in route.log] == [None, pages.page]
    assert route.log[0].response_headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in route.log[0].response_headers


def test_missing_vary_without_origin_is_caught(
    engine: Engine,
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = api.mount(allow_origins=[pages.page])
    monkeypatch.setattr(route.middleware, "policy", WithoutVary(route.middleware.policy))
    read = navigate_then_fetch(route, pages, open_tab, engine, broken=True)
    if deviates(engine.name, "navigation-entry-not-reused"):
        # The fetch went to the server: the missing Vary cannot show in this engine.
        assert read
        assert [e.headers.get("origin") for e in route.log] == [None, pages.page]
        return
    # The browser reuses the grant-less cached page for the fetch and refuses it.
    assert not read
    assert [e.headers.get("origin") for e in route.log] == [None]


def test_cache_partitioning_hides_missing_vary_across_sites(
    engine: Engine,
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Documents a limit: across *sites* the browser's own cache cannot show a missing Vary.

    Browsers key their HTTP cache by the top-level site too, so a page on ``localhost``
    never sees what a page on ``127.0.0.1`` cached, Vary or not. Shared caches (CDNs,
    proxies) are not partitioned: there a missing Vary still leaks between sites.
    """
    route = api.mount(allow_origins=[pages.page, pages.localhost])
    monkeypatch.setattr(route.middleware, "policy", WithoutVary(route.middleware.policy))
    cached = not deviates(engine.name, "no-http-cache")
    url = route.url("cached")
    assert fetch(open_tab(pages.page), url).body == "GET #1"
    again = fetch(open_tab(pages.page), url, checker_exempt=FROM_HTTP_CACHE if cached else None)
    assert again.body == ("GET #1" if cached else "GET #2")  # cached for this site
    other_site = fetch(open_tab(pages.localhost), url)  # another partition
    assert other_site.body == ("GET #2" if cached else "GET #3")
    assert route.log[-1].headers["origin"] == pages.localhost


def test_vary_origin_on_refusals_keeps_an_allowed_origin_working(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    """Page Q is refused, then page P (allowed) reads the same cacheable URL.

    Firefox stores the refused response (``refused-responses-cached``); only the
    ``Vary: Origin`` crossorigin puts on refusals too keeps it from being served to P.
    ``test_refused_responses_cached`` shows the wrong denial without it.
    """
    route = api.mount(allow_origins=[pages.page])
    url = route.url("cached")
    assert fetch(open_tab(pages.other), url).blocked
    assert route.log[0].response_headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in route.log[0].response_headers
    assert fetch(open_tab(pages.page), url).body == "GET #2"
    assert [e.headers["origin"] for e in route.log] == [pages.other, pages.page]
