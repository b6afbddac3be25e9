"""Simple and preflighted requests, refused methods and headers, exposed headers, errors."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Engine, OpenTab
from .deviations import deviates
from .harness import EXPOSED_VALUE, HIDDEN_VALUE, Adapter, ApiServer, PageServers, fetch

pytestmark = pytest.mark.browser

ACAO = "access-control-allow-origin"
JSON_HEADERS = {
    "Content-Type": "application/json",
    "Authorization": "Bearer t0ken",
    "X-Trace-Id": "trace-42",
}


def test_simple_get_and_post_need_no_preflight(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page])
    page = open_tab(pages.page)
    got = fetch(page, route.url())
    posted = fetch(
        page, route.url(), method="POST", headers={"Content-Type": "text/plain"}, body="hello"
    )
    assert got.ok
    assert got.body == "GET #1"
    assert posted.ok
    assert posted.body == "POST #2 hello"
    assert not route.preflights
    assert [e.method for e in route.log] == ["GET", "POST"]
    post = route.log[1]
    assert post.body == b"hello"
    assert post.headers["content-type"].startswith("text/plain")
    assert post.response_headers[ACAO] == pages.page


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_preflighted_method_with_json_authorization_and_custom_header(
    api: ApiServer, pages: PageServers, open_tab: OpenTab, method: str
) -> None:
    route = api.mount(
        allow_origins=[pages.page],
        allow_methods=["PUT", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-Trace-Id"],
    )
    result = fetch(
        open_tab(pages.page), route.url(), method=method, headers=JSON_HEADERS, body='{"a":1}'
    )
    assert result.ok
    assert result.body == f'{method} #1 {{"a":1}}'
    preflight, actual = route.log
    assert preflight.is_preflight
    assert preflight.headers["access-control-request-method"] == method
    # Chromium lowercases and sorts the names, without spaces.
    assert preflight.headers["access-control-request-headers"] == (
        "authorization,content-type,x-trace-id"
    )
    assert "authorization" not in preflight.headers  # preflights carry no credentials
    assert preflight.status == 204
    assert preflight.response_headers[ACAO] == pages.page
    assert method in preflight.response_headers["access-control-allow-methods"]
    assert actual.method == method
    assert actual.headers["authorization"] == "Bearer t0ken"
    assert actual.headers["x-trace-id"] == "trace-42"
    assert actual.headers["content-type"] == "application/json"
    assert actual.body == b'{"a":1}'


def test_method_not_allowed_is_refused(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page], allow_methods=["PUT"])
    page = open_tab(pages.page)
    assert fetch(page, route.url(), method="PUT").ok
    assert fetch(page, route.url(), method="DELETE").blocked
    assert [(e.method, e.status) for e in route.log] == [
        ("OPTIONS", 204),
        ("PUT", 200),
        ("OPTIONS", 403),  # the DELETE itself was never sent
    ]
    assert route.log[2].headers["access-control-request-method"] == "DELETE"
    assert ACAO not in route.log[2].response_headers


def test_method_names_compare_case_sensitively(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    # fetch() upper-cases only the six standard methods: "patch" goes out as written.
    route = api.mount(allow_origins=[pages.page], allow_methods=["PATCH"])
    page = open_tab(pages.page)
    assert fetch(page, route.url(), method="PATCH").ok
    assert fetch(page, route.url(), method="patch").blocked
    assert [e.method for e in route.log] == ["OPTIONS", "PATCH", "OPTIONS"]
    assert route.log[2].headers["access-control-request-method"] == "patch"
    assert route.log[2].status == 403


def test_cross_origin_options_request_reaches_the_app(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    # fetch(method: "OPTIONS") is preflighted like any non-simple method; the actual OPTIONS
    # (Origin but no Access-Control-Request-Method) belongs to the app, not the middleware.
    route = api.mount(allow_origins=[pages.page], allow_methods=["OPTIONS"])
    result = fetch(open_tab(pages.page), route.url(), method="OPTIONS")
    assert result.ok
    assert result.body == "OPTIONS #1"
    preflight, actual = route.log
    assert preflight.is_preflight
    assert preflight.status == 204
    assert not actual.is_preflight
    assert actual.method == "OPTIONS"
    assert actual.response_headers[ACAO] == pages.page


def test_header_not_allowed_is_refused(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(allow_origins=[pages.page], allow_headers=["X-Trace-Id"])
    page = open_tab(pages.page)
    assert fetch(page, route.url(), headers={"X-Trace-Id": "1"}).ok
    assert fetch(page, route.url(), headers={"X-Trace-Id": "1", "X-Other": "2"}).blocked
    assert [(e.method, e.status) for e in route.log] == [
        ("OPTIONS", 204),
        ("GET", 200),
        ("OPTIONS", 403),
    ]
    assert route.log[2].headers["access-control-request-headers"] == "x-other,x-trace-id"


def test_exposed_and_hidden_response_headers(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    unexposed = api.mount(allow_origins=[pages.page])
    exposed = api.mount(allow_origins=[pages.page], expose_headers=["X-Exposed"])
    everything = api.mount(allow_origins=[pages.page], expose_headers=["*"])
    page = open_tab(pages.page)

    seen = {
        route.name: fetch(page, route.url()).headers for route in (unexposed, exposed, everything)
    }
    # The server sent both custom headers every time: the browser decides what JS sees.
    for route in (unexposed, exposed, everything):
        [entry] = route.log
        assert entry.response_headers["x-exposed"] == EXPOSED_VALUE
        assert entry.response_headers["x-hidden"] == HIDDEN_VALUE
    # Safelisted response headers are always readable.
    assert all(headers["content-type"].startswith("text/plain") for headers in seen.values())
    assert "x-exposed" not in seen[unexposed.name]
    assert "x-hidden" not in seen[unexposed.name]
    assert seen[exposed.name]["x-exposed"] == EXPOSED_VALUE
    assert "x-hidden" not in seen[exposed.name]
    assert exposed.log[0].response_headers["access-control-expose-headers"] == "X-Exposed"
    assert seen[everything.name]["x-exposed"] == EXPOSED_VALUE
    assert seen[everything.name]["x-hidden"] == HIDDEN_VALUE


def test_app_error_reaches_the_page_as_500(
    api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    route = api.mount(
        allow_origins=[pages.page], allow_methods=["PUT"], allow_headers=["Content-Type"]
    )
    page = open_tab(pages.page)
    simple = fetch(page, route.url("boom"))
    preflighted = fetch(
        page, route.url("boom"), method="PUT", headers={"Content-Type": "application/json"}
    )
    for result in (simple, preflighted):
        # Not a CORS failure: the page can read the real status and body.
        assert result.ok
        assert result.status == 500
        assert result.body == "Internal Server Error"
    assert [(e.method, e.status) for e in route.log] == [
        ("GET", 500),
        ("OPTIONS", 204),
        ("PUT", 500),
    ]
    assert route.log[0].response_headers[ACAO] == pages.page
    assert route.log[2].response_headers[ACAO] == pages.page


# Request headers at the edges of the CORS safelist; True: the standard requires a preflight.
SAFELIST_EDGES: list[tuple[dict[str, str], bool]] = [
    ({"Content-Type": 'text/plain; charset="utf-8"'}, True),  # '"' is an unsafe byte
    ({"Content-Type": "TEXT/PLAIN"}, False),
    ({"Content-Type": "text/plain;"}, False),
    ({"Content-Type": "multipart/form-data; boundary=x"}, False),
    ({"Content-Type": "text/plain, application/json"}, True),
    ({"Accept": "text/html(x)"}, True),
    ({"Accept": "a" * 128}, False),
    ({"Accept-Language": "en_US"}, True),
    ({"Accept-Language": "a" * 129}, True),
    ({"Content-Language": "de-DE, en;q=0.5"}, False),
    ({"Range": "bytes=5-"}, False),
    ({"Range": "bytes=1-0"}, True),
    ({"Range": "bytes=0-1,2-3"}, True),
    ({"Range": "bytes = 0-1"}, True),
    ({"Downlink": "1.5"}, True),  # client hints: see client-hints-safelisted
    ({"Device-Memory": "8"}, True),
    ({"Width": "1.5"}, True),  # not an integer: unsafe in Chromium too
]


def test_safelist_edges_follow_the_standard(
    engine: Engine, api: ApiServer, pages: PageServers, open_tab: OpenTab
) -> None:
    """Which headers cause a preflight, at the edges of the safelist, in every engine.

    Found identical in the three engines, apart from Chromium's client hints.
    """
    page = open_tab(pages.page)
    for headers, preflighted in SAFELIST_EDGES:
        # A route per case: a cached preflight would answer the next case's question.
        route = api.mount(allow_origins=["*"])
        hint = next(iter(headers)) in ("Downlink", "Device-Memory")
        if hint and deviates(engine.name, "client-hints-safelisted"):
            preflighted = False
        # The verdict is the checker's to agree with (every fetch is compared with it).
        fetch(page, route.url(), method="POST", headers=headers, body="x")
        assert route.log[0].is_preflight is preflighted, (headers, route.log)


def _responder(preflight: list[tuple[str, str]], actual: list[tuple[str, str]]) -> Any:
    """A hand-written CORS responder: the page's own origin as the grant, plus these headers."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        origin = dict(scope["headers"]).get(b"origin", b"").decode()
        is_preflight = scope["method"] == "OPTIONS"
        pairs = [("access-control-allow-origin", origin), *(preflight if is_preflight else actual)]
        status = 204 if is_preflight else 200
        headers = [(name.lower().encode(), value.encode()) for name, value in pairs]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if is_preflight else b"ok"})

    return app


ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACAC = "Access-Control-Allow-Credentials"
EXPOSE = "Access-Control-Expose-Headers"
CREDENTIALED = [(ACAC, "true")]

# (preflight headers, actual headers, method, request headers, credentials, allowed)
RESPONSE_EDGES: list[
    tuple[list[tuple[str, str]], list[tuple[str, str]], str, dict[str, str], bool, bool]
] = [
    ([(ACAM, "put")], [], "PUT", {}, False, False),  # methods compare case-sensitively
    ([(ACAM, "PATCH")], [], "patch", {}, False, False),
    ([(ACAM, "GET")], [], "DELETE", {}, False, False),
    ([(ACAM, "PUT, (X)")], [], "PUT", {}, False, False),  # one bad token fails the list
    ([(ACAM, "PUT"), ("Access-Control-Max-Age", "-1")], [], "PUT", {}, False, True),
    ([*CREDENTIALED, (ACAM, "*")], CREDENTIALED, "PUT", {}, True, False),
    ([*CREDENTIALED, (ACAH, "*")], CREDENTIALED, "GET", {"X-A": "1"}, True, False),
    ([(ACAH, " x-a ,x-b ")], [], "GET", {"X-A": "1", "X-B": "2"}, False, True),
    ([(ACAH, "x-a,,x-b")], [], "GET", {"X-A": "1", "X-B": "2"}, False, True),
    ([(ACAH, "x-a, x b")], [], "GET", {"X-A": "1"}, False, False),
    ([], [(ACAC, " true ")], "GET", {}, True, True),  # surrounding whitespace is not the value
    ([], [(EXPOSE, "*"), ("X-A", "1"), *CREDENTIALED], "GET", {}, True, True),
    ([], [(EXPOSE, "x-b, *"), ("X-A", "1"), ("X-B", "2")], "GET", {}, False, True),
    (
        [],
        [(EXPOSE, "Set-Cookie, X-A"), ("Set-Cookie", "a=b"), ("X-A", "1")],
        "GET",
        {},
        False,
        True,
    ),
]


def test_response_header_edges_follow_the_standard(
    apis: dict[Adapter, ApiServer], pages: PageServers, open_tab: OpenTab
) -> None:
    """Hand-written grants at the edges of the preflight and CORS checks, in every engine.

    Found identical in the three engines: each verdict below is the standard's, and which
    headers script could read is compared with ``crossorigin check`` on every fetch.
    """
    page = open_tab(pages.page)
    for preflight, actual, method, headers, credentials, allowed in RESPONSE_EDGES:
        route = apis["asgi"].mount_raw(_responder(preflight, actual))
        mode = "include" if credentials else None
        result = fetch(page, route.url(), method=method, headers=headers, credentials=mode)
        assert result.ok is allowed, (preflight, actual, method, headers, credentials)
        if result.ok:
            assert "set-cookie" not in result.headers
