"""Quart, with the middleware wrapped around ``app.asgi_app`` (Quart's own idiom)."""

from __future__ import annotations

from typing import Any, cast

from quart import Quart, request

from crossorigin.asgi import ASGIApp, CORSMiddleware

from .common import OPTIONS, Boom, echo

app = Quart(__name__)
# Quart's ASGI types are TypedDicts, ours plain mappings: the same messages at run time.
app.asgi_app = cast(Any, CORSMiddleware(cast(ASGIApp, app.asgi_app), **OPTIONS))  # type: ignore[method-assign]


@app.get("/api/data")
async def read() -> tuple[dict[str, Any], dict[str, str]]:
    return {"framework": "quart"}, {"X-Framework": "quart"}


@app.put("/api/data")
async def write() -> dict[str, Any]:
    body = await request.get_data(as_text=False)
    raw = body if isinstance(body, bytes) else body.encode()
    return echo("quart", raw, request.headers.get("authorization"))


@app.get("/api/boom")
async def boom() -> str:
    raise Boom("quart")
