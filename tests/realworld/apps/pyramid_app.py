"""Pyramid, with the WSGI app from its Configurator wrapped by the middleware."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request

from crossorigin.wsgi import CORSMiddleware

from .common import OPTIONS, Boom, echo


def read(request: Request) -> dict[str, Any]:
    request.response.headers["X-Framework"] = "pyramid"
    return {"framework": "pyramid"}


def write(request: Request) -> dict[str, Any]:
    return echo("pyramid", request.body, request.headers.get("Authorization"))


def boom(request: Request) -> None:
    raise Boom("pyramid")


with Configurator() as config:
    config.add_route("data", "/api/data")
    config.add_route("boom", "/api/boom")
    config.add_view(read, route_name="data", request_method="GET", renderer="json")
    config.add_view(write, route_name="data", request_method="PUT", renderer="json")
    config.add_view(boom, route_name="boom", renderer="json")
    pyramid_app = config.make_wsgi_app()

app = CORSMiddleware(pyramid_app, **OPTIONS)
