"""``crossorigin proxy UPSTREAM_URL``: a validated CORS policy in front of any HTTP backend.

A fixed upstream (never an open proxy), the policy applied by
:class:`crossorigin.asgi.CORSMiddleware` itself, real HTTP (streaming both ways, keep-alive,
redirects and cookies rewritten for the proxy, WebSockets with an origin check), failures the
browser can read (502/504 with the CORS grant) and one line per request on the terminal.

``config`` validates what the proxy is told, ``forward`` moves the bytes, ``console`` prints
the lines and ``server`` runs it all under uvicorn. uvicorn, httpx, rich and websockets are
imported only when the proxy runs, so ``crossorigin --help`` stays fast.
"""

from __future__ import annotations

from .config import add_arguments
from .server import run

__all__ = ["add_arguments", "run"]
