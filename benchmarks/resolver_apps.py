"""The server side of ``benchmarks.resolver_bench``: one multi-tenant app behind a real server.

``python -m benchmarks.resolver_apps --interface asgi|wsgi --callable sync|async --port P``
serves ``/`` behind crossorigin with an :class:`OriginResolver` over a simulated tenant
database, plus two endpoints the driver uses: ``/__stats`` (the resolver's and the
database's counters, JSON) and ``/__control`` (take the database down or up, change its
latency, add or remove a tenant). Binds 127.0.0.1 only.

Time: the resolver's clock (TTL, grace, log interval, the one-second failure and probe
intervals) runs ``SCALE`` times faster than real time, so a 60 s outage takes 6 s. Timeouts
and the database's own delays are real.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from crossorigin import CORSPolicy, OriginResolver

HOST = "127.0.0.1"
SCALE = 10.0
SETTINGS: dict[str, Any] = {
    "ttl": 3000.0,  # resolver-clock seconds (300 s real); the outage sets 30 (3 s real)
    "grace": 600.0,
    "timeout": 0.5,  # real seconds
    "log_interval": 60.0,
    "concurrency": 4,
    "backlog": 256,
}


class FakeDatabase:
    """Tenant domains with a latency; when down, a call hangs, then fails (a dead host)."""

    def __init__(self) -> None:
        self.allowed: set[str] = set()
        self.down = False
        self.latency = 0.002
        self.hang = 2.0
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _count(self, origin: str) -> None:
        with self.lock:
            self.calls[origin] += 1

    def lookup(self, origin: str) -> bool:
        self._count(origin)
        if self.down:
            time.sleep(self.hang)
            raise ConnectionError("database unreachable")
        time.sleep(self.latency)
        return origin in self.allowed

    async def lookup_async(self, origin: str) -> bool:
        self._count(origin)
        if self.down:
            await asyncio.sleep(self.hang)
            raise ConnectionError("database unreachable")
        await asyncio.sleep(self.latency)
        return origin in self.allowed

    def control(self, query: str, resolver: OriginResolver) -> None:
        for name, value in parse_qsl(query):
            if name == "ttl":
                resolver.ttl = float(value)
            elif name == "invalidate":
                resolver.invalidate(value)
            elif name == "db":
                self.down = value == "down"
            elif name == "latency":
                self.latency = float(value)
            elif name == "add":
                self.allowed.add(value)
            elif name == "remove":
                self.allowed.discard(value)


def scaled_clock() -> Any:
    start = time.monotonic()

    def clock() -> float:
        return start + (time.monotonic() - start) * SCALE

    return clock


def build(callable_kind: str) -> tuple[CORSPolicy, OriginResolver, FakeDatabase]:
    database = FakeDatabase()
    function = database.lookup if callable_kind == "sync" else database.lookup_async
    resolver = OriginResolver(function, clock=scaled_clock(), **SETTINGS)
    return CORSPolicy(origin_resolver=resolver), resolver, database


def stats_body(resolver: OriginResolver, database: FakeDatabase) -> bytes:
    stats: dict[str, Any] = resolver.stats().as_dict()
    with database.lock:
        stats["db_calls"] = sum(database.calls.values())
        stats["db_calls_by_origin"] = dict(database.calls)
    return json.dumps(stats).encode()


def asgi_app(callable_kind: str) -> Any:
    from crossorigin.asgi import CORSMiddleware

    policy, resolver, database = build(callable_kind)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b"ok"
        if scope["path"] == "/__stats":
            body = stats_body(resolver, database)
        elif scope["path"] == "/__control":
            database.control(scope["query_string"].decode(), resolver)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return CORSMiddleware(app, policy)


def wsgi_app(callable_kind: str) -> Any:
    from crossorigin.wsgi import CORSMiddleware

    policy, resolver, database = build(callable_kind)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = b"ok"
        if environ["PATH_INFO"] == "/__stats":
            body = stats_body(resolver, database)
        elif environ["PATH_INFO"] == "/__control":
            database.control(environ.get("QUERY_STRING", ""), resolver)
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    return CORSMiddleware(app, policy)


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", choices=("asgi", "wsgi"), required=True)
    parser.add_argument("--callable", choices=("sync", "async"), required=True)
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    if options.interface == "asgi":
        import uvicorn

        uvicorn.run(
            asgi_app(options.callable),
            host=HOST,
            port=options.port,
            log_level="warning",
            access_log=False,
        )
    else:
        server = make_server(
            HOST,
            options.port,
            wsgi_app(options.callable),
            server_class=ThreadingServer,
            handler_class=QuietHandler,
        )
        server.serve_forever()


if __name__ == "__main__":
    main()
