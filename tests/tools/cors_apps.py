"""Live CORS servers for the ``check`` tests: crossorigin-protected and misconfigured apps.

``Router(origin)`` hosts, by path prefix, a crossorigin-protected Starlette app and a row of
deliberately misconfigured tiny ASGI apps reproducing common mistakes; the apps that name a
fixed origin use ``origin``. ``serve`` runs an app with uvicorn on 127.0.0.1 (port 0).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from crossorigin.asgi import CORSMiddleware

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- the apps ----------------------------------------------------------------------------------


async def items(request: StarletteRequest) -> JSONResponse:
    return JSONResponse({"ok": True}, headers={"X-Request-Id": "42", "X-Internal": "secret"})


def protected(origin: str) -> ASGI:
    """The right way: crossorigin in front of the app."""
    app = Starlette(routes=[Route("/good/items", items, methods=["GET", "PUT", "POST"])])
    return CORSMiddleware(
        app,
        allow_origins=[origin],
        allow_methods=["GET", "PUT"],
        allow_headers=["Content-Type", "Authorization"],
        expose_headers=["X-Request-Id"],
        allow_credentials=True,
        max_age=600,
    )


def public() -> ASGI:
    app = Starlette(routes=[Route("/public/items", items)])
    return CORSMiddleware(app, allow_origins=["*"])


def exposed() -> ASGI:
    app = Starlette(routes=[Route("/exposed/items", items)])
    return CORSMiddleware(app, allow_origins=["*"], expose_headers=["*"])


def raw(handler: Callable[[Scope], tuple[int, list[tuple[str, str]]]]) -> ASGI:
    """A tiny ASGI app answering every request with handler(scope) -> (status, headers)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        status, headers = handler(scope)
        body = b"" if status == 204 else b"{}"
        pairs = [(k.lower().encode(), v.encode()) for k, v in headers]
        if status != 204:
            pairs.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": pairs})
        await send({"type": "http.response.body", "body": body})

    return app


def origin_of(scope: Scope) -> str:
    value: bytes = dict(scope["headers"]).get(b"origin", b"")
    return value.decode()


def is_preflight(scope: Scope) -> bool:
    return bool(scope["method"] == "OPTIONS")


JSON = ("Content-Type", "application/json")


def mistakes(origin: str) -> dict[str, ASGI]:
    """One tiny app per common mistake, keyed by path prefix."""
    return {
        # No CORS at all: OPTIONS gets the framework's 405, GET gets no grant.
        "/none": raw(lambda s: (405, [("Allow", "GET")]) if is_preflight(s) else (200, [JSON])),
        "/star-credentials": raw(
            lambda s: (
                200,
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Credentials", "true"),
                    JSON,
                ],
            )
        ),
        "/trailing-slash": raw(
            lambda s: (
                200,
                [("Access-Control-Allow-Origin", origin + "/"), ("Vary", "Origin"), JSON],
            )
        ),
        "/no-authorization": raw(
            lambda s: (
                (
                    204,
                    [
                        ("Access-Control-Allow-Origin", origin_of(s)),
                        ("Access-Control-Allow-Methods", "GET, PUT"),
                        ("Access-Control-Allow-Headers", "Content-Type"),
                        ("Vary", "Origin"),
                    ],
                )
                if is_preflight(s)
                else (
                    200,
                    [("Access-Control-Allow-Origin", origin_of(s)), ("Vary", "Origin"), JSON],
                )
            )
        ),
        "/two-acao": raw(
            lambda s: (
                200,
                [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Origin", "*"),
                    JSON,
                ],
            )
        ),
        "/redirecting-preflight": raw(
            lambda s: (
                (308, [("Location", s["path"] + "/")])
                if is_preflight(s)
                else (200, [("Access-Control-Allow-Origin", "*"), JSON])
            )
        ),
        # Reflects whatever Origin comes, with credentials, and forgets Vary.
        "/reflect": raw(
            lambda s: (
                200 if not is_preflight(s) else 204,
                [
                    ("Access-Control-Allow-Origin", origin_of(s)),
                    ("Access-Control-Allow-Credentials", "true"),
                    ("Access-Control-Allow-Methods", "GET, PUT"),
                    ("Access-Control-Allow-Headers", "*"),
                    ("Access-Control-Max-Age", "86400"),
                    JSON,
                ],
            )
        ),
        # Grants any method, and says which method reached it (fetch() keeps 'patch' lowercase).
        "/method": raw(
            lambda s: (
                (
                    204,
                    [
                        ("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Allow-Methods", "patch, PATCH, DELETE, PUT"),
                    ],
                )
                if is_preflight(s)
                else (
                    200,
                    [
                        ("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Expose-Headers", "X-Seen-Method"),
                        ("X-Seen-Method", s["method"]),
                        JSON,
                    ],
                )
            )
        ),
        # '*' everywhere: Authorization passes in today's browsers, not per the standard.
        "/wildcard": raw(
            lambda s: (
                200 if not is_preflight(s) else 204,
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Methods", "*"),
                    ("Access-Control-Allow-Headers", "*"),
                    JSON,
                ],
            )
        ),
    }


class Router:
    """Dispatch by path prefix; ``/to-b`` redirects to the second server (set later)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.mistakes = mistakes(origin)
        self.protected = protected(origin)
        self.public = public()
        self.exposed = exposed()
        self.other_origin = ""
        self.seen: list[tuple[str, str]] = []
        """(method, path) of every request received, in order."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        self.seen.append((scope["method"], path))
        if path.startswith("/good"):
            await self.protected(scope, receive, send)
        elif path.startswith("/public"):
            await self.public(scope, receive, send)
        elif path.startswith("/exposed"):
            await self.exposed(scope, receive, send)
        elif path == "/to-b":
            target = self.other_origin + "/granted-null"
            await raw(
                lambda s: (
                    302,
                    [("Location", target), ("Access-Control-Allow-Origin", self.origin)],
                )
            )(scope, receive, send)
        elif path == "/granted-null":
            await raw(
                lambda s: (200, [("Access-Control-Allow-Origin", origin_of(s)), ("Vary", "Origin")])
            )(scope, receive, send)
        else:
            prefix = "/" + path.strip("/").split("/")[0]
            app = self.mistakes.get(prefix)
            if app is None:
                await PlainTextResponse("not found", 404)(scope, receive, send)
            else:
                await app(scope, receive, send)


PAGE = b"<!doctype html><meta charset=utf-8><title>crossorigin check</title>"


async def page(scope: Scope, receive: Receive, send: Send) -> None:
    """The page origin: an empty HTML document for the browser to run fetch() in."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(PAGE)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})


def serve(app: ASGI, http: str = "h11") -> tuple[uvicorn.Server, threading.Thread, str]:
    # h11 by default: httptools rejects a lowercase 'patch', which browsers do send.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", http=http
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # bounded: at most ~5 s
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def page_and_routers() -> Iterator[tuple[str, str]]:
    """The page server and two :class:`Router` servers whose ``/to-b`` redirects to each
    other; yields the page's origin and the first router's base URL."""
    page_server = serve(page)
    router_a = Router(page_server[2])
    router_b = Router(page_server[2])
    a, b = serve(router_a), serve(router_b)
    router_a.other_origin, router_b.other_origin = b[2], a[2]
    try:
        yield page_server[2], a[2]
    finally:
        for server, thread, _ in (page_server, a, b):
            server.should_exit = True
            thread.join(timeout=5)
