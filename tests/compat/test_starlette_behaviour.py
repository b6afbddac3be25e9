"""Starlette's and FastAPI's ``CORSMiddleware`` replaced by crossorigin's, through the real
frameworks: what stays the same, and each deliberate difference (docs/migration.md).

Every test runs the same app under both middlewares when the comparison says something.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware as FastAPICORS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORS
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from crossorigin import ConfigError
from crossorigin.asgi import CORSMiddleware

ORIGIN = "http://localhost:8080"
OTHER = "https://evil.example"
# The FastAPI tutorial's configuration, word for word.
TUTORIAL_ORIGINS = [
    "http://localhost.tiangolo.com",
    "https://localhost.tiangolo.com",
    "http://localhost",
    "http://localhost:8080",
]
TUTORIAL: dict[str, Any] = {
    "allow_origins": TUTORIAL_ORIGINS,
    "allow_credentials": True,
    "allow_methods": ["*"],
    "allow_headers": ["*"],
}


def fastapi_app(middleware: type, **options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(cast(Any, middleware), **options)

    @app.get("/")
    async def main() -> dict[str, str]:
        return {"message": "Hello World"}

    @app.put("/items/{item_id}")
    async def put_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    return app


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello", headers={"vary": "Accept-Encoding"})


def starlette_app(middleware: type, **options: Any) -> Starlette:
    return Starlette(
        routes=[Route("/", hello, methods=["GET", "POST", "PUT", "PURGE"])],
        middleware=[Middleware(cast(Any, middleware), **options)],
    )


@pytest.fixture(params=["starlette", "crossorigin"])
def which(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


def client(app: Any) -> TestClient:
    return TestClient(app)


def preflight(
    test_client: TestClient, origin: str, method: str, headers: str | None = None, path: str = "/"
) -> Any:
    asked = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        asked["access-control-request-headers"] = headers
    return test_client.options(path, headers=asked)


def grants(response: Any, origin: str) -> bool:
    """What a browser's CORS check needs from a credentialed response (status aside)."""
    return bool(
        response.headers.get("access-control-allow-origin") == origin
        and response.headers.get("access-control-allow-credentials") == "true"
    )


# --- the FastAPI tutorial works -------------------------------------------------------------


@pytest.mark.parametrize("middleware", [FastAPICORS, CORSMiddleware], ids=["fastapi", "ours"])
def test_fastapi_tutorial_configuration(middleware: type) -> None:
    with TestClient(fastapi_app(middleware, **TUTORIAL)) as test_client:
        asked = preflight(test_client, ORIGIN, "PUT", "authorization,content-type,x-custom")
        assert 200 <= asked.status_code < 300
        assert grants(asked, ORIGIN)
        assert "PUT" in asked.headers["access-control-allow-methods"]
        allowed_headers = asked.headers["access-control-allow-headers"].lower()
        for name in ("authorization", "content-type", "x-custom"):
            assert name in allowed_headers
        put = test_client.put("/items/3", headers={"origin": ORIGIN, "authorization": "x"})
        assert put.json() == {"item_id": 3}
        assert grants(put, ORIGIN)
        assert "Origin" in put.headers["vary"]
        get = test_client.get("/", headers={"origin": OTHER})
        assert get.json() == {"message": "Hello World"}
        assert "access-control-allow-origin" not in get.headers
        refused = preflight(test_client, OTHER, "PUT", "authorization")
        assert not 200 <= refused.status_code < 300
        assert "access-control-allow-origin" not in refused.headers


def test_starlette_keyword_names_are_all_accepted(which: str) -> None:
    options: dict[str, Any] = {
        "allow_origins": [ORIGIN],
        "allow_origin_regex": r"https://([a-z0-9-]+\.)*example\.org",
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["X-Token"],
        "allow_credentials": True,
        "allow_private_network": True,
        "expose_headers": ["X-Total"],
        "max_age": 300,
    }
    middleware = StarletteCORS if which == "starlette" else CORSMiddleware
    with client(starlette_app(middleware, **options)) as test_client:
        for origin in (ORIGIN, "https://api.example.org"):
            asked = preflight(test_client, origin, "PUT", "x-token")
            assert 200 <= asked.status_code < 300
            assert grants(asked, origin)
            assert asked.headers["access-control-max-age"] == "300"
            got = test_client.get("/", headers={"origin": origin})
            assert grants(got, origin)
            assert got.headers["access-control-expose-headers"] == "X-Total"
        network = test_client.options(
            "/",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "GET",
                "access-control-request-private-network": "true",
            },
        )
        assert network.headers["access-control-allow-private-network"] == "true"
        # Only on preflights, in both.
        got = test_client.get("/", headers={"origin": ORIGIN})
        assert "access-control-allow-private-network" not in got.headers
        for origin in ("https://example.org.evil.test", "https://evilexample.org"):
            assert (
                "access-control-allow-origin"
                not in test_client.get("/", headers={"origin": origin}).headers
            )


def test_vary_is_merged_with_the_apps_own(which: str) -> None:
    middleware = StarletteCORS if which == "starlette" else CORSMiddleware
    with client(starlette_app(middleware, allow_origins=[ORIGIN])) as test_client:
        got = test_client.get("/", headers={"origin": ORIGIN})
        assert got.headers.get_list("vary") == ["Accept-Encoding, Origin"]


def test_starlettes_always_allowed_headers_stay_allowed(which: str) -> None:
    # A JSON POST asks for content-type; Starlette allows it (and Accept, Accept-Language,
    # Content-Language) whatever allow_headers says.
    middleware = StarletteCORS if which == "starlette" else CORSMiddleware
    app = starlette_app(middleware, allow_origins=[ORIGIN], allow_methods=["PUT"])
    with client(app) as test_client:
        asked = preflight(test_client, ORIGIN, "PUT", "accept-language,content-type")
        assert 200 <= asked.status_code < 300
        assert "content-type" in asked.headers["access-control-allow-headers"].lower()
        assert not 200 <= preflight(test_client, ORIGIN, "PUT", "x-other").status_code < 300


# --- a bad configuration never serves --------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: fastapi_app(CORSMiddleware, allow_origins=["*"], allow_credentials=True),
        lambda: starlette_app(CORSMiddleware, allow_origins=["*"], allow_credentials=True),
    ],
    ids=["add_middleware", "middleware-list"],
)
def test_bad_configuration_fails_the_startup(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    # With a lifespan (every server's default), the startup fails with the error's text.
    with (
        pytest.raises(ConfigError, match="cannot be combined with allow_credentials"),
        TestClient(make()),
    ):
        pass
    # Without one, nothing is ever served under the broken policy: a 500, and the log says why.
    caplog.set_level(logging.ERROR, logger="crossorigin")
    response = TestClient(make(), raise_server_exceptions=False).get(
        "/", headers={"origin": ORIGIN}
    )
    assert response.status_code == 500
    assert "access-control-allow-origin" not in response.headers
    [record] = [r for r in caplog.records if r.name == "crossorigin"]
    assert "cannot be combined with allow_credentials" in record.getMessage()


def test_direct_construction_still_raises_at_once() -> None:
    with pytest.raises(ConfigError, match="cannot be combined with allow_credentials"):
        CORSMiddleware(starlette_app(StarletteCORS), allow_origins=["*"], allow_credentials=True)


def test_starlette_accepts_what_we_refuse() -> None:
    # Starlette reflects every origin with credentials: any site reads the user's data.
    with client(starlette_app(StarletteCORS, allow_origins=["*"], allow_credentials=True)) as c:
        assert grants(c.get("/", headers={"origin": OTHER}), OTHER)


# --- still different, on purpose ---------------------------------------------------------------


def test_refused_preflight_is_a_bare_403() -> None:
    with client(starlette_app(StarletteCORS, allow_origins=[ORIGIN])) as theirs:
        refused = preflight(theirs, OTHER, "GET")
        assert (refused.status_code, refused.text) == (400, "Disallowed CORS origin")
    with client(starlette_app(CORSMiddleware, allow_origins=[ORIGIN])) as ours:
        refused = preflight(ours, OTHER, "GET")
        assert (refused.status_code, refused.content) == (403, b"")
        assert not [name for name in refused.headers if name.startswith("access-control-")]


def test_allowed_preflight_is_204_unless_asked_for_200() -> None:
    with client(starlette_app(StarletteCORS, allow_origins=[ORIGIN])) as theirs:
        assert (
            preflight(theirs, ORIGIN, "GET").status_code,
            preflight(theirs, ORIGIN, "GET").text,
        ) == (200, "OK")
    with client(starlette_app(CORSMiddleware, allow_origins=[ORIGIN])) as ours:
        assert preflight(ours, ORIGIN, "GET").status_code == 204
    app = starlette_app(CORSMiddleware, allow_origins=[ORIGIN], preflight_status=200)
    with client(app) as ours:
        assert preflight(ours, ORIGIN, "GET").status_code == 200


def test_public_policy_sends_no_vary_origin() -> None:
    with client(starlette_app(StarletteCORS, allow_origins=["*"])) as theirs:
        assert (
            theirs.get("/", headers={"origin": ORIGIN}).headers["vary"] == "Accept-Encoding, Origin"
        )
    with client(starlette_app(CORSMiddleware, allow_origins=["*"])) as ours:
        got = ours.get("/", headers={"origin": ORIGIN})
        assert got.headers["access-control-allow-origin"] == "*"
        assert got.headers["vary"] == "Accept-Encoding"


def test_star_methods_is_any_token() -> None:
    with client(
        starlette_app(StarletteCORS, allow_origins=[ORIGIN], allow_methods=["*"])
    ) as theirs:
        assert preflight(theirs, ORIGIN, "PURGE").status_code == 400
    with client(starlette_app(CORSMiddleware, allow_origins=[ORIGIN], allow_methods=["*"])) as ours:
        asked = preflight(ours, ORIGIN, "PURGE")
        assert asked.status_code == 204
        assert asked.headers["access-control-allow-methods"] == "PURGE"
        assert "Access-Control-Request-Method" in asked.headers["vary"]
        assert preflight(ours, ORIGIN, "PUR GE").status_code == 403  # never a non-token


def test_safelisted_methods_always_pass() -> None:
    # A JSON POST is preflighted with method POST; the Fetch standard never checks a
    # safelisted method against Allow-Methods, so refusing it protects nothing.
    with client(
        starlette_app(StarletteCORS, allow_origins=[ORIGIN], allow_methods=["PUT"])
    ) as theirs:
        assert preflight(theirs, ORIGIN, "POST", "content-type").status_code == 400
    with client(
        starlette_app(CORSMiddleware, allow_origins=[ORIGIN], allow_methods=["PUT"])
    ) as ours:
        assert preflight(ours, ORIGIN, "POST", "content-type").status_code == 204


def test_refused_actual_request_gets_no_cors_headers_at_all() -> None:
    options: dict[str, Any] = {
        "allow_origins": [ORIGIN],
        "allow_credentials": True,
        "expose_headers": ["X-Total"],
    }
    with client(starlette_app(StarletteCORS, **options)) as theirs:
        got = theirs.get("/", headers={"origin": OTHER})
        # Harmless (no Allow-Origin, so the browser refuses), but noise.
        assert got.headers["access-control-allow-credentials"] == "true"
    with client(starlette_app(CORSMiddleware, **options)) as ours:
        got = ours.get("/", headers={"origin": OTHER})
        assert not [name for name in got.headers if name.startswith("access-control-")]
        assert got.headers["vary"] == "Accept-Encoding, Origin"


# --- preflight passthrough (Express's preflightContinue) -----------------------------------


def passthrough_app(**options: Any) -> tuple[Starlette, list[str]]:
    seen: list[str] = []

    async def handle(request: Request) -> Response:
        seen.append(request.method)
        if request.method == "OPTIONS":
            return PlainTextResponse("app's own preflight answer", headers={"vary": "Cookie"})
        return PlainTextResponse("hello")

    app = Starlette(
        routes=[Route("/", handle, methods=["GET", "OPTIONS", "PUT"])],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[ORIGIN],
                allow_methods=["PUT"],
                allow_credentials=True,
                preflight_passthrough=True,
                **options,
            )
        ],
    )
    return app, seen


def test_preflight_passthrough_through_starlette() -> None:
    app, seen = passthrough_app()
    with client(app) as test_client:
        allowed = preflight(test_client, ORIGIN, "PUT")
        assert (allowed.status_code, allowed.text) == (200, "app's own preflight answer")
        assert grants(allowed, ORIGIN)
        assert allowed.headers["access-control-allow-methods"] == "PUT"
        assert allowed.headers.get_list("vary") == ["Cookie, Origin"]
        refused = preflight(test_client, OTHER, "PUT")
        assert (refused.status_code, refused.text) == (200, "app's own preflight answer")
        assert not [name for name in refused.headers if name.startswith("access-control-")]
        assert refused.headers.get_list("vary") == ["Cookie, Origin"]
        actual = test_client.put("/", headers={"origin": ORIGIN})
        assert grants(actual, ORIGIN)
    assert seen == ["OPTIONS", "OPTIONS", "PUT"]


def test_preflight_passthrough_under_routes() -> None:
    from crossorigin import CORSPolicy

    seen: list[str] = []

    async def handle(request: Request) -> Response:
        seen.append(request.url.path)
        return PlainTextResponse("app")

    policy = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["PUT"])
    app = CORSMiddleware(
        Starlette(routes=[Route("/{path:path}", handle, methods=["OPTIONS"])]),
        routes=[("/api/*", policy)],
        preflight_passthrough=True,
    )
    with client(app) as test_client:
        allowed = preflight(test_client, ORIGIN, "PUT", path="/api/x")
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert allowed.text == "app"
    assert seen == ["/api/x"]


@pytest.fixture(autouse=True)
def _no_leftover_logging() -> Iterator[None]:
    yield
    logging.getLogger("crossorigin").setLevel(logging.NOTSET)


def test_header_names_are_lowercase_bytes_in_our_order() -> None:
    # Starlette writes its CORS header names lowercase too (MutableHeaders); ours come in
    # the policy's order, after the app's own headers. HTTP names are case-insensitive.
    from tests.asgi_helpers import call

    app = starlette_app(CORSMiddleware, allow_origins=[ORIGIN], allow_credentials=True)
    exchange = call(app, "GET", [(b"origin", ORIGIN.encode()), (b"host", b"testserver")])
    names = [name for name, _ in exchange.headers]
    assert all(name == name.lower() for name in names)
    cors = [name for name in names if name.startswith(b"access-control-")]
    assert cors == [b"access-control-allow-origin", b"access-control-allow-credentials"]
    assert names[-1] == b"vary"
