"""The resolver recipes against real backends: SQLite through SQLAlchemy, and a real
``redis-server`` shared by two real server processes."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from benchmarks.resolver_replica import redis_command, replica_command
from sqlalchemy import create_engine
from werkzeug.test import Client
from werkzeug.wrappers import Response

from crossorigin import CORSPolicy, OriginResolver
from crossorigin.recipes.redis import SharedOrigins
from crossorigin.recipes.sql import SQLOrigins
from crossorigin.wsgi import CORSMiddleware as WSGICORS

from .conftest import free_port, require
from .event_loop import run as run_in_loop

TENANT = "https://tenant.example"
OTHER = "https://other.example"
NEW = "https://new.example"
ROOT = Path(__file__).resolve().parent.parent


def _wsgi_app(environ: dict[str, object], start_response: object) -> Any:
    return Response("ok")(environ, start_response)  # type: ignore[arg-type]


# --- SQL -------------------------------------------------------------------------------------


def test_sql_origins_on_sqlite(tmp_path: Path) -> None:
    origins = SQLOrigins(f"sqlite:///{tmp_path / 'tenants.db'}", table="tenant_origins")
    origins.create()
    origins.add(TENANT)
    origins.add(TENANT)  # idempotent
    origins.add(OTHER)
    assert origins.all() == [OTHER, TENANT]
    assert origins(TENANT)
    assert not origins("https://x.example")
    assert not origins("https://x.example' OR '1'='1")  # a bound parameter, not SQL text
    policy = CORSPolicy(origin_resolver=OriginResolver(origins, ttl=3600))
    client = Client(cast(Any, WSGICORS(_wsgi_app, policy)))
    assert client.get("/", headers={"Origin": TENANT}).headers["Access-Control-Allow-Origin"]
    origins.remove(TENANT)
    # Cached until invalidated: that is what invalidate() is for.
    assert client.get("/", headers={"Origin": TENANT}).headers.get("Access-Control-Allow-Origin")
    assert policy.origin_resolver is not None
    policy.origin_resolver.invalidate(TENANT)
    assert "Access-Control-Allow-Origin" not in client.get("/", headers={"Origin": TENANT}).headers
    assert "sqlite" in repr(origins)


def test_sql_origins_accepts_an_engine(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    origins = SQLOrigins(engine, column="value")
    origins.create()
    origins.add(NEW)
    resolver = OriginResolver(origins)
    assert run_in_loop(CORSPolicy(origin_resolver=resolver).decide_async("GET", NEW)).allowed


# --- Redis -----------------------------------------------------------------------------------


def _wait(condition: Any, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            redis_command(self.port, self.directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.answers, "redis-server")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_replicas_share_verdicts_and_invalidations(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    origins = SQLOrigins(f"sqlite:///{tmp_path / 'tenants.db'}")
    origins.create()
    origins.add(TENANT)
    calls: list[str] = []

    def counted(origin: str) -> bool:
        calls.append(origin)
        return origins(origin)

    first = SharedOrigins(counted, url=redis_server.url, ttl=3600)
    second = SharedOrigins(counted, url=redis_server.url, ttl=3600)
    first.start()
    second.start()
    _wait(lambda: first.subscribed.is_set() and second.subscribed.is_set(), "subscriptions")
    try:
        assert first.resolver.resolve_blocking(TENANT)
        assert run_in_loop(second.resolver.resolve_async(TENANT))
        assert calls == [TENANT]  # the second replica found the verdict in Redis
        origins.remove(TENANT)
        first.invalidate_blocking(TENANT)
        _wait(lambda: second.resolver.cached(TENANT) is None, "the invalidation")
        assert not second.resolver.resolve_blocking(TENANT)
        assert not first.resolver.resolve_blocking(TENANT)
        assert calls == [TENANT, TENANT]
    finally:
        first.stop()
        second.stop()


def _get(port: int, origin: str, path: str = "/") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Origin": origin})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _granted(port: int, origin: str) -> bool:
    return _get(port, origin).getheader("access-control-allow-origin") == origin


def _stats(port: int) -> dict[str, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/stats")
    stats: dict[str, int] = json.loads(connection.getresponse().read())
    connection.close()
    return stats


@pytest.mark.server
def test_two_server_processes_behind_redis(redis_server: RedisServer, tmp_path: Path) -> None:
    database = tmp_path / "tenants.db"
    origins = SQLOrigins(f"sqlite:///{database}")
    origins.create()
    origins.add(TENANT)
    origins.add(OTHER)
    environment = {
        **os.environ,
        "CROSSORIGIN_TEST_DB": str(database),
        "CROSSORIGIN_TEST_REDIS": redis_server.url,
        "PYTHONPATH": str(ROOT),
    }
    ports = [free_port(), free_port()]
    replicas = [
        subprocess.Popen(replica_command(port), cwd=ROOT, env=environment) for port in ports
    ]
    try:
        for port in ports:
            _wait(lambda port=port: _listening(port), f"the replica on port {port}", 30)
            _wait(lambda port=port: _stats(port)["subscribed"] == 1, "its subscription")
        for port in ports:
            assert _granted(port, TENANT)
            assert _granted(port, OTHER)
        # A tenant removes a domain: the store changes, one invalidation is published.
        origins.remove(TENANT)
        SharedOrigins(origins, url=redis_server.url).invalidate_blocking(TENANT)
        for port in ports:
            _wait(lambda port=port: not _granted(port, TENANT), "the removal on every replica")
        # Redis goes away: local caches keep serving, and an origin never seen before is
        # answered by the database directly.
        redis_server.stop()
        origins.add(NEW)
        for port, replica in zip(ports, replicas, strict=True):
            assert _granted(port, OTHER)
            assert not _granted(port, TENANT)
            assert _granted(port, NEW)
            assert replica.poll() is None
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            replica.wait(10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_invalidate_from_asyncio(redis_server: RedisServer) -> None:
    allowed = {TENANT}

    async def lookup(origin: str) -> bool:
        await asyncio.sleep(0)
        return origin in allowed

    shared = SharedOrigins(lookup, url=redis_server.url, ttl=3600)

    async def main() -> None:
        assert await shared.resolver.resolve_async(TENANT)
        allowed.clear()
        await shared.invalidate(TENANT)
        assert not await shared.resolver.resolve_async(TENANT)

    try:
        run_in_loop(main())
    finally:
        shared.stop()


def test_prometheus_collector() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from crossorigin.recipes.prometheus import ResolverCollector

    resolver = OriginResolver(lambda origin: origin == TENANT)
    registry = CollectorRegistry()
    registry.register(ResolverCollector({"tenants": resolver}))
    resolver.resolve_blocking(TENANT)
    resolver.resolve_blocking(TENANT)
    resolver.resolve_blocking(OTHER)
    text = generate_latest(registry).decode()
    assert 'crossorigin_resolver_calls_total{resolver="tenants"} 2.0' in text
    assert 'crossorigin_resolver_hits_total{resolver="tenants"} 1.0' in text
    assert 'crossorigin_resolver_grants{resolver="tenants"} 1.0' in text
    assert "# TYPE crossorigin_resolver_queued gauge" in text
