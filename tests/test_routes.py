"""Per-route policies: rule table semantics, and the ASGI/WSGI middleware using it.

The regression tests named ``test_advisory_*`` pin the three Flask-CORS 2024 advisories:
case-insensitive path matching (CVE-2024-6866), rule priority by pattern length
(CVE-2024-6839) and ``+`` decoded as a space (CVE-2024-6844).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, cast

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Response

from crossorigin import ConfigError, CORSPolicy
from crossorigin.asgi import CORSMiddleware as ASGICORS
from crossorigin.routes import Routes, is_canonical_path, normalize_path
from crossorigin.wsgi import CORSMiddleware as WSGICORS

PUBLIC = CORSPolicy(allow_origins="*")
PRIVATE = CORSPolicy(allow_origins=["https://app.example"], allow_credentials=True)


def table() -> Routes:
    return Routes([("/api/public/*", PUBLIC), ("/api/*", PRIVATE)])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/public/x", PUBLIC),
        ("/api/public", PUBLIC),
        ("/api/public/", PUBLIC),
        ("/api/private", PRIVATE),
        ("/api", PRIVATE),
        ("/apiary", None),
        ("/api/publicity", PRIVATE),
        ("/", None),
        ("", None),
        ("*", None),
    ],
)
def test_glob_matching(path: str, expected: CORSPolicy | None) -> None:
    assert table().policy_for(path) is expected


def test_exact_and_regex_rules() -> None:
    routes = Routes([("/health", PUBLIC), (re.compile(r"/v[0-9]+/items"), PRIVATE), ("/*", PUBLIC)])
    assert routes.policy_for("/v2/items") is PRIVATE
    # Full match: a regex is never a prefix match.
    assert routes.policy_for("/v2/items/extra") is PUBLIC
    assert routes.policy_for("/health") is PUBLIC
    assert Routes({"/a": PRIVATE}).policy_for("/a") is PRIVATE


def test_advisory_paths_are_case_sensitive() -> None:
    routes = Routes([("/api/private/*", PRIVATE), ("/API/*", PUBLIC)])
    assert routes.policy_for("/api/private/data") is PRIVATE
    assert routes.policy_for("/API/private/data") is PUBLIC
    assert Routes([("/api/*", PRIVATE)]).policy_for("/API/data") is None


def test_advisory_rule_priority_is_declared_order_not_pattern_length() -> None:
    # A longer (more specific-looking) regex listed later does not win.
    routes = Routes(
        [(re.compile(r"/api/(public|private)/x"), PRIVATE), (re.compile(r"/api/public/.*"), PUBLIC)]
    )
    assert routes.policy_for("/api/public/x") is PRIVATE
    assert routes.policy_for("/api/public/y") is PUBLIC
    # Globs that can never match are refused outright instead of being re-ordered.
    with pytest.raises(ConfigError, match="can never match") as info:
        Routes([("/api/*", PRIVATE), ("/api/public/*", PUBLIC), ("/api/x", PUBLIC)])
    assert len(info.value.problems) == 2


def test_advisory_plus_is_not_a_space() -> None:
    routes = Routes([("/files/a b/*", PRIVATE), ("/files/a+b/*", PUBLIC)])
    assert routes.policy_for("/files/a+b/doc") is PUBLIC
    assert routes.policy_for("/files/a b/doc") is PRIVATE


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/a/b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/b/../c", "/a/c"),
        ("/a/b/..", "/a/"),
        ("/a/.", "/a/"),
        ("/../../etc", "/etc"),
        ("/..", "/"),
        ("/a//b", "/a//b"),
        ("/a/.b/c", "/a/.b/c"),
        ("/a/..b", "/a/..b"),
        ("relative/../x", "relative/../x"),
    ],
)
def test_normalize_path(path: str, normal: str) -> None:
    assert normalize_path(path) == normal


def test_non_canonical_paths_match_no_rule() -> None:
    routes = Routes([("/*", PUBLIC)])
    for path in ("/api/public/../private", "/api/public/./x", "//api", "/a\\b", "*"):
        assert routes.policy_for(path) is None
    assert routes.policy_for("/api/public/x/") is PUBLIC
    assert routes.policy_for("") is PUBLIC  # the root of an app mounted under a prefix


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/api/admin/users", None),
        ("/api/admin/users/", b"/api/admin/users/"),
        ("", None),
        ("/", b"/"),
        ("/a/.b/..c/...", None),
        ("/a%2Fb", b"/a%252Fb"),  # an encoded percent sign: the router sees '%2F' as text
        ("/a", "/a?next=%2F%5C"),  # the query string is not the path
        ("/caf\u00e9", b"/caf%C3%A9"),
    ],
)
def test_canonical_paths(path: str, raw_path: bytes | str | None) -> None:
    assert is_canonical_path(path, raw_path)


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("//api/admin/users", None),
        ("/api//admin", None),
        ("/api/admin/..", b"/api/admin%2F.."),
        ("/api/admin/..", None),
        ("/api/./admin", None),
        ("/.", None),
        ("/..", None),
        ("/api/admin/users", b"/api/admin%2Fusers"),
        ("/api/admin/users", b"/api/admin%2fusers"),
        ("/api/admin/users", "/api%5Cadmin/users"),
        ("/api/admin/users", "http://host/api%5cadmin/users?x=1"),
        ("/api\\admin", None),
        ("*", None),
        ("api/admin", None),
    ],
)
def test_non_canonical_paths(path: str, raw_path: bytes | str | None) -> None:
    assert not is_canonical_path(path, raw_path)


def test_regex_rules_join_the_shadowing_check() -> None:
    strict = CORSPolicy(allow_origins=["https://admin.example"], allow_credentials=True)
    refused: list[list[tuple[Any, CORSPolicy]]] = [
        [(re.compile(r"/api/.*"), PUBLIC), ("/api/private/*", strict)],
        [(re.compile(r"/api/.*"), PUBLIC), ("/api/private", strict)],
        [(re.compile(r"/api/.*"), PUBLIC), (re.compile(r"/api/private/.*"), strict)],
        [(re.compile(r"/api/.*"), PUBLIC), (re.compile(r"/api/private"), strict)],
        [("/api/*", PUBLIC), (re.compile(r"/api/v[0-9]+/private"), strict)],
        [("/api/*", PUBLIC), (re.compile(r"(/api)"), strict)],
        [("/api/v1", PUBLIC), (re.compile(r"/api/v1"), strict)],
    ]
    for rules in refused:
        with pytest.raises(ConfigError, match="can never match"):
            Routes(rules)
    accepted: list[list[tuple[Any, CORSPolicy]]] = [
        # Overlapping, not covering: declared order decides the overlap.
        [(re.compile(r"/api/[a-z]+"), PUBLIC), ("/api/private/*", strict)],
        [(re.compile(r"/api/v[0-9]+"), PUBLIC), (re.compile(r"/api/.*"), strict)],
        [("/api/v1", PUBLIC), (re.compile(r"/api/v[0-9]"), strict)],
        [("/api/*", PUBLIC), (re.compile(r"/api(/v1)?|/other"), strict)],
        [(re.compile(r"/API/.*", re.IGNORECASE), PUBLIC), (re.compile(r"/x/.*"), strict)],
    ]
    for rules in accepted:
        Routes(rules)


@pytest.mark.parametrize(
    "pattern",
    ["api/*", "/api/.*", "/api/*/x", "^/api", "/v[0-9]+", "/a/../b", "/a/./b", "", 42],
)
def test_bad_patterns_are_refused_with_a_fix(pattern: object) -> None:
    with pytest.raises(ConfigError, match="Fix:"):
        Routes([(pattern, PUBLIC)])  # type: ignore[list-item]


def test_other_table_problems_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        Routes([("/a", "not a policy"), "nonsense", ("/b", PUBLIC)])  # type: ignore[list-item]
    assert len(info.value.problems) == 2
    with pytest.raises(ConfigError, match="no rules"):
        Routes([])
    with pytest.raises(ConfigError, match="not a list of"):
        Routes(5)  # type: ignore[arg-type]


def test_routes_is_immutable_and_lists_policies() -> None:
    routes = table()
    with pytest.raises(AttributeError):
        routes.rules = ()
    assert routes.policies == (PUBLIC, PRIVATE)
    assert "/api/public/*" in repr(routes)


@given(st.text())
def test_matching_never_raises_and_normalising_is_idempotent(path: str) -> None:
    normal = normalize_path(path)
    assert normalize_path(normal) == normal
    if path.startswith("/"):
        assert "." not in normal.split("/")
        assert ".." not in normal.split("/")
    if table().policy_for(path) is not None:
        assert is_canonical_path(path)


# --- through the middleware ---------------------------------------------------------------


def _starlette_app() -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.url.path, headers={"vary": "Accept-Encoding"})

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


def test_asgi_routes() -> None:
    app = ASGICORS(_starlette_app(), routes=[("/api/public/*", PUBLIC), ("/api/*", PRIVATE)])
    client = TestClient(cast(Any, app))
    origin = {"origin": "https://app.example"}
    public = client.get("/api/public/x", headers=origin)
    assert public.headers["access-control-allow-origin"] == "*"
    private = client.get("/api/x", headers=origin)
    assert private.headers["access-control-allow-origin"] == "https://app.example"
    assert private.headers["access-control-allow-credentials"] == "true"
    assert private.headers["vary"] == "Accept-Encoding, Origin"
    # No rule: no CORS header and no Vary from us (the app's own Vary is untouched).
    other = client.get("/other", headers=origin)
    assert "access-control-allow-origin" not in other.headers
    assert other.headers["vary"] == "Accept-Encoding"
    unmatched_preflight = client.options(
        "/other", headers={**origin, "access-control-request-method": "PUT"}
    )
    assert unmatched_preflight.status_code == 405  # the app's own answer
    assert "access-control-allow-origin" not in unmatched_preflight.headers
    preflight = client.options(
        "/api/x", headers={**origin, "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    upper = client.get("/API/x", headers=origin)
    assert "access-control-allow-origin" not in upper.headers


def _wsgi_app(environ: dict[str, object], start_response: object) -> Iterable[bytes]:
    response = Response(str(environ["PATH_INFO"]), headers={"Vary": "Cookie"})
    return response(environ, start_response)  # type: ignore[arg-type]


def test_wsgi_routes() -> None:
    app = WSGICORS(_wsgi_app, routes=[("/api/public/*", PUBLIC), ("/api/*", PRIVATE)])
    client = Client(cast(Any, app))
    origin = {"Origin": "https://app.example"}
    assert client.get("/api/public/x", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    private = client.get("/api/x", headers=origin)
    assert private.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert private.headers["Vary"] == "Cookie, Origin"
    other = client.get("/other", headers=origin)
    assert "Access-Control-Allow-Origin" not in other.headers
    assert other.headers["Vary"] == "Cookie"
    # Percent-encoded non-ASCII paths are matched on their decoded text.
    unicode_app = WSGICORS(_wsgi_app, routes=[("/café/*", PUBLIC)])
    response = Client(cast(Any, unicode_app)).get("/caf%C3%A9/menu", headers=origin)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # '+' in the URL stays '+'.
    plus_app = WSGICORS(_wsgi_app, routes=[("/a b", PUBLIC)])
    plus = Client(cast(Any, plus_app)).get("/a+b", headers=origin)
    assert "Access-Control-Allow-Origin" not in plus.headers
    preflight = client.options(
        "/api/public/x", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204


@pytest.mark.parametrize("factory", [ASGICORS, WSGICORS])
def test_routes_exclude_a_policy(factory: type) -> None:
    with pytest.raises(ConfigError, match="routes"):
        factory(_wsgi_app, PUBLIC, routes=[("/a", PUBLIC)])
    with pytest.raises(ConfigError, match="allow_origins"):
        factory(_wsgi_app, routes=[("/a", PUBLIC)], allow_origins="*")
    assert factory(_wsgi_app, routes=table()).routes is not None


@given(path=st.text(), origin=st.one_of(st.none(), st.text()))
def test_routed_wsgi_middleware_never_raises(path: str, origin: str | None) -> None:
    seen: list[list[tuple[str, str]]] = []

    def app(environ: dict[str, object], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(headers)
        return lambda data: None

    middleware = WSGICORS(cast(Any, app), routes=table())
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    list(middleware(environ, start_response))
    headers = dict(seen[0])
    granted = headers.get("Access-Control-Allow-Origin")
    # Only the literal '*' or the one allowed origin is ever reflected.
    assert granted in (None, "*", "https://app.example")


# --- fail closed: non-canonical paths (issue: //api/admin/users, /api/admin%2F..) ---------

ADMIN_ORIGIN = "https://admin.example"
PARTNER_ORIGIN = "https://partner.example"
DOCS_ORIGIN = "https://docs.example"
ADMIN = CORSPolicy(allow_origins=[ADMIN_ORIGIN], allow_credentials=True, allow_methods=["PUT"])
DOCS = CORSPolicy(allow_origins=[DOCS_ORIGIN], allow_methods=["PUT"])
PARTNER = CORSPolicy(allow_origins=[PARTNER_ORIGIN], allow_credentials=True, allow_methods=["PUT"])
ORIGIN_RULE = {ADMIN_ORIGIN: "admin", DOCS_ORIGIN: "docs", PARTNER_ORIGIN: "partner"}


def admin_routes() -> Routes:
    # A glob, a regex and a catch-all: the differential covers both rule kinds.
    return Routes(
        [("/api/admin/*", ADMIN), (re.compile(r"/api/docs(/.*)?"), DOCS), ("/*", PARTNER)]
    )


# Which rule covers each endpoint of the routers below.
ENDPOINT_RULE = {
    "admin_root": "admin",
    "admin_users": "admin",
    "admin_rest": "admin",
    "docs_root": "docs",
    "docs_rest": "docs",
    "catch_all": "partner",
}


def starlette_router() -> Starlette:
    def endpoint(name: str) -> Any:
        async def answer(request: Request) -> PlainTextResponse:
            return PlainTextResponse(name)

        return answer

    return Starlette(
        routes=[
            Route("/api/admin", endpoint("admin_root"), methods=["GET", "OPTIONS"]),
            Route("/api/admin/users", endpoint("admin_users"), methods=["GET", "OPTIONS"]),
            Route("/api/admin/{rest:path}", endpoint("admin_rest"), methods=["GET", "OPTIONS"]),
            Route("/api/docs", endpoint("docs_root"), methods=["GET", "OPTIONS"]),
            Route("/api/docs/{rest:path}", endpoint("docs_rest"), methods=["GET", "OPTIONS"]),
            Route("/{rest:path}", endpoint("catch_all"), methods=["GET", "OPTIONS"]),
        ]
    )


def werkzeug_router() -> Any:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Map, Rule
    from werkzeug.wrappers import Request as WerkzeugRequest

    url_map = Map(
        [
            Rule("/api/admin", endpoint="admin_root"),
            Rule("/api/admin/", endpoint="admin_root"),
            Rule("/api/admin/users", endpoint="admin_users"),
            Rule("/api/admin/<path:rest>", endpoint="admin_rest"),
            Rule("/api/docs", endpoint="docs_root"),
            Rule("/api/docs/", endpoint="docs_root"),
            Rule("/api/docs/<path:rest>", endpoint="docs_rest"),
            Rule("/", endpoint="catch_all"),
            Rule("/<path:rest>", endpoint="catch_all"),
        ]
    )

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        adapter = url_map.bind_to_environ(environ)
        try:
            name, _ = adapter.match(WerkzeugRequest(environ).path)
        except HTTPException as error:  # werkzeug redirects '//a' to '/a' (merge_slashes)
            return error.get_response(environ)(environ, start_response)
        return Response(name)(environ, start_response)

    return app


# Path separators and dot segments, raw and encoded, mixed with the routes' own words.
ODD_SEGMENTS = st.sampled_from(
    ["", ".", "..", "%2E%2E", "%2e", "%2F", "%2f", "%5C", "%5c", "\\", "admin%2F..",
     "%252F", "..%2F", "%2Fapi%2Fadmin"]
)  # fmt: skip
WORDS = st.sampled_from(["api", "admin", "docs", "users", "x", "caf%C3%A9", "a%20b"])
SEGMENTS = st.one_of(ODD_SEGMENTS, WORDS)
# Paths start under the interesting subtrees often enough to reach their edge cases.
PREFIXES = st.sampled_from(["", "/api", "/api/admin", "/api/docs", "/api/admin/users"])
RAW_PATHS = st.builds(
    lambda prefix, segments: prefix + "/" + "/".join(segments),
    PREFIXES,
    st.lists(SEGMENTS, max_size=4),
)


def asgi_grant(app: Any, raw: str, origin: str, method: str = "GET") -> tuple[str | None, str]:
    """The rule that granted ``origin`` (by its allowed origin) and the endpoint that answered."""
    from .asgi_helpers import run

    result: tuple[str | None, str] = run(asgi_call(app, raw, origin, method))
    return result


async def asgi_call(app: Any, raw: str, origin: str, method: str = "GET") -> tuple[str | None, str]:
    from urllib.parse import unquote

    from .asgi_helpers import Exchange

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw),  # as uvicorn and hypercorn decode it
        "raw_path": raw.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"origin", origin.encode()), (b"host", b"testserver")]
        + ([(b"access-control-request-method", b"PUT")] if method == "OPTIONS" else []),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    exchange = Exchange()
    await app(scope, exchange.receive, exchange.send)
    granted = dict(exchange.headers).get(b"access-control-allow-origin")
    rule = ORIGIN_RULE.get(granted.decode()) if granted else None
    return rule, exchange.body.decode()


def wsgi_grant(app: Any, raw: str, origin: str, method: str = "GET") -> tuple[str | None, str]:
    from urllib.parse import unquote_to_bytes

    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw).decode("latin-1"),  # as PEP 3333 servers do
        "REQUEST_URI": raw,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_ORIGIN": origin,
        "wsgi.url_scheme": "http",
        "wsgi.input": __import__("io").BytesIO(),
        "wsgi.errors": __import__("io").StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if method == "OPTIONS":
        environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = "PUT"
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append((status, headers))
        return lambda data: None

    body = b"".join(app(environ, start_response)).decode()
    status, headers = seen[-1]
    granted = {name.lower(): value for name, value in headers}.get("access-control-allow-origin")
    rule = ORIGIN_RULE.get(granted) if granted else None
    if status.startswith("30"):
        return rule, "redirect"
    return rule, body


# No deadline: each example is several full requests, and timing is not what is tested.
@settings(deadline=None)
@given(raw=RAW_PATHS)
@example(raw="/api/admin%2F..")
@example(raw="/api/admin/..")
def test_differential_starlette_router(raw: str) -> None:
    # Whenever a rule grants, Starlette's router serves the path with an endpoint that
    # same rule covers: no grant ever lands on an endpoint another rule governs.
    from .asgi_helpers import run

    app = ASGICORS(starlette_router(), routes=admin_routes())

    async def ask_as_each_origin() -> list[tuple[tuple[str | None, str], tuple[str | None, str]]]:
        return [
            (await asgi_call(app, raw, origin), await asgi_call(app, raw, origin, "OPTIONS"))
            for origin in ORIGIN_RULE
        ]

    for (rule, endpoint), (preflight_rule, _) in run(ask_as_each_origin()):
        if rule is not None:
            assert ENDPOINT_RULE[endpoint] == rule, (raw, endpoint)
        assert preflight_rule == rule


@settings(deadline=None)
@given(raw=RAW_PATHS)
@example(raw="//api/admin/users")
@example(raw="/api/admin%2F..")
def test_differential_werkzeug_router(raw: str) -> None:
    app = WSGICORS(werkzeug_router(), routes=admin_routes())
    for origin in ORIGIN_RULE:
        rule, endpoint = wsgi_grant(app, raw, origin)
        if rule is not None:
            assert ENDPOINT_RULE.get(endpoint) == rule, (raw, endpoint)  # never a redirect
        preflight_rule, _ = wsgi_grant(app, raw, origin, "OPTIONS")
        assert preflight_rule == rule


@pytest.mark.parametrize("raw", ["//api/admin/users", "/api/admin%2F..", "/api%2Fadmin/users"])
def test_partner_never_reads_admin_through_odd_paths(
    raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="crossorigin")
    asgi = ASGICORS(starlette_router(), routes=admin_routes())
    wsgi = WSGICORS(werkzeug_router(), routes=admin_routes())
    for grant in (asgi_grant, wsgi_grant):
        app = asgi if grant is asgi_grant else wsgi
        for origin in ORIGIN_RULE:
            assert grant(app, raw, origin)[0] is None
            assert grant(app, raw, origin, "OPTIONS")[0] is None
    messages = [r.getMessage() for r in caplog.records if r.name == "crossorigin"]
    assert messages
    assert all("not in canonical form" in message for message in messages)
    # The canonical spelling still gets the admin grant.
    assert asgi_grant(asgi, "/api/admin/users", ADMIN_ORIGIN) == ("admin", "admin_users")
    assert wsgi_grant(wsgi, "/api/admin/users", ADMIN_ORIGIN) == ("admin", "admin_users")


def test_non_canonical_preflight_is_a_bare_403_and_the_app_never_sees_it() -> None:
    from .asgi_helpers import call, cors_headers

    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})

    middleware = ASGICORS(app, routes=admin_routes())
    headers = [(b"origin", PARTNER_ORIGIN.encode()), (b"access-control-request-method", b"PUT")]
    refused = call(middleware, "OPTIONS", headers, "//api/admin/users")
    assert (refused.status, cors_headers(refused.headers), refused.body) == (403, [], b"")
    assert seen == []
    # Without Origin it is no CORS request at all: the app answers, nothing is added.
    plain = call(middleware, "GET", [], "//api/admin/users")
    assert (plain.status, plain.headers, plain.body) == (200, [], b"app")
    actual = call(middleware, "GET", headers[:1], "/api/./admin")
    assert (actual.status, actual.headers, actual.body) == (200, [], b"app")
    assert seen == ["//api/admin/users", "/api/./admin"]


@settings(deadline=None)
@given(
    path=st.text(),
    raw_path=st.one_of(st.none(), st.binary(), st.text(), st.integers()),
    origin=st.one_of(st.none(), st.binary(max_size=64)),
    method=st.sampled_from(["GET", "OPTIONS", "PUT", "patch"]),
)
def test_routed_asgi_middleware_never_raises(
    path: str, raw_path: Any, origin: bytes | None, method: str
) -> None:
    from .asgi_helpers import Exchange, http_scope, run

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [] if origin is None else [(b"origin", origin)]
    if method == "OPTIONS":
        headers.append((b"access-control-request-method", b"PUT"))
    scope = http_scope(method, "/", headers)
    scope["path"], scope["raw_path"] = path, raw_path
    exchange = Exchange()
    run(ASGICORS(app, routes=table())(scope, exchange.receive, exchange.send))
    granted = dict(exchange.headers).get(b"access-control-allow-origin")
    assert granted in (None, b"*", b"https://app.example")
    if granted is not None:
        assert is_canonical_path(path, raw_path if isinstance(raw_path, (str, bytes)) else None)


@pytest.mark.parametrize("factory", [ASGICORS, WSGICORS])
def test_regex_shadowing_is_refused_through_the_middleware(factory: type) -> None:
    strict = CORSPolicy(allow_origins=["https://admin.example"], allow_credentials=True)
    with pytest.raises(ConfigError, match="can never match"):
        factory(_wsgi_app, routes=[(re.compile(r"/api/.*"), PUBLIC), ("/api/private/*", strict)])
