"""Credentialed requests with a real cookie on the API origin, and a deliberately broken policy.

The page (``127.0.0.1:P``) and the API (``127.0.0.1:B``) are different origins but the same
site, so a cookie set for the API host (even ``SameSite=Strict``) travels with
``fetch(..., {credentials: "include"})``: what the browser then lets JavaScript read depends
only on the CORS headers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from crossorigin import Decision, RequestKind

from .conftest import OpenTab
from .engines import Tab
from .harness import ApiServer, PageServers, Route, fetch

pytestmark = pytest.mark.browser

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
COOKIE = "session=c00kie"


def give_cookie(tab: Tab, api: ApiServer) -> None:
    """A cookie belonging to the API's host, as if the user had logged in there.

    Set by the page itself (the same way in every engine): cookies ignore ports, so a cookie
    of the page's host ``127.0.0.1`` is also the API's.
    """
    assert urlsplit(tab.url).hostname == urlsplit(api.origin).hostname
    tab.evaluate("async (cookie) => { document.cookie = cookie; }", f"{COOKIE}; path=/")


def check_credentialed_read(page: Tab, route: Route) -> None:
    """The page reads a credentialed response: the scenario that must work, and only it.

    Shared by the scenario test and the broken-policy test, which proves it catches a break.
    """
    before = len(route.log)
    result = fetch(page, route.url(), credentials="include")
    assert result.ok, f"credentialed read refused by the browser: {result}"
    assert result.body is not None
    assert result.body.startswith("GET #")
    [entry] = route.log[before:]
    assert entry.headers.get("cookie") == COOKIE
    assert entry.response_headers[ACAO] == page.url.rstrip("/")
    assert entry.response_headers[ACAC] == "true"


def test_credentials_allowed_with_exact_origin(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(
        allow_origins=[pages.page],
        allow_credentials=True,
        allow_methods=["PUT"],
        allow_headers=["Content-Type"],
    )
    page = open_tab(pages.page)
    give_cookie(page, api)
    check_credentialed_read(page, route)

    result = fetch(
        page,
        route.url(),
        method="PUT",
        headers={"Content-Type": "application/json"},
        body="{}",
        credentials="include",
    )
    assert result.ok
    preflight, actual = route.log[1:]
    assert preflight.is_preflight
    assert "cookie" not in preflight.headers  # preflights never carry credentials
    assert preflight.response_headers[ACAC] == "true"
    assert actual.headers["cookie"] == COOKIE

    # Another origin is refused even though the browser sent the cookie along.
    assert fetch(open_tab(pages.other), route.url(), credentials="include").blocked
    refused = route.log[-1]
    assert refused.headers["cookie"] == COOKIE
    assert ACAO not in refused.response_headers


def test_credentials_allowed_with_matched_origin(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    # A port wildcard goes through the pattern matcher, which reflects the exact origin.
    route = api.mount(allow_origins=["http://127.0.0.1:*"], allow_credentials=True)
    give_cookie(open_tab(pages.page), api)
    check_credentialed_read(open_tab(pages.page), route)
    check_credentialed_read(open_tab(pages.other), route)
    assert [e.response_headers[ACAO] for e in route.log] == [pages.page, pages.other]


def test_credentials_refused_without_allow_credentials(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(
        allow_origins=[pages.page], allow_methods=["PUT"], allow_headers=["Content-Type"]
    )
    page = open_tab(pages.page)
    give_cookie(page, api)
    with pytest.raises(AssertionError, match="credentialed read refused"):
        check_credentialed_read(page, route)
    [entry] = route.log
    # The request went out with the cookie; only reading the answer was refused.
    assert entry.headers["cookie"] == COOKIE
    assert entry.response_headers[ACAO] == pages.page
    assert ACAC not in entry.response_headers

    put = fetch(
        page,
        route.url(),
        method="PUT",
        headers={"Content-Type": "application/json"},
        body="{}",
        credentials="include",
    )
    assert put.blocked
    assert [e.method for e in route.log] == ["GET", "OPTIONS"]  # the PUT was never sent

    # The same request without credentials is fine, and no cookie is sent.
    plain = fetch(page, route.url())
    assert plain.ok
    assert "cookie" not in route.log[-1].headers


def test_credentials_refused_with_public_policy(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=["*"])
    page = open_tab(pages.page)
    give_cookie(page, api)
    assert fetch(page, route.url(), credentials="include").blocked
    assert fetch(page, route.url()).ok
    with_cookie, without = route.log
    assert with_cookie.headers["cookie"] == COOKIE
    assert with_cookie.response_headers[ACAO] == "*"
    assert "cookie" not in without.headers


class StarWithCredentials:
    """A deliberately broken policy: every grant says ``*`` *and* ``Allow-Credentials: true``.

    ``CORSPolicy`` refuses to build this (it is a ConfigError), so the break is injected
    behind the middleware's back, as a bug in the core could.
    """

    def __init__(self, real: Any) -> None:
        self._real = real
        self.preflight_status = real.preflight_status

    def decide(self, *request: Any) -> Decision:
        decision: Decision = self._real.decide(*request)
        if not decision.allowed or decision.kind is RequestKind.NOT_CORS:
            return decision
        headers = tuple(
            (name, b"*" if name == ACAO.encode() else value) for name, value in decision.headers
        )
        return Decision(decision.kind, True, headers, decision.vary, decision.status)


def test_suite_catches_star_with_credentials(
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = api.mount(allow_origins=[pages.page], allow_credentials=True)
    page = open_tab(pages.page)
    give_cookie(page, api)
    check_credentialed_read(page, route)  # the healthy policy passes the check

    monkeypatch.setattr(route.middleware, "policy", StarWithCredentials(route.middleware.policy))
    with pytest.raises(AssertionError, match="credentialed read refused"):
        check_credentialed_read(page, route)
    # The break really went over the wire, and the browser really refused it.
    broken = route.log[-1]
    assert broken.headers["cookie"] == COOKIE
    assert broken.response_headers[ACAO] == "*"
    assert broken.response_headers[ACAC] == "true"
