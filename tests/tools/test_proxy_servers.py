"""``crossorigin proxy`` over real sockets: an aiohttp upstream without CORS, the proxy's own
uvicorn server, httpx and raw sockets as clients. No timing assertions: waits are bounded."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin, Subprotocol

from crossorigin.asgi import CORSMiddleware
from crossorigin.tools.proxy.config import SetupError
from crossorigin.tools.proxy.forward import POOLS, ProxyApp
from crossorigin.tools.proxy.server import build_app
from tests.conftest import require

from .proxy_servers import (
    HOST,
    WAIT,
    RunningProxy,
    Seen,
    json_body,
    proxy,
    proxy_settings,
    raw_request,
    recorder,
    self_signed,
    upstream,
)

pytestmark = pytest.mark.server

ALLOWED = "http://allowed.example"
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def up() -> Iterator[tuple[int, Seen]]:
    with upstream() as running:
        yield running


@pytest.fixture(scope="module")
def px(up: tuple[int, Seen]) -> Iterator[RunningProxy]:
    port, _ = up
    argv = [
        f"http://{HOST}:{port}",
        "--allow-origin", ALLOWED,
        "--allow-credentials",
        "--allow-method", "PUT",
        "--allow-header", "X-Token",
        "--expose-header", "X-Upstream",
        "--max-age", "60",
        "--path", "/public/*",
        "--allow-origin", "*",
    ]  # fmt: skip
    with proxy(argv) as running:
        yield running


@pytest.fixture
def seen(up: tuple[int, Seen]) -> Seen:
    recorded = up[1]
    recorded.requests.clear()
    return recorded


@pytest.fixture
def client(px: RunningProxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=px.url, timeout=WAIT, trust_env=False) as session:
        yield session


# --- the policy, applied by CORSMiddleware ---------------------------------------------------


def test_allowed_origin_gets_the_policy_grant_and_the_upstream_ones_are_dropped(
    client: httpx.Client, px: RunningProxy
) -> None:
    response = client.get("/hello", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.json() == {"hello": "world", "method": "GET"}
    assert response.headers.get_list("access-control-allow-origin") == [ALLOWED]
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "X-Upstream"
    assert response.headers["x-upstream"] == "aiohttp"
    assert "x-hop" not in response.headers  # named in the upstream's Connection header
    vary = {token.strip().lower() for token in response.headers["vary"].split(",")}
    assert vary == {"accept-encoding", "origin"}
    assert "CORS ok for 'http://allowed.example'" in px.line("GET", "/hello 200")


def test_refused_origin_gets_no_grant_at_all(client: httpx.Client, px: RunningProxy) -> None:
    response = client.get("/hello", headers={"Origin": EVIL})
    assert response.status_code == 200  # the server cannot know; the browser blocks it
    assert not any(name.startswith("access-control-") for name in response.headers)
    assert "origin" in response.headers["vary"].lower()
    px.line("/hello 200", "CORS refused: origin 'http://evil.example' is not allowed")


def test_preflights_are_answered_by_the_proxy(
    client: httpx.Client, seen: Seen, px: RunningProxy
) -> None:
    allowed = client.options(
        "/hello",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-token",
        },
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert allowed.headers["access-control-max-age"] == "60"
    refused = client.options(
        "/hello", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"}
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert seen.requests == []  # the upstream never sees a preflight
    px.line("OPTIONS", "403", "preflight refused: method 'DELETE' is not allowed")
    # A plain OPTIONS (no Access-Control-Request-Method) is an actual request: forwarded.
    client.options("/hello", headers={"Origin": ALLOWED})
    assert [method for method, _, _ in seen.requests] == ["OPTIONS"]


def test_per_path_rule(client: httpx.Client) -> None:
    response = client.get("/public/hello", headers={"Origin": EVIL})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


# --- headers -----------------------------------------------------------------------------------


def test_request_headers_forwarded(client: httpx.Client, up: tuple[int, Seen]) -> None:
    response = client.post(
        "/echo",
        content=b"payload",
        headers={
            "Origin": ALLOWED,
            "Connection": "keep-alive, X-Private",
            "X-Private": "hop",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "X-Forwarded-For": "203.0.113.9",
            "Authorization": "Bearer token",
        },
    )
    echoed = response.json()
    headers = {name.lower(): value for name, value in echoed["headers"]}
    assert echoed["body"] == "payload"
    assert headers["host"] == f"{HOST}:{up[0]}"
    assert headers["x-forwarded-for"] == f"203.0.113.9, {HOST}"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == client.base_url.netloc.decode()
    assert headers["authorization"] == "Bearer token"
    assert headers["origin"] == ALLOWED
    for hop in ("x-private", "keep-alive", "te", "proxy-authorization"):
        assert hop not in headers


def test_preserve_host(up: tuple[int, Seen]) -> None:
    with proxy([f"http://{HOST}:{up[0]}", "--allow-origin", ALLOWED, "--preserve-host"]) as px:
        echoed = httpx.get(px.url + "/echo", headers={"Host": "front.example"}, trust_env=False)
        headers = {name.lower(): value for name, value in echoed.json()["headers"]}
        assert headers["host"] == "front.example"
        assert headers["x-forwarded-host"] == "front.example"


# --- streaming ---------------------------------------------------------------------------------


def test_streamed_upload_and_download(client: httpx.Client) -> None:
    size = 20 * 1024 * 1024
    block = bytes(range(256)) * 4096

    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    uploaded = client.post("/upload", content=chunks(), headers={"Origin": ALLOWED})
    assert uploaded.json() == {
        "size": size,
        "sha256": hashlib.sha256(block * (size // len(block))).hexdigest(),
    }
    for length in ("0", "1"):
        digest = hashlib.sha256()
        total = 0
        with client.stream(
            "GET", f"/download?size={size}&length={length}", headers={"Origin": ALLOWED}
        ) as response:
            assert response.headers["access-control-allow-origin"] == ALLOWED
            assert (response.headers.get("content-length") == str(size)) == (length == "1")
            for chunk in response.iter_raw():
                digest.update(chunk)
                total += len(chunk)
        assert total == size
        expected = hashlib.sha256()
        whole = bytes(range(256)) * 256
        for start in range(0, size, len(whole)):
            expected.update(whole[: min(len(whole), size - start)])
        assert digest.hexdigest() == expected.hexdigest()


def test_server_sent_events_flow_as_produced(client: httpx.Client, seen: Seen) -> None:
    with client.stream("GET", "/sse", headers={"Origin": ALLOWED}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["access-control-allow-origin"] == ALLOWED
        lines = response.iter_lines()
        # The upstream holds the second event until the test has seen the first one.
        assert next(lines) == "data: first"
        seen.release_sse()
        rest = [line for line in lines if line]
    assert rest == ["data: second"]


def test_client_disconnect_cancels_the_upstream_request(px: RunningProxy, seen: Seen) -> None:
    seen.slow_stream_closed.clear()
    with (
        httpx.Client(timeout=WAIT, trust_env=False) as session,
        session.stream("GET", px.url + "/slow-stream") as response,
    ):
        next(response.iter_raw())
    assert seen.slow_stream_closed.wait(WAIT)
    px.line("/slow-stream", "client disconnected; upstream request cancelled")


def test_client_disconnect_during_upload_cancels_the_upstream_request(
    px: RunningProxy, client: httpx.Client, seen: Seen
) -> None:
    seen.upload_aborted.clear()
    with socket.create_connection((HOST, px.port), timeout=WAIT) as connection:
        connection.sendall(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"
            + b"u" * 1_000_000
        )
    px.line("POST", "/upload", "client disconnected during upload; upstream request cancelled")
    assert seen.upload_aborted.wait(WAIT)  # the upstream saw its request end, unfinished
    assert "Traceback" not in px.output.getvalue()
    assert client.get("/hello").status_code == 200  # still serving


# --- redirects and cookies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "location"),
    [
        ("absolute", "/hello?from=redirect"),
        ("relative", "/hello?from=relative"),
        ("elsewhere", "https://example.org/x"),
        ("tricky", "/.//evil.example/x"),  # never a scheme-relative //evil.example
    ],
)
def test_redirect_location_points_at_the_proxy(
    client: httpx.Client, to: str, location: str
) -> None:
    response = client.get(f"/redirect?to={to}", headers={"Origin": ALLOWED})
    assert response.status_code == 302
    assert response.headers["location"] == location
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_following_a_redirect_stays_on_the_proxy(client: httpx.Client) -> None:
    response = client.get("/redirect", follow_redirects=True)
    assert (response.url.host, response.url.port) == (HOST, client.base_url.port)
    assert response.json()["hello"] == "world"


def test_cookies_are_stored_for_the_proxy(client: httpx.Client) -> None:
    response = client.get("/cookie")
    cookies = response.headers.get_list("set-cookie")
    assert cookies == [
        "session=abc; Path=/; HttpOnly; SameSite=Lax",
        "other=1; Domain=example.org; Path=/",
        "hostonly=1; Path=/",
    ]
    again = client.get("/cookie")  # the client's jar now holds them for the proxy's host
    assert sorted(again.json()["cookie"].split("; ")) == ["hostonly=1", "session=abc"]


def test_the_proxy_never_keeps_a_cookie_for_the_next_client(up: tuple[int, Seen]) -> None:
    # An upstream named by host name: an httpx.AsyncClient's cookie jar would store its
    # host-only cookie and send it with the next user's requests.
    with proxy([f"http://localhost:{up[0]}", "--allow-origin", ALLOWED]) as px:
        with httpx.Client(base_url=px.url, timeout=WAIT, trust_env=False) as first:
            first.get("/cookie").raise_for_status()
        for _ in range(POOLS + 1):  # each of the proxy's upstream pools in turn
            fresh = httpx.get(px.url + "/cookie", timeout=WAIT, trust_env=False)
            assert fresh.json()["cookie"] is None


def test_nothing_is_added_to_what_the_client_sent(px: RunningProxy) -> None:
    answer = raw_request(px.port, b"GET /echo HTTP/1.1\r\nHost: h\r\nX-Only: 1\r\n\r\n")
    names = sorted(name.lower() for name, _ in json_body(answer)["headers"])
    assert names == ["host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-only"]


def test_base_path(up: tuple[int, Seen], seen: Seen) -> None:
    with proxy([f"http://{HOST}:{up[0]}/echo", "--allow-origin", ALLOWED]) as px:
        echoed = httpx.get(px.url + "/deeper/x?q=1", trust_env=False).json()
        assert echoed["path"] == "/echo/deeper/x?q=1"
        for attempt in (b"/../hello", b"/%2e%2e/hello", b"/a/./b"):
            answer = raw_request(px.port, b"GET " + attempt + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 400"), answer
        assert [path for _, path, _ in seen.requests] == ["/echo/deeper/x?q=1"]


# --- failures ----------------------------------------------------------------------------------


def test_upstream_dying_mid_response_cuts_the_client_connection(
    client: httpx.Client, px: RunningProxy
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/die", headers={"Origin": ALLOWED})
    assert client.get("/hello").status_code == 200  # still serving
    px.line("/die", "upstream failed mid-response")


def test_unreachable_upstream_is_a_readable_502() -> None:
    with recorder() as (port, _):
        pass  # the port is free again: nothing listens there now
    with proxy([f"http://{HOST}:{port}", "--allow-origin", ALLOWED]) as px:
        response = httpx.get(px.url + "/x", headers={"Origin": ALLOWED}, trust_env=False)
    assert response.status_code == 502
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "connection refused" in response.text
    assert f"http://{HOST}:{port}" in response.text


def test_silent_upstream_is_a_readable_504(up: tuple[int, Seen]) -> None:
    argv = [f"http://{HOST}:{up[0]}", "--allow-origin", ALLOWED, "--read-timeout", "0.2"]
    with proxy(argv) as px:
        response = httpx.get(
            px.url + "/hang?seconds=3", headers={"Origin": ALLOWED}, trust_env=False, timeout=WAIT
        )
    assert response.status_code == 504
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "did not answer in time" in response.text


# --- never an open proxy -----------------------------------------------------------------------


def test_requests_cannot_be_pointed_at_another_host(
    px: RunningProxy, up: tuple[int, Seen], seen: Seen
) -> None:
    with recorder() as (evil_port, stolen):
        evil = f"{HOST}:{evil_port}".encode()
        attempts = [
            b"GET http://" + evil + b"/steal HTTP/1.1\r\nHost: " + evil + b"\r\n\r\n",
            b"GET //" + evil + b"/steal HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /@" + evil + b"/steal HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /steal HTTP/1.1\r\nHost: "
            + evil
            + b"\r\nX-Forwarded-Host: "
            + evil
            + b"\r\n\r\n",
            b"GET /steal HTTP/1.1\r\nHost: user@" + evil + b"\r\n\r\n",
            b"CONNECT " + evil + b" HTTP/1.1\r\nHost: " + evil + b"\r\n\r\n",
            b"GET \\\\" + evil + b"/steal HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        answers = [raw_request(px.port, attempt) for attempt in attempts]
    assert stolen == []
    assert not any(b"stole" in answer for answer in answers)
    for answer in answers:
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 400, 405), answer
    # Whatever was forwarded went to the upstream, with the upstream's own Host.
    for _, path, headers in seen.requests:
        assert headers["Host"] == f"{HOST}:{up[0]}"
        assert "steal" in path


# --- WebSockets --------------------------------------------------------------------------------


def test_websocket_from_an_allowed_origin(px: RunningProxy) -> None:
    url = px.url.replace("http", "ws") + "/ws"
    with ws_connect(
        url,
        origin=Origin(ALLOWED),
        subprotocols=[Subprotocol("chat")],
        additional_headers={"Cookie": "session=abc"},
        open_timeout=WAIT,
    ) as socket_:
        assert socket_.subprotocol == "chat"
        hello = json.loads(socket_.recv(WAIT))
        assert hello == {"origin": ALLOWED, "cookie": "session=abc"}
        socket_.send("ping")
        assert socket_.recv(WAIT) == "echo:ping"
        socket_.send(b"\x01\x02\x03")
        assert socket_.recv(WAIT) == b"\x03\x02\x01"
        socket_.send("close-4001")
        with pytest.raises(Exception):  # noqa: B017, PT011 - the close itself
            socket_.recv(WAIT)
        assert socket_.close_code == 4001
        assert socket_.close_reason == "bye"
    px.line("WS", "/ws 101", "WebSocket origin 'http://allowed.example' allowed")


def test_websocket_from_a_refused_origin_never_reaches_the_upstream(
    px: RunningProxy, seen: Seen
) -> None:
    url = px.url.replace("http", "ws") + "/ws"
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(url, origin=Origin(EVIL), open_timeout=WAIT)
    assert refused.value.response.status_code == 403
    assert b"refused" in refused.value.response.body
    assert seen.requests == []
    px.line("WS", "/ws 403", "WebSocket refused: origin 'http://evil.example' refused")


def test_websocket_without_origin_or_from_the_proxy_itself(px: RunningProxy) -> None:
    url = px.url.replace("http", "ws") + "/ws"
    for origin in (None, Origin(px.url)):
        with ws_connect(url, origin=origin, open_timeout=WAIT) as socket_:
            assert json.loads(socket_.recv(WAIT))["origin"] == origin


# --- hostile input -----------------------------------------------------------------------------

_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
_HEADERS = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(
                [
                    "origin",
                    "host",
                    "connection",
                    "x-forwarded-for",
                    "access-control-request-method",
                    "cookie",
                    "content-length",
                ]
            ),
            _TOKEN,
        ).map(str.encode),
        st.binary(max_size=300),
    ),
    max_size=8,
)


@given(
    method=st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "CONNECT"]),
    raw_path=st.binary(max_size=80),
    query=st.binary(max_size=40),
    headers=_HEADERS,
)
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_hostile_requests_never_crash_the_proxy(
    up: tuple[int, Seen],
    method: str,
    raw_path: bytes,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Arbitrary bytes in the path, the query and any header, sent straight into the ASGI
    stack (past what a server's parser would let through): always an answer, never a crash,
    and whatever reaches the upstream went to the upstream."""
    app_settings = proxy_settings(
        [f"http://{HOST}:{up[0]}", "--allow-origin", ALLOWED, "--read-timeout", "5"]
    )
    sent: list[dict[str, Any]] = []

    async def exchange() -> None:
        app = build_app(app_settings, Console(file=io.StringIO(), width=200))
        cors = app.app
        assert isinstance(cors, CORSMiddleware)
        proxy_app = cors.app
        assert isinstance(proxy_app, ProxyApp)
        proxy_app.transports = [proxy_app.make_transport(2)]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path.decode("latin-1"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8080),
        }
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(dict(message))

        try:
            await asyncio.wait_for(app(scope, receive, send), WAIT)
        finally:
            await proxy_app.transports[0].aclose()

    asyncio.run(exchange())
    assert sent[0]["type"] == "http.response.start"
    assert 100 <= sent[0]["status"] <= 599
    for _, value in sent[0]["headers"]:
        assert b"\r" not in value
        assert b"\n" not in value


# --- an https upstream ---------------------------------------------------------------------------


def test_https_upstream_with_an_internal_ca(tmp_path: Path) -> None:
    require(shutil.which("openssl") is not None, "openssl is needed to make a test certificate")
    cert, server_context = self_signed(tmp_path)
    with upstream(server_context) as (port, _):
        target = f"https://{HOST}:{port}"
        with proxy([target, "--allow-origin", ALLOWED]) as untrusting:
            refused = httpx.get(
                untrusting.url + "/hello", headers={"Origin": ALLOWED}, trust_env=False
            )
        assert refused.status_code == 502
        assert "certificate verify failed" in refused.text
        assert refused.headers["access-control-allow-origin"] == ALLOWED
        with proxy([target, "--allow-origin", ALLOWED, "--upstream-ca", str(cert)]) as px:
            response = httpx.get(px.url + "/hello", headers={"Origin": ALLOWED}, trust_env=False)
            assert response.json()["hello"] == "world"
            url = px.url.replace("http", "ws") + "/ws"
            with ws_connect(url, origin=Origin(ALLOWED), open_timeout=WAIT) as socket_:
                assert json.loads(socket_.recv(WAIT))["origin"] == ALLOWED
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(SetupError, match="not a readable PEM file"):
        proxy_settings(
            [target, "--allow-origin", ALLOWED, "--upstream-ca", str(tmp_path / "junk.pem")]
        )


def test_websocket_on_a_path_no_rule_covers_is_refused(up: tuple[int, Seen], seen: Seen) -> None:
    with proxy([f"http://{HOST}:{up[0]}", "--path", "/public/*", "--allow-origin", "*"]) as px:
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(
                px.url.replace("http", "ws") + "/ws", origin=Origin(ALLOWED), open_timeout=WAIT
            )
        assert refused.value.response.status_code == 403
        px.line("WS", "/ws 403", "no CORS rule for this path")
    assert seen.requests == []


def test_head_keeps_the_upstreams_length_and_sends_no_body(client: httpx.Client) -> None:
    response = client.head("/download?size=123456&length=1", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["content-length"] == "123456"
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert client.get("/hello").status_code == 200  # the connection is still in step
