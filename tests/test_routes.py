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
from hypothesis import given
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
