"""The middleware under real servers on 127.0.0.1, queried over TCP with httpx.

ASGI: the Starlette app of ``test_asgi`` behind uvicorn. WSGI: the Flask app of
``test_wsgi`` (plus a raw app that raises) behind wsgiref and waitress, each in a thread.
Every server binds port 0 on 127.0.0.1, reports the port it got, and stops at the end of
its fixture.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import ssl
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
import uvicorn
import waitress
from waitress import wasyncore
from waitress.server import BaseWSGIServer
from websockets.sync.client import connect as websocket_connect
from websockets.typing import Origin
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from crossorigin.asgi import CORSMiddleware as ASGICORSMiddleware
from crossorigin.wsgi import CORSMiddleware as WSGICORSMiddleware
from crossorigin.wsgi import Environ, StartResponse

from . import test_asgi, test_routes, test_wsgi
from .adapter_policy import ASGI_PREFLIGHT_GRANT, GRANT, OPTIONS, ORIGIN, OTHER, PREFLIGHT_GRANT

pytestmark = pytest.mark.server

HOST = "127.0.0.1"


def wait_for(condition: Any, what: str, thread: threading.Thread) -> None:
    """Poll ``condition`` for at most 10 s while the server thread starts."""
    for _ in range(1000):
        if condition():
            return
        if not thread.is_alive():
            break
        time.sleep(0.01)
    pytest.fail(f"{what} did not start on {HOST}")


def cors_of(response: httpx.Response) -> dict[str, str]:
    return test_asgi.cors_of(response)


# Only plain HTTP on loopback is used; one shared TLS context spares every client from
# loading the CA bundle again.
_TLS_CONTEXT = ssl.create_default_context()


def http_client(base_url: str) -> httpx.Client:
    # trust_env=False: no proxy from the environment may come between us and loopback.
    return httpx.Client(base_url=base_url, timeout=10, trust_env=False, verify=_TLS_CONTEXT)


# --- uvicorn -------------------------------------------------------------------------------


class Uvicorn:
    def __init__(self, url: str, calls: list[str], state: dict[str, Any]) -> None:
        self.url = url
        self.calls = calls
        self.state = state


@pytest.fixture(scope="module", params=["h11", "httptools"])
def uvicorn_server(request: pytest.FixtureRequest) -> Iterator[Uvicorn]:
    calls: list[str] = []
    state: dict[str, Any] = {}
    app = test_asgi.make_starlette(calls, state)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=0,
        http=request.param,
        ws="websockets-sansio",
        lifespan="on",
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn", thread)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Uvicorn(f"http://{HOST}:{port}", calls, state)
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()
    assert state == {"started": True, "stopped": True}


@pytest.fixture
def uv(uvicorn_server: Uvicorn) -> Iterator[tuple[Uvicorn, httpx.Client]]:
    uvicorn_server.calls.clear()
    with http_client(uvicorn_server.url) as client:
        yield uvicorn_server, client


def test_uvicorn_lifespan_ran(uv: tuple[Uvicorn, httpx.Client]) -> None:
    server, _ = uv
    assert server.state == {"started": True}


def test_uvicorn_preflights(uv: tuple[Uvicorn, httpx.Client]) -> None:
    server, client = uv
    allowed = client.options(
        "/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    )
    assert allowed.status_code == 204
    assert cors_of(allowed) == ASGI_PREFLIGHT_GRANT
    assert allowed.headers.get_list("vary") == ["Origin"]
    refused = client.options(
        "/",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-token,x-unlisted",
        },
    )
    assert refused.status_code == 403
    assert cors_of(refused) == {}
    assert refused.content == b""
    assert server.calls == []


def test_uvicorn_actual_requests(
    uv: tuple[Uvicorn, httpx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    server, client = uv
    allowed = client.put("/", headers={"Origin": ORIGIN})
    assert allowed.text == "hello PUT"
    assert cors_of(allowed) == GRANT
    refused = client.get("/", headers={"Origin": OTHER})
    assert refused.text == "hello GET"
    assert cors_of(refused) == {}
    assert refused.headers.get_list("vary") == ["Origin"]
    assert server.calls == ["PUT /", "GET /"]
    assert [r.getMessage() for r in caplog.records if r.name == "crossorigin"] == [
        "refused actual 'GET' '/': origin 'https://evil.example.net' is not allowed"
    ]


def test_uvicorn_unhandled_exception_is_a_complete_500_with_the_grant(
    uv: tuple[Uvicorn, httpx.Client],
) -> None:
    _, client = uv
    response = client.get("/raise", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["content-length"] == "21"
    assert response.headers["connection"] == "close"
    assert cors_of(response) == GRANT
    # The server logged the error and carries on serving; the client knew to reconnect.
    for _ in range(3):
        assert client.get("/raise", headers={"Origin": ORIGIN}).status_code == 500
        assert client.get("/", headers={"Origin": ORIGIN}).status_code == 200


def test_uvicorn_app_error_status_keeps_the_grant(uv: tuple[Uvicorn, httpx.Client]) -> None:
    _, client = uv
    for path, code in (("/status/500", 500), ("/missing", 404)):
        response = client.get(path, headers={"Origin": ORIGIN})
        assert response.status_code == code
        assert cors_of(response) == GRANT


def test_uvicorn_streaming_response(uv: tuple[Uvicorn, httpx.Client]) -> None:
    _, client = uv
    with client.stream("GET", "/stream", headers={"Origin": ORIGIN}) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert cors_of(response) == GRANT
        assert b"".join(response.iter_bytes()) == b"onetwothree"


@pytest.mark.parametrize(
    "origins",
    [
        [ORIGIN.encode(), ORIGIN.encode()],
        [b"https://\xc3\xa9.example.com"],
        [b"https://" + b"a" * 8192 + b".example.com"],
        [b"HTTPS://APP.EXAMPLE.COM"],
    ],
    ids=["repeated", "non-ascii", "8kB", "upper-case"],
)
def test_uvicorn_odd_origins_are_refused(
    uv: tuple[Uvicorn, httpx.Client], origins: list[bytes]
) -> None:
    server, client = uv
    headers = [(b"origin", origin) for origin in origins]
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert cors_of(response) == {}
    preflight = client.options("/", headers=[*headers, (b"access-control-request-method", b"PUT")])
    assert preflight.status_code == 403
    assert cors_of(preflight) == {}
    assert server.calls == ["GET /"]


def test_uvicorn_websocket_through_the_middleware(uv: tuple[Uvicorn, httpx.Client]) -> None:
    server, _ = uv
    url = server.url.replace("http://", "ws://") + "/ws"
    # proxy=None: never a proxy from the environment between us and loopback.
    with websocket_connect(url, origin=Origin(OTHER), proxy=None, open_timeout=10) as websocket:
        websocket.send("hi")
        assert websocket.recv(timeout=10) == "echo hi"


# --- WSGI servers --------------------------------------------------------------------------


def raw_raising_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise LookupError("raw failure under a real server")


class WSGIStack:
    """Flask handling its errors at ``/``, Flask propagating them at ``/propagate``, a raw
    raising app at ``/raw``: each wrapped in the CORS middleware."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        flask_app = test_wsgi.make_flask(self.calls)
        propagating = test_wsgi.make_flask(self.calls)
        propagating.config["PROPAGATE_EXCEPTIONS"] = True
        raw = WSGICORSMiddleware(raw_raising_app, **OPTIONS)
        self.app = DispatcherMiddleware(flask_app, {"/propagate": propagating, "/raw": raw})


class QuietHandler(WSGIRequestHandler):
    # Without TCP_NODELAY each response waits on a delayed ACK between small writes.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_wsgiref(app: Any) -> Generator[str, None, None]:
    server: WSGIServer = make_server(HOST, 0, app, handler_class=QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wsgiref", daemon=True
    )
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def serve_waitress(app: Any, threads: int = 2) -> Generator[str, None, None]:
    server = waitress.create_server(
        app,
        host=HOST,
        port=0,
        threads=threads,
        asyncore_loop_timeout=0.05,
        clear_untrusted_proxy_headers=True,
    )
    assert isinstance(server, BaseWSGIServer)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.effective_port}"
    finally:
        # waitress's loop runs until its socket map is empty; emptying it from another
        # thread races with poll(), so the trigger runs the close inside the loop thread.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(10)
        server.task_dispatcher.shutdown()


class WSGIServerUnderTest:
    def __init__(self, name: str, url: str, stack: WSGIStack) -> None:
        self.name = name
        self.url = url
        self.calls = stack.calls


@pytest.fixture(scope="module", params=["wsgiref", "waitress"])
def wsgi_server(request: pytest.FixtureRequest) -> Iterator[WSGIServerUnderTest]:
    name: str = request.param
    stack = WSGIStack()
    serve = serve_wsgiref if name == "wsgiref" else serve_waitress
    servers = serve(stack.app)
    url = next(servers)
    try:
        with http_client(url) as client:
            wait_for_http(client)
        yield WSGIServerUnderTest(name, url, stack)
    finally:
        servers.close()


def wait_for_http(client: httpx.Client) -> None:
    for _ in range(100):
        try:
            client.get("/status/204")
            return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("WSGI server did not answer on 127.0.0.1")


@pytest.fixture
def ws(wsgi_server: WSGIServerUnderTest) -> Iterator[tuple[WSGIServerUnderTest, httpx.Client]]:
    wsgi_server.calls.clear()
    with http_client(wsgi_server.url) as client:
        yield wsgi_server, client


def test_wsgi_preflights(ws: tuple[WSGIServerUnderTest, httpx.Client]) -> None:
    server, client = ws
    allowed = client.options(
        "/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert allowed.status_code == 204
    assert cors_of(allowed) == PREFLIGHT_GRANT
    assert allowed.headers.get_list("vary") == ["Origin"]
    refused = client.options("/", headers={"Origin": OTHER, "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 403
    assert cors_of(refused) == {}
    assert refused.content == b""
    assert server.calls == []


def test_wsgi_actual_requests(ws: tuple[WSGIServerUnderTest, httpx.Client]) -> None:
    server, client = ws
    allowed = client.post("/", headers={"Origin": ORIGIN})
    assert allowed.text == "hello POST"
    assert cors_of(allowed) == GRANT
    refused = client.get("/", headers={"Origin": OTHER})
    assert refused.text == "hello GET"
    assert cors_of(refused) == {}
    assert refused.headers.get_list("vary") == ["Origin"]
    assert server.calls == ["POST /", "GET /"]


def test_wsgi_repeated_origin_is_refused(ws: tuple[WSGIServerUnderTest, httpx.Client]) -> None:
    server, client = ws
    response = client.get("/", headers=[("Origin", ORIGIN), ("Origin", ORIGIN)])
    assert response.text == "hello GET"
    assert cors_of(response) == {}
    assert server.calls == ["GET /"]


@pytest.mark.parametrize("path", ["/raise", "/propagate/raise", "/raw"])
def test_wsgi_failures_are_complete_500s_with_the_grant(
    ws: tuple[WSGIServerUnderTest, httpx.Client], path: str
) -> None:
    # /raise: Flask turns the error into its own 500. /propagate/raise and /raw: the
    # exception reaches the middleware, which answers the 500 and re-raises to the server.
    server, client = ws
    response = client.get(path, headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert int(response.headers["content-length"]) == len(response.content)
    assert cors_of(response) == GRANT
    assert response.headers.get_list("vary") == ["Origin"]
    # The server saw the exception (waitress then closes that connection, so ask again
    # on a new one) and carries on serving.
    with http_client(server.url) as fresh:
        assert fresh.get("/", headers={"Origin": ORIGIN}).status_code == 200


def test_wsgi_streaming_response(ws: tuple[WSGIServerUnderTest, httpx.Client]) -> None:
    _, client = ws
    with client.stream("GET", "/stream", headers={"Origin": ORIGIN}) as response:
        assert cors_of(response) == GRANT
        assert b"".join(response.iter_bytes()) == b"onetwothree"


# --- routes fail closed under real servers ---------------------------------------------------


def raw_get(url: str, target: str, origin: str) -> tuple[int, dict[str, str], str]:
    """GET ``target`` exactly as written (http.client sends it verbatim; httpx would
    normalise the path first)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target, headers={"Origin": origin})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read().decode()
    finally:
        connection.close()


@contextlib.contextmanager
def uvicorn_serving(app: Any, http: str = "h11") -> Iterator[str]:
    config = uvicorn.Config(app, host=HOST, port=0, http=http, lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-routes", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn", thread)
        yield f"http://{HOST}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_uvicorn_routes_fail_closed_on_odd_paths(http: str) -> None:
    app = ASGICORSMiddleware(test_routes.starlette_router(), routes=test_routes.admin_routes())
    with uvicorn_serving(app, http) as url:
        for target in ("//api/admin/users", "/api/admin%2F..", "/api%2Fadmin/users"):
            status, headers, body = raw_get(url, target, test_routes.PARTNER_ORIGIN)
            # The router serves an admin endpoint (or the catch-all), never with a grant.
            assert status == 200, (target, body)
            assert "access-control-allow-origin" not in headers, (target, body)
        _, headers, body = raw_get(url, "/api/admin/..", test_routes.PARTNER_ORIGIN)
        assert (body, headers.get("access-control-allow-origin")) == ("admin_rest", None)
        _, headers, body = raw_get(url, "/api/admin/users", test_routes.ADMIN_ORIGIN)
        assert (body, headers["access-control-allow-origin"]) == (
            "admin_users",
            test_routes.ADMIN_ORIGIN,
        )


def test_waitress_routes_fail_closed_on_odd_paths() -> None:
    app = WSGICORSMiddleware(test_routes.werkzeug_router(), routes=test_routes.admin_routes())
    servers = serve_waitress(app)
    url = next(servers)
    try:
        for target in ("//api/admin/users", "/api/admin%2F..", "/api%2Fadmin/users"):
            status, headers, body = raw_get(url, target, test_routes.PARTNER_ORIGIN)
            assert "access-control-allow-origin" not in headers, (target, status, body)
        # waitress passes '/api/admin%2F..' on as PATH_INFO '/api/admin/..': Werkzeug
        # serves the admin endpoint, and the partner origin gets nothing.
        status, headers, body = raw_get(url, "/api/admin%2F..", test_routes.PARTNER_ORIGIN)
        assert (status, body) == (200, "admin_rest")
        _, headers, body = raw_get(url, "/api/admin/users", test_routes.ADMIN_ORIGIN)
        assert (body, headers["access-control-allow-origin"]) == (
            "admin_users",
            test_routes.ADMIN_ORIGIN,
        )
    finally:
        servers.close()
