"""aiohttp, with ``crossorigin.aiohttp.CORS`` on its own server (``python -m aiohttp.web``)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from crossorigin.aiohttp import CORS

from .common import POLICY, Boom, echo


async def read(request: web.Request) -> web.Response:
    return web.json_response({"framework": "aiohttp"}, headers={"X-Framework": "aiohttp"})


async def write(request: web.Request) -> web.Response:
    return web.json_response(
        echo("aiohttp", await request.read(), request.headers.get("Authorization"))
    )


async def boom(request: web.Request) -> web.Response:
    raise Boom("aiohttp")


def init(argv: Sequence[str] | None = None) -> web.Application:
    app = web.Application()
    app.router.add_get("/api/data", read)
    app.router.add_put("/api/data", write)
    app.router.add_get("/api/boom", boom)
    CORS(app, POLICY)
    return app
