"""Litestar, with the middleware given to the application as ``DefineMiddleware``."""

from __future__ import annotations

from typing import Any, cast

from litestar import Litestar, Request, Response, get, put
from litestar.middleware.base import DefineMiddleware

from crossorigin.asgi import CORSMiddleware

from .common import OPTIONS, Boom, echo


@get("/api/data")
async def read() -> Response[dict[str, Any]]:
    return Response({"framework": "litestar"}, headers={"X-Framework": "litestar"})


@put("/api/data")
async def write(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return echo("litestar", await request.body(), request.headers.get("authorization"))


@get("/api/boom")
async def boom() -> None:
    raise Boom("litestar")


app = Litestar(
    route_handlers=[read, write, boom],
    # Litestar's ASGI types are TypedDicts, ours plain mappings: the same at run time.
    middleware=[DefineMiddleware(cast(Any, CORSMiddleware), **OPTIONS)],
)
