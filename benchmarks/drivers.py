"""Calling ASGI and WSGI apps in-process, without a network or a server.

The timed loops prebuild everything a server would have parsed (the ASGI scope, the WSGI
environ) so what is measured is the app and its middleware. The driving cost itself (a
coroutine step, an environ copy) is the same for every contender of a group and cancels
out of the overhead figures.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any

from .harness import Outcome, Request, outcome_from_pairs

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

_REQUEST_MESSAGE: Message = {"type": "http.request", "body": b"", "more_body": False}


def asgi_scope(request: Request) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def run_to_completion(coroutine: Any) -> None:
    """Run a coroutine that never really suspends (no I/O): one step, no event loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the ASGI app suspended; it cannot be driven without an event loop")


class ASGIDriver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def check(self, request: Request) -> Outcome:
        messages: list[Message] = []

        async def receive() -> Message:
            return dict(_REQUEST_MESSAGE)

        async def send(message: Message) -> None:
            messages.append(message)

        run_to_completion(self.app(asgi_scope(request), receive, send))
        starts = [m for m in messages if m["type"] == "http.response.start"]
        bodies = [m for m in messages if m["type"] == "http.response.body"]
        if len(starts) != 1 or not bodies or bodies[-1].get("more_body", False):
            raise AssertionError(f"incomplete ASGI response: {messages!r}")
        return outcome_from_pairs(starts[0]["status"], list(starts[0].get("headers", [])))

    def loop(self, request: Request) -> Callable[[int], None]:
        app = self.app
        scope = asgi_scope(request)

        async def receive() -> Message:
            return _REQUEST_MESSAGE

        async def send(message: Message) -> None:
            return None

        def run(count: int) -> None:
            for _ in range(count):
                coroutine = app(scope, receive, send)
                try:
                    coroutine.send(None)
                except StopIteration:
                    continue
                raise RuntimeError("the ASGI app suspended")

        return run


def wsgi_environ(request: Request) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = value
    return environ


def _write(data: bytes) -> None:
    return None


class WSGIDriver:
    def __init__(self, app: WSGIApp, prepare: Callable[[], None] | None = None) -> None:
        self.app = app
        # Run before checking or timing (Django reads some settings per request).
        self.prepare = prepare

    def check(self, request: Request) -> Outcome:
        if self.prepare is not None:
            self.prepare()
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started.append((status, list(headers)))
            return _write

        body = self.app(wsgi_environ(request), start_response)
        try:
            b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if not started:
            raise AssertionError("the WSGI app never called start_response")
        status, headers = started[-1]
        return outcome_from_pairs(int(status.split(" ", 1)[0]), headers)

    def loop(self, request: Request) -> Callable[[int], None]:
        app = self.app
        environ = wsgi_environ(request)
        prepare = self.prepare

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            return _write

        def run(count: int) -> None:
            if prepare is not None:
                prepare()
            for _ in range(count):
                # A server builds a new environ per request, and frameworks write into it.
                body = app(environ.copy(), start_response)
                for _chunk in body:
                    pass
                close = getattr(body, "close", None)
                if close is not None:
                    close()

        return run
