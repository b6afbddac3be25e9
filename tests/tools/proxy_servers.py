"""Real servers on 127.0.0.1 for the proxy's tests: an upstream without CORS, the proxy.

The upstream is an aiohttp app (a different framework and server from the proxy's uvicorn),
so nothing is shared between the two sides but HTTP. Each server runs its own event loop in
a thread; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from rich.console import Console

from crossorigin.tools.cli import build_parser
from crossorigin.tools.proxy.config import Settings, settings_from_args
from crossorigin.tools.proxy.console import RequestLog
from crossorigin.tools.proxy.server import build_app, make_server

HOST = "127.0.0.1"
WAIT = 10.0
CHUNK = 64 * 1024


@dataclass
class Seen:
    """What the upstream received (tests assert on it)."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    slow_stream_closed: threading.Event = field(default_factory=threading.Event)
    upload_aborted: threading.Event = field(default_factory=threading.Event)
    sse_release: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def release_sse(self) -> None:
        assert self.loop is not None
        assert self.sse_release is not None
        self.loop.call_soon_threadsafe(self.sse_release.set)


def upstream_app(seen: Seen) -> web.Application:
    """An API that knows nothing of CORS, except one stray header of its own to be dropped."""

    async def record(request: web.Request) -> None:
        seen.requests.append((request.method, request.raw_path, dict(request.headers)))

    async def hello(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response(
            {"hello": "world", "method": request.method},
            headers={
                # What a careless upstream sends: the proxy must drop it, never add to it.
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Credentials": "true",
                "X-Upstream": "aiohttp",
                "Vary": "Accept-Encoding",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "must not pass",
            },
        )

    async def echo(request: web.Request) -> web.Response:
        await record(request)
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "path": request.raw_path,
                "headers": [[k, v] for k, v in request.headers.items()],
                "body": body.decode("latin-1"),
            }
        )

    async def upload(request: web.Request) -> web.Response:
        await record(request)
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in request.content.iter_chunked(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except ConnectionError:
            seen.upload_aborted.set()
            raise
        return web.json_response({"size": size, "sha256": digest.hexdigest()})

    async def download(request: web.Request) -> web.StreamResponse:
        await record(request)
        size = int(request.query.get("size", "0"))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if request.query.get("length") == "1":
            response.content_length = size
        await response.prepare(request)
        block = bytes(range(256)) * (CHUNK // 256)
        sent = 0
        while sent < size:
            piece = block[: min(CHUNK, size - sent)]
            await response.write(piece)
            sent += len(piece)
        await response.write_eof()
        return response

    async def sse(request: web.Request) -> web.StreamResponse:
        await record(request)
        seen.sse_release = asyncio.Event()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        # The second event waits for the test: it can only see "first" if the proxy passes
        # events on as they come instead of buffering the stream.
        await asyncio.wait_for(seen.sse_release.wait(), WAIT)
        await response.write(b"data: second\n\n")
        await response.write_eof()
        return response

    async def slow_stream(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        try:
            for _ in range(int(WAIT / 0.02)):
                await response.write(b"tick\n")
                await asyncio.sleep(0.02)
        except (ConnectionResetError, ConnectionError, RuntimeError):
            seen.slow_stream_closed.set()
            raise
        finally:
            if request.transport is None or request.transport.is_closing():
                seen.slow_stream_closed.set()
        return response

    async def die(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.content_length = 100_000
        await response.prepare(request)
        await response.write(b"x" * 1000)
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()  # the upstream process "crashes" mid-response
        return response

    async def hang(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(float(request.query.get("seconds", WAIT)))
        return web.Response(text="late")

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        host = request.host
        where = request.query.get("to", "absolute")
        location = {
            "absolute": f"http://{host}/hello?from=redirect",
            "relative": "/hello?from=relative",
            "elsewhere": "https://example.org/x",
            "tricky": f"http://{host}//evil.example/x",
        }[where]
        return web.Response(status=302, headers={"Location": location})

    async def cookie(request: web.Request) -> web.Response:
        await record(request)
        response = web.json_response({"cookie": request.headers.get("Cookie")})
        response.headers.add(
            "Set-Cookie", f"session=abc; Domain={HOST}; Path=/; HttpOnly; SameSite=Lax"
        )
        response.headers.add("Set-Cookie", "other=1; Domain=example.org; Path=/")
        response.headers.add("Set-Cookie", "hostonly=1; Path=/")
        return response

    async def ws(request: web.Request) -> web.WebSocketResponse:
        await record(request)
        socket_ = web.WebSocketResponse(protocols=("chat",))
        await socket_.prepare(request)
        await socket_.send_json(
            {"origin": request.headers.get("Origin"), "cookie": request.headers.get("Cookie")}
        )
        async for message in socket_:
            if message.type is WSMsgType.TEXT:
                if message.data == "close-4001":
                    await socket_.close(code=4001, message=b"bye")
                    break
                await socket_.send_str("echo:" + message.data)
            elif message.type is WSMsgType.BINARY:
                await socket_.send_bytes(message.data[::-1])
        return socket_

    app = web.Application()
    app.router.add_route("*", "/hello", hello)
    app.router.add_route("*", "/public/hello", hello)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/echo/{tail:.*}", echo)
    app.router.add_post("/upload", upload)
    app.router.add_get("/download", download)
    app.router.add_get("/sse", sse)
    app.router.add_get("/slow-stream", slow_stream)
    app.router.add_get("/die", die)
    app.router.add_get("/hang", hang)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/cookie", cookie)
    app.router.add_get("/ws", ws)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


class Thread:
    """An event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coroutine: Any, timeout: float = WAIT) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)


@contextlib.contextmanager
def upstream(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, Seen]]:
    """The aiohttp upstream on a free loopback port (HTTPS with ``tls``)."""
    seen = Seen()
    thread = Thread()
    seen.loop = thread.loop
    runner = web.AppRunner(upstream_app(seen), handle_signals=False, access_log=None)
    thread.call(runner.setup())
    site = web.TCPSite(runner, HOST, 0, ssl_context=tls)
    thread.call(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port, seen
    finally:
        thread.call(runner.cleanup())
        thread.stop()


@contextlib.contextmanager
def recorder() -> Iterator[tuple[int, list[bytes]]]:
    """A server that only records what reaches it (the "evil" host of open-proxy tests)."""
    received: list[bytes] = []
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind((HOST, 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                with contextlib.suppress(OSError):
                    received.append(connection.recv(65536))
                    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstole")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        stop.set()
        thread.join(WAIT)
        listener.close()


def self_signed(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (openssl), and a server context using it."""
    cert, key = directory / "upstream.pem", directory / "upstream.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=crossorigin test upstream", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def proxy_settings(argv: Sequence[str]) -> Settings:
    """Parse a ``crossorigin proxy`` command line exactly as the CLI does."""
    args = build_parser().parse_args(["proxy", *argv])
    return settings_from_args(args)


@dataclass
class RunningProxy:
    url: str
    port: int
    app: RequestLog
    output: io.StringIO

    @property
    def lines(self) -> list[str]:
        return self.output.getvalue().splitlines()

    def line(self, *fragments: str) -> str:
        """The first log line holding every fragment (lines are printed when a request
        ends, just after the client got its answer: wait a little for it)."""
        for _ in range(int(WAIT / 0.02)):
            for line in self.lines:
                if all(fragment in line for fragment in fragments):
                    return line
            threading.Event().wait(0.02)
        raise AssertionError(f"no log line with {fragments!r} in:\n{self.output.getvalue()}")


@contextlib.contextmanager
def proxy(argv: Sequence[str]) -> Iterator[RunningProxy]:
    """The proxy (its real uvicorn server) in a thread, printing into a buffer."""
    settings = proxy_settings([*argv, "--port", "0"])
    output = io.StringIO()
    console = Console(file=output, width=400, color_system=None, force_terminal=False)
    app = build_app(settings, console)
    server = make_server(settings, app, console)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    for _ in range(int(WAIT / 0.01)):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("the proxy did not start:\n" + output.getvalue())
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningProxy(f"http://{HOST}:{port}", port, app, output)
    finally:
        server.should_exit = True
        thread.join(WAIT)


def raw_request(port: int, data: bytes) -> bytes:
    """Send bytes exactly as given; return everything the server answered."""
    with socket.create_connection((HOST, port), timeout=WAIT) as connection:
        connection.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, OSError):
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def json_body(response: bytes) -> Any:
    return json.loads(response.partition(b"\r\n\r\n")[2])
