"""The bare endpoint every contender serves: ``/`` answering ``ok`` (200) to any method.

Each framework gets its most direct spelling of it, so the bare figures are the framework's
own cost and the differences between contenders are the CORS layer's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crossorigin.asgi import Receive, Scope, Send

BODY = b"ok"


async def bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app (no framework): the smallest honest response."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A raw WSGI app (no framework)."""
    start_response(
        "200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "2")]
    )
    return [BODY]


def flask_app() -> Any:
    """A fresh Flask app (each contender gets its own, since the CORS layers modify it)."""
    from flask import Flask

    app = Flask("bench")

    @app.route("/", methods=["GET", "POST", "PUT", "DELETE"])
    def index() -> tuple[bytes, int, dict[str, str]]:
        return BODY, 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app
