"""A zoo of deliberately misconfigured CORS servers, and correctly configured ones.

Each entry is a real server on 127.0.0.1 (uvicorn for ASGI apps, werkzeug for Flask, a raw
asyncio socket server for the one that writes headers by hand) reproducing one class of
dangerous grant, several with the incumbents' own most common settings. The site's front
end is ``https://www.target.example`` (or ``https://myapp.vercel.app`` for the hosting case);
``expected`` is the set of audit rules the server must trigger, and the good apps must
trigger none. The benchmark and the CORScanner comparison (docs/audit.md) use the same zoo.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware as StarletteCORS
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from crossorigin.asgi import CORSMiddleware

from .cors_apps import ASGI, Scope, is_preflight, origin_of, raw, serve

TRUSTED = "https://www.target.example"
HOSTED = "https://myapp.vercel.app"


async def _me(request: StarletteRequest) -> JSONResponse:
    return JSONResponse({"user": "alice", "email": "alice@target.example"})


def _starlette(**options: Any) -> ASGI:
    app = Starlette(routes=[Route("/api/me", _me, methods=["GET", "PUT"])])
    return StarletteCORS(app, **options)


def _crossorigin(**options: Any) -> ASGI:
    app = Starlette(routes=[Route("/api/me", _me, methods=["GET", "PUT"])])
    return CORSMiddleware(app, **options)


def _reflect(credentials: bool, vary: bool) -> ASGI:
    def handle(scope: Scope) -> tuple[int, list[tuple[str, str]]]:
        headers = [("Access-Control-Allow-Origin", origin_of(scope))]
        if credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if vary:
            headers.append(("Vary", "Origin"))
        if is_preflight(scope):
            asked = dict(scope["headers"])
            headers.append(
                (
                    "Access-Control-Allow-Methods",
                    asked.get(b"access-control-request-method", b"").decode(),
                )
            )
            headers.append(
                (
                    "Access-Control-Allow-Headers",
                    asked.get(b"access-control-request-headers", b"").decode(),
                )
            )
            return 204, headers
        return 200, [*headers, ("Content-Type", "application/json")]

    return raw(handle)


def _grant_if(match: Callable[[str], bool], vary: bool = True) -> ASGI:
    """A hand-written check: reflect the origin with credentials when ``match`` says so."""

    def handle(scope: Scope) -> tuple[int, list[tuple[str, str]]]:
        origin = origin_of(scope)
        headers: list[tuple[str, str]] = [("Vary", "Origin")] if vary else []
        if origin and match(origin):
            headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
            ]
        if is_preflight(scope):
            return 204, [*headers, ("Access-Control-Allow-Methods", "GET, PUT")]
        return 200, [*headers, ("Content-Type", "application/json")]

    return raw(handle)


def _special_host(origin: str) -> bool:
    # Cuts the host at the first character outside [a-z0-9.-]: 'www.target.example_.evil'
    # becomes 'www.target.example'.
    found = re.match(r"https://([a-z0-9.-]+)", origin)
    host = found.group(1) if found else ""
    return host == "www.target.example" or host.endswith(".target.example")


def _flask(**options: Any) -> Any:
    from flask import Flask, jsonify
    from flask_cors import CORS

    app = Flask("zoo")

    @app.route("/api/me", methods=["GET", "PUT"])
    def me() -> Any:
        return jsonify(user="alice")

    CORS(app, **options)
    return app


@dataclass
class Animal:
    name: str
    description: str
    expected: frozenset[str]
    make: Callable[[], Any]
    kind: str = "asgi"
    """``asgi`` (uvicorn), ``wsgi`` (werkzeug), ``raw`` (asyncio sockets)."""
    origin: str = TRUSTED
    hosting: tuple[str, ...] = ()
    """Top-level domains whose Public Suffix List hosting suffixes the audit tries."""
    base: str = field(default="", init=False)

    @property
    def url(self) -> str:
        return f"{self.base}/api/me"


def _injection_server() -> Callable[[], Any]:
    """A server writing its response by hand, with the URL-decoded Origin reflected raw."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                origin = ""
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "origin":
                        origin = unquote(value.strip())
                lines = ["HTTP/1.1 200 OK", "Content-Length: 2", "Content-Type: application/json"]
                if origin:
                    lines += [f"Access-Control-Allow-Origin: {origin}", "Vary: Origin"]
                writer.write(("\r\n".join(lines) + "\r\n\r\n{}").encode("latin-1"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return lambda: handle


ZOO: list[Animal] = [
    Animal(
        "reflect-credentials",
        "a raw app reflecting every Origin with credentials, no Vary (the seeds' 'make it "
        "work' recipe; Express cors({origin: true, credentials: true}))",
        frozenset(
            {
                "reflect-any-origin",
                "null-origin",
                "missing-vary-origin",
                "preflight-echo-credentials",
            }
        ),
        lambda: _reflect(credentials=True, vary=False),
    ),
    Animal(
        "reflect-public",
        "reflects every Origin without credentials, with Vary (as open as '*')",
        frozenset({"reflect-any-origin", "null-origin"}),
        lambda: _reflect(credentials=False, vary=True),
    ),
    Animal(
        "starlette-star-credentials",
        "Starlette CORSMiddleware(allow_origins=['*'], allow_credentials=True): reflects the "
        "origin whenever a cookie comes along",
        frozenset({"reflect-any-origin", "null-origin"}),
        lambda: _starlette(allow_origins=["*"], allow_credentials=True),
    ),
    Animal(
        "flask-cors-default-credentials",
        "Flask-CORS CORS(app, supports_credentials=True): the default origins '*' become a "
        "reflection with credentials",
        frozenset({"reflect-any-origin", "null-origin"}),
        lambda: _flask(supports_credentials=True),
        kind="wsgi",
    ),
    Animal(
        "flask-cors-regex-prefix",
        r"Flask-CORS origins=[r'https://www\.target\.example'], supports_credentials=True: "
        "the regex is matched at the start only",
        frozenset({"prefix-match", "special-characters"}),
        lambda: _flask(origins=[r"https://www\.target\.example"], supports_credentials=True),
        kind="wsgi",
    ),
    Animal(
        "flask-cors-null",
        "Flask-CORS origins=[TRUSTED, 'null'], supports_credentials=True",
        frozenset({"null-origin"}),
        lambda: _flask(origins=[TRUSTED, "null"], supports_credentials=True),
        kind="wsgi",
    ),
    Animal(
        "starlette-regex-suffix",
        r"Starlette allow_origin_regex=r'https://.*target\.example' with credentials (no "
        "label boundary)",
        frozenset({"suffix-match", "arbitrary-subdomain"}),
        lambda: _starlette(allow_origin_regex=r"https://.*target\.example", allow_credentials=True),
    ),
    Animal(
        "starlette-regex-dot",
        "Starlette allow_origin_regex=r'https://www.target.example' with credentials (dots "
        "not escaped)",
        frozenset({"unescaped-dot"}),
        lambda: _starlette(
            allow_origin_regex=r"https://www.target.example", allow_credentials=True
        ),
    ),
    Animal(
        "substring",
        "a hand-written check: `origin in 'https://www.target.example'`",
        frozenset({"substring-match"}),
        lambda: _grant_if(lambda origin: origin in TRUSTED),
    ),
    Animal(
        "special-characters",
        "a hand-written check cutting the host at the first character outside [a-z0-9.-]",
        frozenset({"special-characters", "arbitrary-subdomain"}),
        lambda: _grant_if(_special_host),
    ),
    Animal(
        "starlette-hosting-suffix",
        r"Starlette allow_origin_regex=r'https://[a-z0-9-]+\.vercel\.app' with credentials "
        "(every Vercel customer)",
        frozenset({"third-party-hosting", "suffix-match"}),
        lambda: _starlette(
            allow_origin_regex=r"https://[a-z0-9-]+\.vercel\.app", allow_credentials=True
        ),
        origin=HOSTED,
    ),
    Animal(
        "starlette-http-too",
        r"Starlette allow_origin_regex=r'https?://www\.target\.example' with credentials",
        frozenset({"http-origin-trusted"}),
        lambda: _starlette(
            allow_origin_regex=r"https?://www\.target\.example", allow_credentials=True
        ),
    ),
    Animal(
        "starlette-github-pages",
        r"Starlette allow_origin_regex=r'https://[a-z0-9-]+\.github\.io' with credentials: "
        "found only by trying the Public Suffix List's hosting suffixes",
        frozenset({"third-party-hosting"}),
        lambda: _starlette(
            allow_origin_regex=r"https://[a-z0-9-]+\.github\.io", allow_credentials=True
        ),
        hosting=("io",),
    ),
    Animal(
        "crossorigin-dangerous-reflect",
        "crossorigin's own escape hatch: CORSMiddleware(dangerously_reflect_any_origin=True, "
        "allow_credentials=True)",
        frozenset({"reflect-any-origin", "null-origin"}),
        lambda: _crossorigin(dangerously_reflect_any_origin=True, allow_credentials=True),
    ),
    Animal(
        "star-credentials",
        "'Access-Control-Allow-Origin: *' with 'Access-Control-Allow-Credentials: true'",
        frozenset({"wildcard-with-credentials"}),
        lambda: raw(
            lambda s: (
                200,
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Credentials", "true"),
                ],
            )
        ),
    ),
    Animal(
        "no-vary",
        "grants the trusted origin with credentials but never sends Vary: Origin",
        frozenset({"missing-vary-origin"}),
        lambda: _grant_if(lambda origin: origin == TRUSTED, vary=False),
    ),
    Animal(
        "header-injection",
        "a hand-written server that URL-decodes the Origin and writes it into the response",
        frozenset({"header-injection", "reflect-any-origin", "null-origin"}),
        _injection_server(),
        kind="raw",
    ),
]

# Correctly configured: no finding at all (false positives are bugs); ``expected`` holds
# the info-level notes only.
GOOD: list[Animal] = [
    Animal(
        "crossorigin-credentials",
        "crossorigin: one trusted origin, credentials, explicit methods and headers",
        frozenset(),
        lambda: _crossorigin(
            allow_origins=[TRUSTED],
            allow_credentials=True,
            allow_methods=["GET", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        ),
    ),
    Animal(
        "crossorigin-public",
        "crossorigin: a public API, allow_origins=['*']",
        frozenset(),
        lambda: _crossorigin(allow_origins=["*"]),
    ),
    Animal(
        "crossorigin-two-origins",
        "crossorigin: two front-ends of the same site, with credentials",
        frozenset(),
        lambda: _crossorigin(
            allow_origins=[TRUSTED, "https://admin.target.example"], allow_credentials=True
        ),
    ),
    Animal(
        "crossorigin-flask",
        "crossorigin.flask CORS(app, origins=[TRUSTED], supports_credentials=True)",
        frozenset(),
        lambda: _crossorigin_flask(),
        kind="wsgi",
    ),
    Animal(
        "crossorigin-fastapi-tutorial",
        "crossorigin with FastAPI's tutorial settings: one origin, credentials, "
        "allow_methods=['*'], allow_headers=['*'] (echoed by design: a note, not a finding)",
        frozenset({"preflight-echo-credentials"}),
        lambda: _crossorigin(
            allow_origins=[TRUSTED],
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        ),
    ),
    Animal(
        "no-cors",
        "no CORS at all (same-origin only)",
        frozenset(),
        lambda: raw(lambda s: (200, [("Content-Type", "application/json")])),
    ),
]


def _crossorigin_flask() -> Any:
    from flask import Flask, jsonify

    from crossorigin.flask import CORS

    app = Flask("zoo-good")

    @app.route("/api/me", methods=["GET", "PUT"])
    def me() -> Any:
        return jsonify(user="alice")

    CORS(app, origins=[TRUSTED], supports_credentials=True, allow_headers=["Content-Type"])
    return app


TLS = tuple[str, str]
"""(certificate file, key file) to serve https instead of http."""


def _serve_asgi(app: ASGI, tls: TLS | None) -> tuple[Callable[[], None], str]:
    if tls is None:
        server, thread, base = serve(app)
    else:
        import uvicorn

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            http="h11",
            ssl_certfile=tls[0],
            ssl_keyfile=tls[1],
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        assert _wait(lambda: server.started), "uvicorn did not start"
        base = f"https://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return stop, base


def _wait(ready: Callable[[], bool]) -> bool:
    import time

    for _ in range(500):  # bounded: at most ~5 s
        if ready():
            return True
        time.sleep(0.01)
    return False


def _ssl_context(tls: TLS | None) -> Any:
    if tls is None:
        return None
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls)
    return context


def _serve_wsgi(app: Any, tls: TLS | None = None) -> tuple[Callable[[], None], str]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=Quiet, ssl_context=_ssl_context(tls)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return stop, f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"


def _serve_raw(make: Callable[[], Any], tls: TLS | None = None) -> tuple[Callable[[], None], str]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        server = await asyncio.start_server(make(), "127.0.0.1", 0, ssl=_ssl_context(tls))
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: _run_until_cancelled(loop, main()), daemon=True)
    thread.start()
    assert started.wait(5), "raw server did not start"

    def stop() -> None:
        loop.call_soon_threadsafe(holder["server"].close)
        for task in asyncio.all_tasks(loop):
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=5)

    return stop, f"{'https' if tls else 'http'}://127.0.0.1:{holder['port']}"


def _run_until_cancelled(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(coroutine)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()


@contextmanager
def running(animals: list[Animal], tls: TLS | None = None) -> Iterator[list[Animal]]:
    """Start every server; set each animal's ``base``; stop them all afterwards."""
    stops: list[Callable[[], None]] = []
    try:
        for animal in animals:
            if animal.kind == "wsgi":
                stop, animal.base = _serve_wsgi(animal.make(), tls)
            elif animal.kind == "raw":
                stop, animal.base = _serve_raw(animal.make, tls)
            else:
                stop, animal.base = _serve_asgi(animal.make(), tls)
            stops.append(stop)
        yield animals
    finally:
        for stop in stops:
            stop()
