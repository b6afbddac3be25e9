"""The cacheable API behind the shared caches, with one CORS layer chosen by environment.

``CACHE_TEST_LAYER`` picks what sits in front of the app: ``crossorigin`` (an allow-list),
``crossorigin-public`` (``*``), ``starlette`` (Starlette's own CORSMiddleware with the same
allow-list) or ``no-vary`` (a middleware that reflects allowed origins but never sends
``Vary: Origin``, the classic hand-written mistake). ``CACHE_TEST_ORIGINS`` holds the
allowed origins, comma-separated.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crossorigin.asgi import ASGIApp, CORSMiddleware, Message, Receive, Scope, Send

ETAG = '"v1"'
CACHEABLE = {"Cache-Control": "public, max-age=60", "ETag": ETAG}
hits: Counter[str] = Counter()
conditional: Counter[str] = Counter()


async def data(request: Request) -> Response:
    name = request.path_params["name"]
    hits[name] += 1
    if request.headers.get("if-none-match") == ETAG:
        conditional[name] += 1
        return Response(status_code=304, headers=CACHEABLE)
    return JSONResponse({"name": name}, headers=CACHEABLE)


async def seen(request: Request) -> Response:
    name = request.path_params["name"]
    return JSONResponse(
        {"hits": hits[name], "conditional": conditional[name]},
        headers={"Cache-Control": "no-store"},
    )


class ReflectWithoutVary:
    """Grants listed origins by reflection and forgets ``Vary: Origin``."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.origins = {origin.encode() for origin in origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = dict(scope.get("headers", [])).get(b"origin")

        async def send_with_grant(message: Message) -> None:
            if message["type"] == "http.response.start" and origin in self.origins:
                message = {**message}
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin),
                ]
            await send(message)

        await self.app(scope, receive, send_with_grant)


def build() -> Any:
    origins = [o for o in os.environ.get("CACHE_TEST_ORIGINS", "").split(",") if o]
    app = Starlette(routes=[Route("/data/{name}", data), Route("/seen/{name}", seen)])
    layer = os.environ.get("CACHE_TEST_LAYER", "crossorigin")
    if layer == "crossorigin":
        return CORSMiddleware(app, allow_origins=origins)
    if layer == "crossorigin-public":
        return CORSMiddleware(app, allow_origins="*")
    if layer == "starlette":
        return StarletteCORSMiddleware(app, allow_origins=origins)
    if layer == "no-vary":
        return ReflectWithoutVary(app, origins)
    raise ValueError(f"unknown CACHE_TEST_LAYER {layer!r}")


app = build()
