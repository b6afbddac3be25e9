"""FastAPI, with the middleware added as FastAPI's CORS tutorial does."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from crossorigin.asgi import CORSMiddleware

from .common import OPTIONS, Boom, echo

app = FastAPI()
app.add_middleware(CORSMiddleware, **OPTIONS)


@app.get("/api/data")
async def read(response: Response) -> dict[str, Any]:
    response.headers["X-Framework"] = "fastapi"
    return {"framework": "fastapi"}


@app.put("/api/data")
async def write(request: Request) -> dict[str, Any]:
    return echo("fastapi", await request.body(), request.headers.get("authorization"))


@app.get("/api/boom")
async def boom() -> None:
    raise Boom("fastapi")
