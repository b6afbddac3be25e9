"""One replica of a multi-tenant site behind Redis, for the recipe's two-process test and the
resolver benchmark.

Run as ``uvicorn --factory benchmarks.resolver_replica:make_app``; settings come from the
environment (the SQLite file and the Redis URL), so two processes share both.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from crossorigin.asgi import CORSMiddleware
from crossorigin.recipes.redis import SharedOrigins
from crossorigin.recipes.sql import SQLOrigins


def redis_command(port: int, directory: str | Path) -> list[str]:
    """A throwaway redis-server on loopback ``port``: no snapshots, no append-only file."""
    return [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]


def replica_command(port: int) -> list[str]:
    """One replica (this module's app under uvicorn) on loopback ``port``; run it from the
    project root with the two environment variables :func:`make_app` reads."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "benchmarks.resolver_replica:make_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def make_app() -> Any:
    lookups = SQLOrigins(f"sqlite:///{os.environ['CROSSORIGIN_TEST_DB']}")
    # Long TTLs on purpose: only an invalidation can make a replica forget a grant quickly.
    shared = SharedOrigins(
        lookups, url=os.environ["CROSSORIGIN_TEST_REDIS"], verdict_ttl=3600, ttl=3600
    )
    shared.start()

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b"ok"
        if scope["path"] == "/stats":
            stats = shared.resolver.stats().as_dict()
            stats["subscribed"] = int(shared.subscribed.is_set())
            body = json.dumps(stats).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return CORSMiddleware(app, origin_resolver=shared.resolver)
