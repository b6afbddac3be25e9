"""``crossorigin demo``: an API and a page on two loopback origins, CORS shown live.

The API is a tiny ASGI app behind :class:`crossorigin.asgi.CORSMiddleware`; the page,
served from a second port, calls it with ``fetch()``. After both start, the demo sends a
few real requests as a browser would (allowed simple GET, allowed preflight and its PUT,
refused origin, refused header) and prints the headers the browser gets with its verdict.
Then it serves until Ctrl-C, logging the requests a real browser makes.

uvicorn, httpx and rich (the ``tools`` extra) are imported inside functions, so
``crossorigin --help`` stays fast and works without them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossorigin import CORSPolicy, browser
from crossorigin.asgi import CORSMiddleware, Message, Receive, Scope, Send, read_cors_headers
from crossorigin.browser import CHROMIUM, Check, HTTPRequest, HTTPResponse, Profile
from crossorigin.tools.cli import port_number
from crossorigin.tools.demo_page import render_page

if TYPE_CHECKING:
    import httpx
    import uvicorn
    from rich.console import Console
    from rich.text import Text

HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000
DEFAULT_PAGE_PORT = 8001
REFUSED_ORIGIN = "http://evil.example"
MAX_AGE = 600
# Bounds every wait on the servers, so a broken start fails instead of hanging.
STARTUP_TIMEOUT = 10.0
MAX_BODY = 64 * 1024
# Whose rules the verdicts follow: the browser the demo's page is tested in, and the default
# of `crossorigin check`.
PROFILE = CHROMIUM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-port",
        type=port_number,
        default=None,
        help=f"port of the API on {HOST} (default {DEFAULT_API_PORT}, or a free one if taken; "
        "0 picks a free one)",
    )
    parser.add_argument(
        "--page-port",
        type=port_number,
        default=None,
        help=f"port of the page on {HOST} (default {DEFAULT_PAGE_PORT}, or a free one if "
        "taken; 0 picks a free one)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="send the example requests, print them and exit instead of serving until Ctrl-C",
    )


def run(args: argparse.Namespace) -> int:
    try:
        api_socket = bind_port(args.api_port, "--api-port", DEFAULT_API_PORT)
        try:
            page_socket = bind_port(args.page_port, "--page-port", DEFAULT_PAGE_PORT)
        except OSError:
            api_socket.close()
            raise
    except OSError as error:
        print(f"crossorigin demo: {error}", file=sys.stderr)
        return 2
    notes = [
        f"port {default} was in use, so the {label} took {sock.getsockname()[1]}"
        for sock, requested, default, label in (
            (api_socket, args.api_port, DEFAULT_API_PORT, "API"),
            (page_socket, args.page_port, DEFAULT_PAGE_PORT, "page"),
        )
        if requested is None and sock.getsockname()[1] != default
    ]
    try:
        return asyncio.run(_main(api_socket, page_socket, once=args.once, notes=notes))
    except KeyboardInterrupt:
        # Only reached where the loop cannot install signal handlers (Windows).
        return 0
    except BrokenPipeError:
        # Output piped into a command that stopped reading (``| head``): nothing to report.
        return 1
    finally:
        api_socket.close()
        page_socket.close()


def bind_port(port: int | None, option: str, default: int) -> socket.socket:
    """A socket bound on loopback: ``port``, or ``default`` falling back to a free port.

    An explicitly requested port that is taken is an error (the user asked for it); the
    default moves aside (the demo says so) so ``make demo`` works next to another dev server.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if os.name != "nt":
        # Lets the demo restart at once after Ctrl-C (old connections in TIME_WAIT).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            sock.bind((HOST, default if port is None else port))
        except OSError as error:
            if port is not None:
                raise OSError(
                    f"cannot listen on {HOST}:{port} ({error.strerror}); choose another "
                    f"{option}, or {option} 0 for any free port"
                ) from None
            sock.bind((HOST, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def _origin(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}"


def make_policy(page_origin: str) -> CORSPolicy:
    """The example API's policy: the page's origin only, credentials, a few headers."""
    return CORSPolicy(
        allow_origins=[page_origin],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-Request-Id"],
        expose_headers=["X-Request-Id"],
        allow_credentials=True,
        max_age=MAX_AGE,
    )


# --- the two apps ---------------------------------------------------------------------------


async def _respond(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"content-length", str(len(body)).encode("ascii")),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None when it exceeds MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ExampleAPI:
    """A tiny JSON API with no CORS knowledge at all: the middleware adds all of it.

    ``GET /api/greeting`` and ``PUT /api/items/<id>``. Every response carries
    ``X-Request-Id`` (the policy exposes it to scripts) and ``X-Served-By`` (it does not).
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = _header(scope, b"x-request-id") or f"api-{next(self._ids)}"
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", request_id.encode("latin-1")),
            (b"x-served-by", b"crossorigin-demo"),
        ]
        status, payload = await self._handle(method, path, scope, receive)
        body = json.dumps(payload).encode("utf-8")
        if status == 405:
            allow = "GET, HEAD" if path == "/api/greeting" else "PUT"
            headers.append((b"allow", allow.encode("ascii")))
        await _respond(send, status, b"" if method == "HEAD" else body, headers)

    async def _handle(
        self, method: str, path: str, scope: Scope, receive: Receive
    ) -> tuple[int, dict[str, Any]]:
        if path == "/api/greeting":
            if method not in ("GET", "HEAD"):
                return 405, {"error": "use GET"}
            return 200, {"message": "hello from the API"}
        item, _, rest = path.removeprefix("/api/items/").partition("/")
        if path.startswith("/api/items/") and item and not rest:
            if method != "PUT":
                return 405, {"error": "use PUT"}
            raw = await _read_body(receive)
            if raw is None:
                return 413, {"error": f"body larger than {MAX_BODY} bytes"}
            try:
                data = json.loads(raw or b"null")
            except ValueError:
                return 400, {"error": "body is not JSON"}
            authorized = _header(scope, b"authorization") is not None
            return 200, {"item": item, "saved": data, "authorized": authorized}
        return 404, {"error": "not found", "try": ["/api/greeting", "/api/items/42"]}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def page_app(api_origin: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The page server: one HTML page wired to ``api_origin``."""
    page = render_page(api_origin)
    html_headers = [(b"content-type", b"text/html; charset=utf-8")]
    text_headers = [(b"content-type", b"text/plain; charset=utf-8")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            await _respond(send, 200, b"" if scope["method"] == "HEAD" else page, html_headers)
        else:
            await _respond(send, 404, b"not found: the demo page is at /\n", text_headers)

    return app


class RequestLog:
    """Wraps the protected API to print, once live, each request a browser makes.

    The reason for a refusal comes from the same policy the middleware applies.
    """

    def __init__(self, app: CORSMiddleware, console: Console) -> None:
        self.app = app
        self.console = console
        self.live = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.live or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            try:
                self._print(scope, status)
            except BrokenPipeError:
                self.live = False  # nobody reads the log any more; keep serving

    def _print(self, scope: Scope, status: int) -> None:
        from rich.text import Text

        method: str = scope["method"]
        origin, request_method, request_headers, private_network = read_cors_headers(
            scope["headers"]
        )
        decision = self.app.policy.decide(
            method, origin, request_method, request_headers, private_network
        )
        line = Text("api <- ", style="dim")
        line.append(f"{method} {scope['path']}")
        if request_method is not None:
            line.append(f" (preflight for {request_method}", style="dim")
            line.append(f", headers {request_headers})" if request_headers else ")", style="dim")
        line.append(f" from {origin or 'no Origin: not a CORS request'}", style="dim")
        line.append(f" -> {status or 'no response'} ")
        if origin is None:
            line.append("passed through", style="dim")
        elif decision.allowed:
            line.append("granted", style="green")
        else:
            reasons = "; ".join(refusal.message for refusal in decision.refusals)
            line.append(f"no grant: {reasons}", style="red")
        self.console.print(line)


# --- what a browser would do with a response ------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request as a page would make it, and what to show about it."""

    title: str
    method: str
    path: str
    origin: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    credentialed: bool = True

    @property
    def is_preflight(self) -> bool:
        return self.method == "OPTIONS" and "Access-Control-Request-Method" in self.headers


def browser_response(response: httpx.Response) -> HTTPResponse:
    """The response as :mod:`crossorigin.browser` takes it: status and raw header pairs."""
    return HTTPResponse(response.status_code, tuple(response.headers.multi_items()))


def failed_checks(
    exchange: Exchange, response: httpx.Response, profile: Profile = PROFILE
) -> list[Check]:
    """The CORS checks a browser fails on ``response`` (empty: the page gets it)."""
    answer = browser_response(response)
    if exchange.is_preflight:
        sent = HTTPRequest(
            exchange.method,
            exchange.path,
            (("Origin", exchange.origin), *exchange.headers.items()),
        )
        checks = browser.sent_preflight_checks(sent, answer, exchange.credentialed, profile)
    else:
        checks = browser.cors_check(answer, exchange.origin, exchange.credentialed)
    return [check for check in checks if not check.ok]


def script_headers(exchange: Exchange, response: httpx.Response) -> tuple[list[str], list[str]]:
    """The app's response header names a script may read, and those it may not.

    In the order the response sends them; the CORS headers themselves are left out (they
    are the grant, not the app's data).
    """
    readable = {
        name
        for name, _ in browser.readable_headers(browser_response(response), exchange.credentialed)
    }
    names = [
        name
        for name in dict.fromkeys(key.lower() for key in response.headers)
        if not name.startswith("access-control-")
    ]
    return [n for n in names if n in readable], [n for n in names if n not in readable]


def example_exchanges(page_origin: str) -> list[Exchange]:
    put_headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer demo-token",
        "X-Request-Id": "demo-put",
    }
    return [
        Exchange(
            "1. Allowed simple GET from the page (no preflight, credentials included)",
            "GET",
            "/api/greeting",
            page_origin,
        ),
        Exchange(
            "2. Allowed preflight for a PUT with JSON and Authorization",
            "OPTIONS",
            "/api/items/42",
            page_origin,
            {
                "Access-Control-Request-Method": "PUT",
                # What Chromium sends: lowercased, sorted, comma-joined.
                "Access-Control-Request-Headers": "authorization,content-type,x-request-id",
            },
        ),
        Exchange(
            "3. The PUT itself, sent because the preflight passed",
            "PUT",
            "/api/items/42",
            page_origin,
            put_headers,
            b'{"name": "teapot", "colour": "blue"}',
        ),
        Exchange(
            f"4. Refused origin: the same GET from {REFUSED_ORIGIN}",
            "GET",
            "/api/greeting",
            REFUSED_ORIGIN,
        ),
        Exchange(
            "5. Refused preflight: the page asks for a header the policy does not list",
            "OPTIONS",
            "/api/items/42",
            page_origin,
            {
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type,x-debug",
            },
        ),
    ]


async def show_exchanges(
    console: Console,
    client: httpx.AsyncClient,
    api_origin: str,
    page_origin: str,
    policy: CORSPolicy,
) -> None:
    """Send each example request to the running API and print what the browser gets."""
    from rich.text import Text

    for exchange in example_exchanges(page_origin):
        response = await client.request(
            exchange.method,
            api_origin + exchange.path,
            headers={"Origin": exchange.origin, **exchange.headers},
            content=exchange.body or None,
        )
        console.print()
        console.print(Text(exchange.title, style="bold cyan"))
        console.print(Text(f"> {exchange.method} {exchange.path}", style="dim"))
        console.print(Text(f"> Origin: {exchange.origin}", style="dim"))
        for name, value in exchange.headers.items():
            console.print(Text(f"> {name}: {value}", style="dim"))
        line = Text(f"< {response.status_code} {response.reason_phrase}")
        console.print(line)
        cors = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.startswith("access-control-") or name == "vary"
        ]
        for name, value in cors:
            header = Text("< ")
            header.append(name, style="green")
            header.append(f": {value}")
            console.print(header)
        if not cors:
            console.print(Text("< (no CORS headers)", style="yellow"))
        failed = failed_checks(exchange, response)
        console.print(_verdict(exchange, response, policy, failed))
        if not exchange.is_preflight and not failed:
            readable, hidden = script_headers(exchange, response)
            console.print(
                Text(
                    f"  script can read: {', '.join(readable)}; hidden: {', '.join(hidden)}",
                    style="dim",
                )
            )


def _verdict(
    exchange: Exchange, response: httpx.Response, policy: CORSPolicy, failed: Sequence[Check]
) -> Text:
    from rich.text import Text

    headers = {name.lower(): value for name, value in exchange.headers.items()}
    decision = policy.decide(
        exchange.method,
        exchange.origin,
        headers.get("access-control-request-method"),
        headers.get("access-control-request-headers"),
    )
    if not failed:
        text = Text("= browser allows", style="bold green")
        if exchange.is_preflight:
            reuse = f"{browser.preflight_max_age(browser_response(response), PROFILE)} s"
            if "access-control-max-age" not in response.headers:
                reuse += " (no Access-Control-Max-Age)"
            text.append(
                f": it sends the {exchange.headers['Access-Control-Request-Method']} next "
                f"and may reuse this answer for {reuse}",
                style="green",
            )
        else:
            text.append(": the page's script gets the response", style="green")
    else:
        reasons = "; ".join(refusal.message for refusal in decision.refusals)
        failure = "; ".join(check.summary for check in failed)
        text = Text(f"= browser blocks: {reasons or failure}", style="bold red")
        if reasons:
            text.append(f" ({failure})", style="red")
    if decision.allowed != (not failed):
        # The server's decision and the headers it sent disagree: a bug worth showing loudly.
        text.append(f"  [server decision said allowed={decision.allowed}]", style="bold yellow")
    return text


# --- running both servers -------------------------------------------------------------------


def _make_console() -> Console:
    from rich.console import Console

    # Rich writes plain text by itself when stdout is not a terminal. NO_COLOR alone would
    # only drop colours and keep bold and dim, but its users want no escapes at all.
    # soft_wrap keeps long header lines whole for copy-paste and for tests.
    plain = os.environ.get("NO_COLOR", "") != ""

    class DemoConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich points stdout at devnull, then raises SystemExit, which escapes asyncio
            # tasks without shutting the servers down; an ordinary error lets them stop.
            with contextlib.suppress(SystemExit):
                super().on_broken_pipe()
            raise BrokenPipeError("stdout was closed")

    return DemoConsole(
        color_system=None if plain else "auto",
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
    )


def _server(app: Any) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        # Two servers share one loop, so neither may take over SIGINT: the demo handles
        # signals once and stops both.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return Server(config)


async def _main(
    api_socket: socket.socket, page_socket: socket.socket, *, once: bool, notes: Sequence[str] = ()
) -> int:
    import httpx
    from rich.text import Text

    console = _make_console()
    api_origin = _origin(api_socket)
    page_origin = _origin(page_socket)
    policy = make_policy(page_origin)
    api = RequestLog(CORSMiddleware(ExampleAPI(), policy=policy), console)
    servers = [_server(api), _server(page_app(api_origin))]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, _on_signal, stop, servers)
            installed.append(signum)
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers, (api_socket, page_socket), strict=True)
    ]
    try:
        if await _until(_wait_started(servers, tasks), stop):
            console.print(Text("crossorigin demo", style="bold"))
            console.print(f"  API   {api_origin}   protected by crossorigin.asgi.CORSMiddleware")
            console.print(f"  page  {page_origin}   open it in a browser and press the buttons")
            for note in notes:
                console.print(f"  ({note})")
            console.print(f"  policy: {policy!r}")
            async with httpx.AsyncClient(trust_env=False, timeout=STARTUP_TIMEOUT) as client:
                await _until(show_exchanges(console, client, api_origin, page_origin, policy), stop)
            if not once and not stop.is_set():
                api.live = True
                console.print()
                console.print(
                    f"Serving: open {page_origin} in a browser; the API's requests are "
                    "logged below. Press Ctrl-C to stop."
                )
                await stop.wait()
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for signum in installed:
            loop.remove_signal_handler(signum)
    for task in tasks:
        error = task.exception()
        if error is not None:
            raise error
    if stop.is_set():
        console.print("Stopped.")
    return 0


def _on_signal(stop: asyncio.Event, servers: list[uvicorn.Server]) -> None:
    if stop.is_set():
        # A second Ctrl-C: do not wait for open browser connections.
        for server in servers:
            server.force_exit = True
    stop.set()


async def _until(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run ``work`` unless ``stop`` is set first; True when it finished."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()
    return True


async def _wait_started(servers: list[uvicorn.Server], tasks: list[asyncio.Task[None]]) -> None:
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while not all(server.started for server in servers):
            for task in tasks:
                if task.done():
                    task.result()
                    raise RuntimeError("a demo server stopped while starting")
            await asyncio.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crossorigin.tools.demo",
        description="Run an API and a page on two loopback origins and show CORS at work.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
