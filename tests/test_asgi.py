"""The ASGI middleware under real Starlette and FastAPI apps, and as a raw ASGI callable.

Starlette apps go through ``TestClient`` (a real httpx client over the ASGI interface);
raw calls with fake ``receive``/``send`` cover the bytes no client library will send and
show every ASGI message the middleware emits.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from crossorigin import ConfigError, CORSPolicy
from crossorigin.asgi import ASGIApp, CORSMiddleware, Message, Receive, Scope, Send

from .adapter_policy import ASGI_PREFLIGHT_GRANT, GRANT, OPTIONS, ORIGIN, OTHER
from .asgi_helpers import Exchange, call, cors_headers, http_scope, run, values

# --- a real Starlette app ------------------------------------------------------------------


class CountCalls:
    """Sits between the CORS middleware and the app: records every HTTP request it passes on."""

    def __init__(self, app: ASGIApp, calls: list[str]) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


async def hello(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.method}", headers={"X-Total": "3"})


async def with_vary(request: Request) -> Response:
    return PlainTextResponse("varies", headers={"Vary": request.query_params["vary"]})


async def own_cors(request: Request) -> Response:
    # An app (or an older CORS layer inside it) setting its own grant, which must not leak.
    return PlainTextResponse(
        "own",
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": "X-Secret",
            "access-control-allow-methods": "PATCH",
        },
    )


async def status(request: Request) -> Response:
    return PlainTextResponse("status", status_code=int(request.path_params["code"]))


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def not_found(request: Request) -> Response:
    raise HTTPException(404, "no such thing")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"one", b"two", b"three"):
            yield chunk

    return StreamingResponse(chunks(), media_type="text/plain")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(f"echo {text}")
    await websocket.close()


def make_starlette(
    calls: list[str], state: dict[str, Any] | None = None, **options: Any
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state is not None:
            state["started"] = True
        yield
        if state is not None:
            state["stopped"] = True

    app = Starlette(
        routes=[
            Route("/", hello, methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
            Route("/vary", with_vary),
            Route("/own-cors", own_cors),
            Route("/status/{code:int}", status),
            Route("/raise", boom),
            Route("/missing", not_found),
            Route("/stream", stream),
            WebSocketRoute("/ws", echo),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(CountCalls, calls=calls)
    app.add_middleware(CORSMiddleware, **(options or OPTIONS))
    return app


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def client(calls: list[str]) -> Iterator[TestClient]:
    with TestClient(make_starlette(calls), base_url="http://api.example.com") as test_client:
        yield test_client


def cors_of(response: httpx.Response) -> dict[str, str]:
    """The response's CORS headers; fails if any of them appears twice."""
    items = [(k, v) for k, v in response.headers.multi_items() if k.startswith("access-control-")]
    names = [k for k, _ in items]
    assert len(names) == len(set(names)), f"duplicated CORS headers: {items}"
    return dict(items)


def preflight_headers(
    origin: str = ORIGIN, method: str = "PUT", headers: str | None = None, **extra: str
) -> dict[str, str]:
    result = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    if headers is not None:
        result["Access-Control-Request-Headers"] = headers
    return result


# --- preflights ----------------------------------------------------------------------------


def test_allowed_preflight_is_answered_by_the_middleware(
    client: TestClient, calls: list[str]
) -> None:
    response = client.options("/", headers=preflight_headers(headers="content-type,x-token"))
    assert response.status_code == 204
    assert cors_of(response) == ASGI_PREFLIGHT_GRANT
    assert response.headers.get_list("vary") == ["Origin"]
    assert response.content == b""
    assert calls == []


def test_preflight_status_option_is_used(calls: list[str]) -> None:
    app = make_starlette(calls, allow_origins=[ORIGIN], allow_methods=["PUT"], preflight_status=200)
    with TestClient(app) as test_client:
        response = test_client.options("/", headers=preflight_headers())
    assert response.status_code == 200
    assert response.headers["content-length"] == "0"
    assert cors_of(response)["access-control-allow-origin"] == ORIGIN
    assert calls == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (preflight_headers(origin=OTHER), "origin 'https://evil.example.net' is not allowed"),
        (preflight_headers(method="PATCH"), "method 'PATCH' is not allowed"),
        (preflight_headers(method="put"), "method 'put' is not allowed"),
        (preflight_headers(headers="x-token, x-other"), "request header(s) 'x-other' not allowed"),
        (
            preflight_headers(**{"Access-Control-Request-Private-Network": "true"}),
            "private network access ('true') is not allowed",
        ),
    ],
    ids=["origin", "method", "method-case", "header", "private-network"],
)
def test_refused_preflight_is_403_without_grant(
    client: TestClient,
    calls: list[str],
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    response = client.options("/", headers=headers)
    assert response.status_code == 403
    assert cors_of(response) == {}
    assert response.headers.get_list("vary") == ["Origin"]
    assert calls == []
    [record] = [r for r in caplog.records if r.name == "crossorigin"]
    assert record.levelno == logging.DEBUG
    assert reason in record.getMessage()
    assert "refused preflight 'OPTIONS' '/'" in record.getMessage()


def test_private_network_preflight_granted_when_allowed(calls: list[str]) -> None:
    app = make_starlette(calls, allow_origins=[ORIGIN], allow_private_network=True)
    with TestClient(app) as test_client:
        response = test_client.options(
            "/",
            headers=preflight_headers(
                method="GET", **{"Access-Control-Request-Private-Network": "true"}
            ),
        )
    assert response.status_code == 204
    assert cors_of(response)["access-control-allow-private-network"] == "true"
    assert calls == []


def test_options_without_request_method_reaches_the_app(
    client: TestClient, calls: list[str]
) -> None:
    response = client.options("/", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.text == "hello OPTIONS"
    assert cors_of(response) == GRANT
    assert calls == ["OPTIONS /"]


def test_options_with_request_method_but_no_origin_reaches_the_app(
    client: TestClient, calls: list[str]
) -> None:
    response = client.options("/", headers={"Access-Control-Request-Method": "PUT"})
    assert response.text == "hello OPTIONS"
    assert cors_of(response) == {}
    assert calls == ["OPTIONS /"]


# --- actual requests -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_allowed_actual_request_gets_the_grant(
    client: TestClient, calls: list[str], method: str
) -> None:
    response = client.request(method, "/", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.text == f"hello {method}"
    assert cors_of(response) == GRANT
    assert response.headers["x-total"] == "3"
    assert calls == [f"{method} /"]


def test_refused_origin_reaches_the_app_without_any_grant(
    client: TestClient, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    response = client.get("/", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert response.text == "hello GET"
    assert cors_of(response) == {}
    assert response.headers.get_list("vary") == ["Origin"]
    assert calls == ["GET /"]
    assert any(
        "refused actual 'GET' '/': origin 'https://evil.example.net' is not allowed"
        in r.getMessage()
        for r in caplog.records
    )


def test_allowed_requests_are_not_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    client.get("/", headers={"Origin": ORIGIN})
    client.options("/", headers=preflight_headers())
    client.get("/")
    assert [r for r in caplog.records if r.name == "crossorigin"] == []


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
def test_vary_origin_on_every_response(client: TestClient, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    for path in ("/", "/status/404", "/missing", "/stream"):
        response = client.get(path, headers=headers)
        assert response.headers.get_list("vary") == ["Origin"], path


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
@pytest.mark.parametrize(
    ("app_vary", "expected"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("origin", "origin"),
        ("Accept-Encoding, Origin", "Accept-Encoding, Origin"),
        ("Cookie,ORIGIN ,Accept", "Cookie, ORIGIN, Accept"),
        ("*", "*"),
        ("Accept, *", "*"),
    ],
)
def test_vary_is_merged_with_the_apps(
    client: TestClient, origin: str | None, app_vary: str, expected: str
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = client.get("/vary", params={"vary": app_vary}, headers=headers)
    assert response.headers.get_list("vary") == [expected]


def test_public_policy_sends_star_and_no_vary(calls: list[str]) -> None:
    with TestClient(make_starlette(calls, allow_origins="*")) as test_client:
        for headers in ({"Origin": OTHER}, {}):
            response = test_client.get("/", headers=headers)
            assert cors_of(response) == {"access-control-allow-origin": "*"}
            assert "vary" not in response.headers


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
def test_apps_own_cors_headers_are_replaced(client: TestClient, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    response = client.get("/own-cors", headers=headers)
    assert response.text == "own"
    assert cors_of(response) == (GRANT if origin == ORIGIN else {})


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 404, 418, 500, 503])
def test_app_error_statuses_keep_the_grant(client: TestClient, code: int) -> None:
    response = client.get(f"/status/{code}", headers={"Origin": ORIGIN})
    assert response.status_code == code
    assert cors_of(response) == GRANT
    assert response.headers.get_list("vary") == ["Origin"]


def test_http_exception_response_keeps_the_grant(client: TestClient) -> None:
    response = client.get("/missing", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert cors_of(response) == GRANT


@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
def test_unhandled_exception_becomes_a_500_with_the_grant(calls: list[str], origin: str) -> None:
    with TestClient(make_starlette(calls), raise_server_exceptions=False) as test_client:
        response = test_client.get("/raise", headers={"Origin": origin})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert cors_of(response) == (GRANT if origin == ORIGIN else {})
    assert response.headers.get_list("vary") == ["Origin"]
    assert calls == ["GET /raise"]


def test_unhandled_exception_still_propagates(client: TestClient) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/raise", headers={"Origin": ORIGIN})


async def raw_app_raising(scope: Scope, receive: Receive, send: Send) -> None:
    raise LookupError("raw failure")


def test_raw_app_raising_before_start_gets_a_500_then_the_error_propagates() -> None:
    middleware = CORSMiddleware(raw_app_raising, **OPTIONS)
    exchange = Exchange()
    scope = http_scope("POST", "/x", [(b"origin", ORIGIN.encode())])
    with pytest.raises(LookupError, match="raw failure"):
        run(middleware(scope, exchange.receive, exchange.send))
    assert exchange.status == 500
    assert exchange.body == b"Internal Server Error"
    assert dict(cors_headers(exchange.headers)) == {
        k.encode(): v.encode() for k, v in GRANT.items()
    }
    assert values(exchange.headers, b"vary") == [b"Origin"]
    assert values(exchange.headers, b"content-length") == [b"21"]
    assert values(exchange.headers, b"connection") == [b"close"]
    assert [m["type"] for m in exchange.sent] == ["http.response.start", "http.response.body"]
    assert exchange.sent[-1].get("more_body", False) is False


@pytest.mark.parametrize(("http_version", "close"), [("1.0", True), ("1.1", True), ("2", False)])
def test_error_response_asks_http1_clients_to_reconnect(http_version: str, close: bool) -> None:
    # The server drops the connection after the exception; on HTTP/1.x the client must be
    # told, or it reuses the connection and its next request fails. HTTP/2 forbids it.
    exchange = Exchange()
    scope = http_scope("GET", "/", [(b"origin", ORIGIN.encode())])
    scope["http_version"] = http_version
    with pytest.raises(LookupError):
        run(CORSMiddleware(raw_app_raising, **OPTIONS)(scope, exchange.receive, exchange.send))
    assert values(exchange.headers, b"connection") == ([b"close"] if close else [])


def test_raw_app_raising_after_start_is_not_answered_twice() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise LookupError("mid-stream")

    exchange = Exchange()
    with pytest.raises(LookupError, match="mid-stream"):
        run(CORSMiddleware(app, **OPTIONS)(http_scope(), exchange.receive, exchange.send))
    assert exchange.status == 200
    assert exchange.body == b"partial"


def test_error_response_failing_to_send_keeps_the_original_error() -> None:
    async def gone(message: Message) -> None:
        raise OSError("client went away")

    with pytest.raises(LookupError, match="raw failure"):
        run(CORSMiddleware(raw_app_raising, **OPTIONS)(http_scope(), Exchange().receive, gone))


# --- non-HTTP scopes and streaming ---------------------------------------------------------


def test_websocket_route_works_through_the_middleware(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"Origin": OTHER}) as websocket:
        websocket.send_text("hi")
        assert websocket.receive_text() == "echo hi"


def test_lifespan_runs_through_the_middleware(calls: list[str]) -> None:
    state: dict[str, Any] = {}
    with TestClient(make_starlette(calls, state)) as test_client:
        assert state == {"started": True}
        test_client.get("/")
    assert state == {"started": True, "stopped": True}


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
def test_non_http_scopes_pass_through_untouched(scope_type: str) -> None:
    seen: list[tuple[Scope, Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    scope: Scope = {"type": scope_type, "headers": [(b"origin", OTHER.encode())], "path": "/"}
    snapshot = dict(scope)
    exchange = Exchange()
    run(CORSMiddleware(app, **OPTIONS)(scope, exchange.receive, exchange.send))
    [(got_scope, got_receive, got_send)] = seen
    assert got_scope is scope
    assert got_scope == snapshot
    assert got_receive == exchange.receive
    assert got_send == exchange.send
    assert exchange.sent == []


def test_streaming_response_is_not_buffered(calls: list[str]) -> None:
    app = make_starlette(calls)
    exchange = Exchange()
    run(
        app(
            http_scope("GET", "/stream", [(b"origin", ORIGIN.encode())]),
            exchange.receive,
            exchange.send,
        )
    )
    bodies = [m for m in exchange.sent if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies if m["body"]] == [b"one", b"two", b"three"]
    assert exchange.status == 200
    assert values(exchange.headers, b"access-control-allow-origin") == [ORIGIN.encode()]


def test_each_chunk_is_sent_before_the_next_is_produced() -> None:
    exchange = Exchange()
    produced_after: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in (b"a", b"b", b"c"):
            # What the client has already received when the app produces this chunk.
            produced_after.append(len(exchange.sent))
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    run(CORSMiddleware(app, **OPTIONS)(http_scope(), exchange.receive, exchange.send))
    assert produced_after == [1, 2, 3]
    assert [m.get("body") for m in exchange.sent[1:]] == [b"a", b"b", b"c", b""]


# --- hostile and malformed input -----------------------------------------------------------

BAD_ORIGINS: list[bytes] = [
    b"",
    b"null",
    b"https://app.example.com/",
    b"HTTPS://APP.EXAMPLE.COM",
    b"https://app.example.com:443",
    b" https://app.example.com",
    b"https://app.example.com ",
    b"https://app.example.com, https://app.example.com",
    b"https://app.example.com\r\nX-Injected: 1",
    b"https://app.example.com\x00",
    b"https://\x1b[31mred.example.com",
    b"https://\xc3\xa9.example.com",
    b"https://app.example.com\xff",
    b"https://" + b"a" * 8192 + b".example.com",
    b"*",
    b"https://app.example.com.evil.net",
]


def assert_not_reflected(exchange: Exchange, value: bytes) -> None:
    for name, header_value in exchange.headers:
        if value:
            assert value not in header_value, (name, header_value)


@pytest.mark.parametrize("origin", BAD_ORIGINS)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_malformed_origins_are_refused_and_never_reflected(
    calls: list[str], origin: bytes, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    headers = [(b"origin", origin)]
    if method == "OPTIONS":
        headers.append((b"access-control-request-method", b"PUT"))
    exchange = call(make_starlette(calls), method, headers)
    assert cors_headers(exchange.headers) == []
    assert values(exchange.headers, b"vary") == [b"Origin"]
    assert_not_reflected(exchange, origin)
    if method == "OPTIONS":
        assert exchange.status == 403
        assert calls == []
    else:
        assert exchange.status == 200
        assert calls == ["GET /"]
    assert_logs_are_sanitised(caplog)


def assert_logs_are_sanitised(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert message.isascii(), repr(message)
        assert message.isprintable(), repr(message)
        assert len(message) < 1000


def test_repeated_origin_header_is_refused(calls: list[str]) -> None:
    headers = [(b"origin", ORIGIN.encode()), (b"origin", ORIGIN.encode())]
    exchange = call(make_starlette(calls), "GET", headers)
    assert exchange.status == 200
    assert cors_headers(exchange.headers) == []
    preflight = call(
        make_starlette(calls), "OPTIONS", [*headers, (b"access-control-request-method", b"PUT")]
    )
    assert preflight.status == 403
    assert cors_headers(preflight.headers) == []


@pytest.mark.parametrize(
    "request_method",
    [b"", b"PUT, DELETE", b"PU T", b"PUT\r\nX: 1", b"P\x00T", b"\xc3\xa9", b"X" * 8192 + b"\n"],
)
@pytest.mark.parametrize("allow_methods", [["PUT"], "*"])
def test_request_method_that_is_not_a_token_is_refused(
    calls: list[str],
    request_method: bytes,
    allow_methods: list[str] | str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    app = make_starlette(calls, allow_origins=[ORIGIN], allow_methods=allow_methods)
    headers = [(b"origin", ORIGIN.encode()), (b"access-control-request-method", request_method)]
    exchange = call(app, "OPTIONS", headers)
    assert exchange.status == 403
    assert cors_headers(exchange.headers) == []
    assert calls == []
    assert_not_reflected(exchange, request_method)
    assert_logs_are_sanitised(caplog)
    assert any("method" in r.getMessage() for r in caplog.records)


def test_star_methods_echo_a_method_but_never_a_huge_one(calls: list[str]) -> None:
    app = make_starlette(calls, allow_origins=[ORIGIN], allow_methods="*")
    headers = [(b"origin", ORIGIN.encode()), (b"access-control-request-method", b"PURGE")]
    exchange = call(app, "OPTIONS", headers)
    assert exchange.status == 204
    assert values(exchange.headers, b"access-control-allow-methods") == [b"PURGE"]
    assert values(exchange.headers, b"vary") == [b"Origin, Access-Control-Request-Method"]
    # Echoed answers are bounded: a method longer than any real one is refused, not copied.
    huge = b"X" * 8192
    headers = [(b"origin", ORIGIN.encode()), (b"access-control-request-method", huge)]
    exchange = call(app, "OPTIONS", headers)
    assert exchange.status == 403
    assert cors_headers(exchange.headers) == []
    assert_not_reflected(exchange, huge)


def test_huge_request_headers_list_is_refused_and_truncated_in_logs(
    calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    huge = b",".join(b"x-h%d" % i for i in range(20_000))[: 100 * 1024]
    assert len(huge) == 100 * 1024
    headers = [
        (b"origin", ORIGIN.encode()),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", huge),
    ]
    exchange = call(make_starlette(calls), "OPTIONS", headers)
    assert exchange.status == 403
    assert cors_headers(exchange.headers) == []
    assert calls == []
    assert_logs_are_sanitised(caplog)
    assert any("chars)" in r.getMessage() for r in caplog.records)


def test_huge_request_headers_list_of_allowed_names_is_granted(calls: list[str]) -> None:
    huge = b", ".join([b"X-Token", b"content-type"] * 8000)
    headers = [
        (b"origin", ORIGIN.encode()),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", huge),
    ]
    exchange = call(make_starlette(calls), "OPTIONS", headers)
    assert exchange.status == 204
    assert values(exchange.headers, b"access-control-allow-origin") == [ORIGIN.encode()]
    assert_not_reflected(exchange, huge)


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example.net\r\nSet-Cookie: a=b",
        b"https://e\x00vil.net\x7f\x1b[2J",
        b"\xff\xfe" * 300,
    ],
)
def test_refusal_log_never_carries_raw_control_characters(
    origin: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    path = "/p\r\nath\x00" + "x" * 500

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = CORSMiddleware(app, **OPTIONS)
    call(middleware, "GET", [(b"origin", origin)], path=path)
    call(
        middleware,
        "OPTIONS",
        [(b"origin", origin), (b"access-control-request-method", b"GET")],
        path,
    )
    records = [r for r in caplog.records if r.name == "crossorigin"]
    assert len(records) == 2
    for record in records:
        message = record.getMessage()
        for raw in "\r\n\x00\x1b\x7f\xff":
            assert raw not in message
        assert "is not allowed" in message
        assert "... (" in message  # the long path was truncated
    assert_logs_are_sanitised(caplog)


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


_header_bytes = st.binary(max_size=300) | st.sampled_from(
    [ORIGIN.encode(), b"PUT", b"x-token", b"true", b"null"]
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "get"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"origin",
                    b"access-control-request-method",
                    b"access-control-request-headers",
                    b"access-control-request-private-network",
                ]
            ),
            _header_bytes,
        ),
        max_size=5,
    ),
)
def test_arbitrary_request_bytes_never_raise_nor_leak(
    method: str, headers: list[tuple[bytes, bytes]]
) -> None:
    exchange = Exchange()
    coroutine = CORSMiddleware(ok_app, **OPTIONS)(
        http_scope(method, "/", headers), exchange.receive, exchange.send
    )
    # The fake receive/send never suspend, so the whole call completes in one step.
    with pytest.raises(StopIteration):
        coroutine.send(None)
    assert exchange.status in (200, 204, 403)
    granted = values(exchange.headers, b"access-control-allow-origin")
    assert granted in ([], [ORIGIN.encode()])
    if granted:
        assert [v for k, v in headers if k == b"origin"] == [ORIGIN.encode()]
    for name, value in exchange.headers:
        assert b"\r" not in value, (name, value)
        assert b"\n" not in value, (name, value)
    assert len(values(exchange.headers, b"vary")) == 1


# --- configuration and framework usage -----------------------------------------------------


def test_fastapi_add_middleware() -> None:
    calls: list[str] = []
    app = FastAPI()

    @app.get("/items/{item}")
    async def item(item: int) -> dict[str, int]:
        return {"item": item}

    @app.get("/fail")
    async def fail() -> dict[str, int]:
        raise RuntimeError("fastapi failure")

    app.add_middleware(CountCalls, calls=calls)
    app.add_middleware(CORSMiddleware, **OPTIONS)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        preflight = test_client.options("/items/1", headers=preflight_headers(method="DELETE"))
        assert preflight.status_code == 204
        assert cors_of(preflight) == ASGI_PREFLIGHT_GRANT
        assert calls == []

        response = test_client.get("/items/7", headers={"Origin": ORIGIN})
        assert response.json() == {"item": 7}
        assert cors_of(response) == GRANT

        invalid = test_client.get("/items/nope", headers={"Origin": ORIGIN})
        assert invalid.status_code == 422
        assert cors_of(invalid) == GRANT

        refused = test_client.get("/items/7", headers={"Origin": OTHER})
        assert refused.json() == {"item": 7}
        assert cors_of(refused) == {}
        assert refused.headers["vary"] == "Origin"

        failed = test_client.get("/fail", headers={"Origin": ORIGIN})
        assert failed.status_code == 500
        assert cors_of(failed) == GRANT
    assert calls == ["GET /items/7", "GET /items/nope", "GET /items/7", "GET /fail"]


def test_starlette_middleware_list_and_policy_object() -> None:
    from starlette.middleware import Middleware

    policy = CORSPolicy(allow_origins=[ORIGIN])
    app = Starlette(
        routes=[Route("/", hello)], middleware=[Middleware(CORSMiddleware, policy=policy)]
    )
    with TestClient(app) as test_client:
        response = test_client.get("/", headers={"Origin": ORIGIN})
    assert cors_of(response) == {"access-control-allow-origin": ORIGIN}


def test_starlette_keyword_names_are_accepted() -> None:
    middleware = CORSMiddleware(
        ok_app,
        allow_origins=[ORIGIN],
        allow_origin_regex=r"https://[a-z0-9-]+\.tenant\.example\.com",
        allow_methods=["GET", "PATCH"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Total"],
        max_age=60,
    )
    exchange = call(middleware, "GET", [(b"origin", b"https://a1.tenant.example.com")])
    assert values(exchange.headers, b"access-control-allow-origin") == [
        b"https://a1.tenant.example.com"
    ]
    assert middleware.policy.max_age == 60


def test_policy_and_options_together_raise() -> None:
    with pytest.raises(ConfigError, match="both given"):
        CORSMiddleware(ok_app, policy=CORSPolicy(allow_origins=[ORIGIN]), allow_origins=[ORIGIN])


def test_unknown_option_raises_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'allow_origins'") as caught:
        CORSMiddleware(ok_app, allow_origin=[ORIGIN])
    assert [p.option for p in caught.value.problems] == ["allow_origin"]


@pytest.mark.parametrize(
    "options",
    [
        {"allow_origins": ["*"], "allow_credentials": True},
        {"allow_origin": [ORIGIN]},
        {"allow_origins": ["https://app.example.com/"]},
        {"allow_methods": ["put"]},
    ],
    ids=["star-with-credentials", "typo", "trailing-slash", "no-origins-bad-method"],
)
def test_bad_config_through_add_middleware_fails_on_startup(options: dict[str, Any]) -> None:
    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(CORSMiddleware, **options)
    with pytest.raises(ConfigError), TestClient(app):
        pass


@pytest.mark.parametrize("options", [{}, {"allow_origins": []}, {"allow_origin_regex": None}])
def test_no_origins_starts_and_grants_nothing_like_starlette(
    options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="crossorigin")
    app = Starlette(routes=[Route("/", hello)])
    app.add_middleware(CORSMiddleware, **options)
    with TestClient(app) as test_client:
        actual = test_client.get("/", headers={"Origin": ORIGIN})
        preflight = test_client.options(
            "/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
    assert actual.status_code == 200
    assert cors_of(actual) == {}
    assert actual.headers["vary"] == "Origin"
    assert preflight.status_code == 403
    assert cors_of(preflight) == {}
    assert "no allowed origins" in caplog.text
    # The core keeps refusing an empty allow-list: only Starlette's option names mean this.
    with pytest.raises(ConfigError, match="allows no origin"):
        CORSPolicy(**options)


def test_starlette_default_max_age_is_kept() -> None:
    middleware = CORSMiddleware(ok_app, allow_origins=[ORIGIN], allow_methods=["PUT"])
    assert middleware.policy.max_age == 600
    explicit = CORSMiddleware(ok_app, allow_origins=[ORIGIN], max_age=None)
    assert explicit.policy.max_age is None
    # A policy object is taken as it is: no Starlette defaults are added to it.
    given = CORSMiddleware(ok_app, policy=CORSPolicy(allow_origins=[ORIGIN]))
    assert given.policy.max_age is None


async def custom_500(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"custom: {exc}", status_code=500)


def test_wrapping_the_whole_app_keeps_a_custom_500_handler_and_the_grant() -> None:
    # Outside Starlette's ServerErrorMiddleware, the app's own 500 page passes through us.
    app = Starlette(routes=[Route("/raise", boom)], exception_handlers={500: custom_500})
    wrapped = CORSMiddleware(app, **OPTIONS)
    with TestClient(wrapped, raise_server_exceptions=False) as test_client:
        response = test_client.get("/raise", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.text == "custom: boom"
    assert cors_of(response) == GRANT


def test_add_middleware_answers_500_before_a_custom_handler() -> None:
    # Inside ServerErrorMiddleware the grant wins over the custom page: the handler still
    # runs (for its logging), but the 500 already sent is ours. Documented trade-off.
    handled: list[str] = []

    async def handler(request: Request, exc: Exception) -> Response:
        handled.append(str(exc))
        return await custom_500(request, exc)

    app = Starlette(routes=[Route("/raise", boom)], exception_handlers={500: handler})
    app.add_middleware(CORSMiddleware, **OPTIONS)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/raise", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert cors_of(response) == GRANT
    assert handled == ["boom"]


def test_an_app_reusing_one_start_message_never_leaks_a_previous_grant() -> None:
    # Some raw apps send the same prebuilt message dict on every request.
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"vary", b"Accept")],
    }
    body: Message = {"type": "http.response.body", "body": b"shared"}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start)
        await send(body)

    middleware = CORSMiddleware(app, **OPTIONS)
    allowed = call(middleware, "GET", [(b"origin", ORIGIN.encode())])
    refused = call(middleware, "GET", [(b"origin", OTHER.encode())])
    again = call(middleware, "GET", [(b"origin", ORIGIN.encode())])
    assert values(allowed.headers, b"access-control-allow-origin") == [ORIGIN.encode()]
    assert cors_headers(refused.headers) == []
    assert values(again.headers, b"access-control-allow-origin") == [ORIGIN.encode()]
    for exchange in (allowed, refused, again):
        assert values(exchange.headers, b"vary") == [b"Accept, Origin"]
    assert start["headers"] == [(b"vary", b"Accept")]


def test_app_by_keyword_for_litestars_define_middleware() -> None:
    """Litestar's ``DefineMiddleware`` passes the wrapped app as ``app=``."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    middleware = CORSMiddleware(app=inner, allow_origins=["https://app.example.com"])
    assert middleware.app is inner
    with pytest.raises(TypeError, match="needs the ASGI app"):
        CORSMiddleware(allow_origins=["https://app.example.com"])


# --- preflight passthrough, and a ConfigError held through Starlette's lazy build -----------


def test_preflight_passthrough_failure_is_a_500_with_the_grant() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("preflight handler failed")

    middleware = CORSMiddleware(failing, preflight_passthrough=True, **OPTIONS)
    exchange = Exchange()
    scope = http_scope(
        "OPTIONS", "/", [(b"origin", ORIGIN.encode()), (b"access-control-request-method", b"PUT")]
    )
    with pytest.raises(LookupError):
        run(middleware(scope, exchange.receive, exchange.send))
    assert exchange.status == 500
    assert dict(cors_headers(exchange.headers)) == {
        name.encode(): value.encode() for name, value in ASGI_PREFLIGHT_GRANT.items()
    }
    assert values(exchange.headers, b"vary") == [b"Origin"]


def lazily_built(**options: Any) -> Starlette:
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app = Starlette(routes=[Route("/", hello), WebSocketRoute("/ws", ws)])
    app.add_middleware(CORSMiddleware, **options)
    return app


def test_held_config_error_never_serves(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="crossorigin")
    app = lazily_built(allow_origins=["https://app.example.com/"])
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/", headers={"Origin": ORIGIN})
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert cors_of(response) == {}
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1011
    messages = [r.getMessage() for r in caplog.records if r.name == "crossorigin"]
    assert len(messages) == 2
    assert all("CORSMiddleware cannot start" in m and "allow_origins" in m for m in messages)


def test_held_config_error_fails_the_lifespan_startup_with_its_text() -> None:
    app = lazily_built(allow_origin=[ORIGIN])
    sent: list[Message] = []
    messages = iter([{"type": "lifespan.startup"}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(ConfigError, match="did you mean 'allow_origins'"):
        run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    [failed] = sent
    assert failed["type"] == "lifespan.startup.failed"
    assert "did you mean 'allow_origins'" in failed["message"]


def test_any_error_during_the_lazy_build_fails_the_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not only a ConfigError: whatever stops the middleware from being built must stop the
    # server, or uvicorn's lifespan="auto" would take it for "lifespan unsupported".
    import crossorigin.asgi

    def broken(*args: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(crossorigin.asgi, "policy_or_routes", broken)
    with pytest.raises(RuntimeError, match="unexpected"):
        CORSMiddleware(ok_app, allow_origins=[ORIGIN])
    with pytest.raises(RuntimeError, match="unexpected"), TestClient(lazily_built()):
        pass
