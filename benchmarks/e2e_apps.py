"""The ASGI apps ``make bench-e2e`` serves with uvicorn, one per contender.

Module attributes, so ``uvicorn benchmarks.e2e_apps:<name>`` can load each in its own
server process. Same configuration as the in-process benchmark.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

from crossorigin.asgi import CORSMiddleware

from .apps import bare_asgi
from .floor import FloorMiddleware
from .harness import PLAIN

bare = bare_asgi
crossorigin = CORSMiddleware(bare_asgi, **PLAIN.crossorigin_options())
starlette = StarletteCORSMiddleware(
    bare_asgi,
    allow_origins=list(PLAIN.origins),
    allow_methods=list(PLAIN.methods),
    allow_headers=list(PLAIN.headers),
    expose_headers=list(PLAIN.expose),
    max_age=PLAIN.max_age,
)
floor = FloorMiddleware(bare_asgi, PLAIN.origins, PLAIN.credentials, PLAIN.expose)
