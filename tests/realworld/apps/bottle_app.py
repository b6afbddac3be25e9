"""Bottle, with its WSGI application wrapped by the middleware."""

from __future__ import annotations

from typing import Any

import bottle

from crossorigin.wsgi import CORSMiddleware

from .common import OPTIONS, Boom, echo

bottle_app = bottle.Bottle()
# Bottle would catch the view's exception itself and answer its own 500 page; letting it
# through shows that the middleware's readable 500 carries the grant.
bottle_app.catchall = False


@bottle_app.get("/api/data")
def read() -> dict[str, Any]:
    bottle.response.set_header("X-Framework", "bottle")
    return {"framework": "bottle"}


@bottle_app.put("/api/data")
def write() -> dict[str, Any]:
    body = bottle.request.body.read()
    return echo("bottle", body, bottle.request.get_header("Authorization"))


@bottle_app.get("/api/boom")
def boom() -> None:
    raise Boom("bottle")


app = CORSMiddleware(bottle_app, **OPTIONS)
