"""Falcon, as an ASGI app (``asgi``) and a WSGI app (``wsgi``), each wrapped by the
middleware of its interface."""

from __future__ import annotations

from typing import cast

import falcon
import falcon.asgi

from crossorigin.asgi import ASGIApp
from crossorigin.asgi import CORSMiddleware as ASGICORSMiddleware
from crossorigin.wsgi import CORSMiddleware as WSGICORSMiddleware

from .common import OPTIONS, Boom, echo


class AsyncData:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"framework": "falcon-asgi"}
        resp.set_header("X-Framework", "falcon-asgi")

    async def on_put(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = echo("falcon-asgi", await req.stream.read(), req.get_header("Authorization"))


class AsyncBoom:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise Boom("falcon-asgi")


class Data:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"framework": "falcon-wsgi"}
        resp.set_header("X-Framework", "falcon-wsgi")

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = echo("falcon-wsgi", req.bounded_stream.read(), req.get_header("Authorization"))


class WSGIBoom:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise Boom("falcon-wsgi")


async_app = falcon.asgi.App()
async_app.add_route("/api/data", AsyncData())
async_app.add_route("/api/boom", AsyncBoom())
# Falcon's ASGI types are its own; the messages are the same at run time.
asgi = ASGICORSMiddleware(cast(ASGIApp, async_app), **OPTIONS)

sync_app = falcon.App()
sync_app.add_route("/api/data", Data())
sync_app.add_route("/api/boom", WSGIBoom())
wsgi = WSGICORSMiddleware(sync_app, **OPTIONS)
