"""Starlette, with the middleware in the application's ``middleware`` list."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crossorigin.asgi import CORSMiddleware

from .common import OPTIONS, Boom, echo


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"framework": "starlette"}, headers={"X-Framework": "starlette"})


async def write(request: Request) -> JSONResponse:
    return JSONResponse(
        echo("starlette", await request.body(), request.headers.get("authorization"))
    )


async def boom(request: Request) -> JSONResponse:
    raise Boom("starlette")


app = Starlette(
    routes=[
        Route("/api/data", read, methods=["GET"]),
        Route("/api/data", write, methods=["PUT"]),
        Route("/api/boom", boom),
    ],
    middleware=[Middleware(CORSMiddleware, **OPTIONS)],
)
