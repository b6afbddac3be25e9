"""One replica of a multi-tenant site behind Redis, for the recipe's two-process test and the
resolver benchmark.

Run as ``uvicorn --factory benchmarks.resolver_replica:make_app``; settings come from the
environment (the SQLite file and the Redis URL), so two processes share both.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from typing import Any

from crossorigin.asgi import CORSMiddleware
from crossorigin.recipes.redis import SharedOrigins
from crossorigin.recipes.sql import SQLOrigins


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
