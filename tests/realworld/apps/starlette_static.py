"""Starlette's ``StaticFiles`` behind crossorigin's ASGI middleware."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from crossorigin.asgi import CORSMiddleware

app = CORSMiddleware(
    Starlette(routes=[Mount("/static", StaticFiles(directory=os.environ["ASSETS_DIR"]))]),
    allow_origins=[os.environ["MATRIX_ALLOWED_ORIGIN"]],
)
