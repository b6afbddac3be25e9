"""Dynamic origins: the resolver cache, its failure modes, and every adapter using it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient as StarletteClient
from werkzeug.test import Client
from werkzeug.wrappers import Response

from crossorigin import ConfigError, CORSPolicy, RequestKind
from crossorigin import resolver as resolver_module
from crossorigin.aiohttp import CORS as AiohttpCORS
from crossorigin.asgi import CORSMiddleware as ASGICORS
from crossorigin.flask import CORS as FlaskCORS
from crossorigin.resolver import OriginResolver
from crossorigin.wsgi import CORSMiddleware as WSGICORS

from .event_loop import run as run_in_loop

TENANT = "https://tenant.example"
STRANGER = "https://stranger.example"
STATIC = "https://static.example"


class Tenants:
    """A stand-in for a database of tenant domains, counting its queries."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = set(allowed)
        self.calls: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, origin: str) -> bool:
        self.calls.append(origin)
        self.threads.add(threading.get_ident())
        return origin in self.allowed


class AsyncTenants(Tenants):
    async def lookup(self, origin: str) -> bool:
        await asyncio.sleep(0)
        return self(origin)


def test_decide_only_reads_the_cache() -> None:
    tenants = Tenants(TENANT)
    policy = CORSPolicy(allow_origins=[STATIC], origin_resolver=tenants, allow_credentials=True)
    refused = policy.decide("GET", TENANT)
    assert not refused.allowed
    assert refused.vary == b"Origin"
    assert tenants.calls == []  # decide() stays pure: no call
    policy.resolve_origin_blocking(TENANT)
    granted = policy.decide("GET", TENANT)
    assert granted.allowed
    assert dict(granted.headers)[b"access-control-allow-origin"] == TENANT.encode()
    assert dict(granted.headers)[b"access-control-allow-credentials"] == b"true"
    assert granted.vary == b"Origin"
    preflight = policy.decide("OPTIONS", TENANT, "POST")
    assert preflight.kind is RequestKind.PREFLIGHT
    assert preflight.allowed
    assert (b"vary", b"Origin") in preflight.headers
    # Static origins never reach the resolver; verdicts are cached.
    assert policy.decide_blocking("GET", STATIC).allowed
    assert policy.decide_blocking("GET", TENANT).allowed
    assert not policy.decide_blocking("GET", STRANGER).allowed
    assert not policy.decide_blocking("GET", STRANGER).allowed
    assert tenants.calls == [TENANT, STRANGER]
    assert policy.decide_blocking("GET", None).vary == b"Origin"


@pytest.mark.parametrize("origin", ["null", "https://a.example/", "nonsense", "HTTPS://A.EXAMPLE"])
def test_only_valid_origins_reach_the_resolver(origin: str) -> None:
    tenants = Tenants(origin)
    policy = CORSPolicy(origin_resolver=tenants)
    assert not policy.decide_blocking("GET", origin).allowed
    assert tenants.calls == []


def test_ttl_expiry_and_bounded_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(resolver_module, "monotonic", lambda: now[0])
    tenants = Tenants(TENANT)
    resolver = OriginResolver(tenants, ttl=10, max_entries=2)
    policy = CORSPolicy(origin_resolver=resolver)
    policy.decide_blocking("GET", TENANT)
    now[0] += 9
    policy.decide_blocking("GET", TENANT)
    assert tenants.calls == [TENANT]
    now[0] += 2
    tenants.allowed.clear()  # the tenant left; the next lookup after the TTL sees it
    assert not policy.decide_blocking("GET", TENANT).allowed
    assert tenants.calls == [TENANT, TENANT]
    for host in ("a", "b", "c"):
        policy.decide_blocking("GET", f"https://{host}.example")
    assert len(resolver._cache) == 2
    resolver.clear()
    assert resolver.cached("https://c.example") is None


def test_failures_refuse_log_and_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    def broken(origin: str) -> bool:
        raise RuntimeError("database down\r\nforged log line")

    def confused(origin: str) -> bool:
        return "yes"  # type: ignore[return-value]

    release = threading.Event()

    def stuck(origin: str) -> bool:
        release.wait(5)
        return True

    async def broken_async(origin: str) -> bool:
        raise RuntimeError("async database down")

    async def stuck_async(origin: str) -> bool:
        await asyncio.sleep(10)
        return True

    caplog.set_level(logging.WARNING, logger="crossorigin")
    try:
        for function, why in (
            (broken, "RuntimeError"),
            (confused, "not a bool"),
            (stuck, "timed out"),
            (broken_async, "async database down"),
            (stuck_async, "timed out"),
        ):
            caplog.clear()
            policy = CORSPolicy(origin_resolver=OriginResolver(function, timeout=0.05))
            assert not policy.decide_blocking("GET", TENANT).allowed
            assert why in caplog.text
            if function is not stuck:  # a stuck sync thread would hold the loop's exit
                caplog.clear()
                fresh = CORSPolicy(origin_resolver=OriginResolver(function, timeout=0.05))
                assert not run_in_loop(fresh.decide_async("GET", TENANT)).allowed
                assert why in caplog.text
            assert "\r\nforged" not in caplog.text
    finally:
        release.set()


async def _async_resolution_checks() -> None:
    tenants = Tenants(TENANT)
    policy = CORSPolicy(origin_resolver=tenants)
    assert (await policy.decide_async("GET", TENANT)).allowed
    assert threading.get_ident() not in tenants.threads  # ran in a worker thread
    async_tenants = AsyncTenants(TENANT)
    async_policy = CORSPolicy(origin_resolver=async_tenants.lookup)
    assert (await async_policy.decide_async("GET", TENANT)).allowed
    # An async resolver also works from synchronous code (its own loop, in a thread).
    assert CORSPolicy(origin_resolver=async_tenants.lookup).decide_blocking("GET", TENANT).allowed


def test_async_resolution_never_blocks_the_loop() -> None:
    run_in_loop(_async_resolution_checks())


@pytest.mark.parametrize(
    "options",
    [
        {"allow_origins": "*", "origin_resolver": Tenants()},
        {"origin_resolver": "not callable"},
        {"origin_resolver": OriginResolver(Tenants(), ttl=0.01)},
        {"origin_resolver": OriginResolver(Tenants(), max_entries=0)},
        {"origin_resolver": OriginResolver(Tenants(), timeout=-1)},
    ],
)
def test_resolver_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        CORSPolicy(**options)


def test_resolver_survives_replace_and_repr() -> None:
    policy = CORSPolicy(origin_resolver=Tenants(TENANT))
    assert policy.replace(max_age=5).origin_resolver is policy.origin_resolver
    assert "OriginResolver" in repr(policy)
    assert policy.has_resolver
    assert not CORSPolicy(allow_origins="*").has_resolver


# --- through the adapters -------------------------------------------------------------------


def _raising(origin: str) -> bool:
    raise RuntimeError("boom")


def test_asgi_sync_and_async_resolvers() -> None:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/x", echo)])
    tenants = Tenants(TENANT)
    for policy in (
        CORSPolicy(origin_resolver=tenants),
        CORSPolicy(origin_resolver=AsyncTenants(TENANT).lookup),
    ):
        client = StarletteClient(ASGICORS(app, policy))
        assert (
            client.get("/x", headers={"origin": TENANT}).headers["access-control-allow-origin"]
            == TENANT
        )
        refused = client.get("/x", headers={"origin": STRANGER})
        assert "access-control-allow-origin" not in refused.headers
        assert refused.headers["vary"] == "Origin"
        preflight = client.options(
            "/x", headers={"origin": TENANT, "access-control-request-method": "POST"}
        )
        assert preflight.status_code == 204
    failing = StarletteClient(ASGICORS(app, origin_resolver=_raising))
    response = failing.get("/x", headers={"origin": TENANT})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    routed = StarletteClient(ASGICORS(app, routes=[("/x", CORSPolicy(origin_resolver=tenants))]))
    assert (
        routed.get("/x", headers={"origin": TENANT}).headers["access-control-allow-origin"]
        == TENANT
    )


def _wsgi_app(environ: dict[str, object], start_response: object) -> Iterable[bytes]:
    return Response("ok")(environ, start_response)  # type: ignore[arg-type]


def test_wsgi_and_flask_resolvers() -> None:
    client = Client(cast(Any, WSGICORS(_wsgi_app, origin_resolver=Tenants(TENANT))))
    assert (
        client.get("/", headers={"Origin": TENANT}).headers["Access-Control-Allow-Origin"] == TENANT
    )
    failing = Client(cast(Any, WSGICORS(_wsgi_app, origin_resolver=_raising)))
    assert failing.get("/", headers={"Origin": TENANT}).status_code == 200

    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return "ok"

    FlaskCORS(app, policy=CORSPolicy(origin_resolver=Tenants(TENANT)))
    response = app.test_client().get("/", headers={"Origin": TENANT})
    assert response.headers["Access-Control-Allow-Origin"] == TENANT


def test_aiohttp_resolver() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    AiohttpCORS(app, origin_resolver=AsyncTenants(TENANT).lookup)

    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            granted = await client.get("/", headers={"Origin": TENANT})
            assert granted.headers["Access-Control-Allow-Origin"] == TENANT
            refused = await client.get("/", headers={"Origin": STRANGER})
            assert "Access-Control-Allow-Origin" not in refused.headers
            assert refused.headers["Vary"] == "Origin"

    run_in_loop(main())


def test_swapping_the_policy_picks_the_right_path() -> None:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    asgi = ASGICORS(Starlette(routes=[Route("/", echo)]), allow_origins=[STATIC])
    wsgi = WSGICORS(_wsgi_app, allow_origins=[STATIC])
    asgi_client = StarletteClient(asgi)
    wsgi_client = Client(cast(Any, wsgi))
    assert (
        "access-control-allow-origin"
        not in asgi_client.get("/", headers={"origin": TENANT}).headers
    )
    # A resolver policy swapped in at runtime is consulted, and swapping back restores
    # the static path.
    resolving = CORSPolicy(origin_resolver=Tenants(TENANT))
    asgi.policy = resolving
    wsgi.policy = resolving
    assert asgi.policy is resolving
    assert (
        asgi_client.get("/", headers={"origin": TENANT}).headers["access-control-allow-origin"]
        == TENANT
    )
    assert (
        wsgi_client.get("/", headers={"Origin": TENANT}).headers["Access-Control-Allow-Origin"]
        == TENANT
    )
    asgi.policy = CORSPolicy(allow_origins=[STATIC])
    wsgi.policy = CORSPolicy(allow_origins=[STATIC])
    assert (
        "access-control-allow-origin"
        not in asgi_client.get("/", headers={"origin": TENANT}).headers
    )
    assert (
        "Access-Control-Allow-Origin"
        not in wsgi_client.get("/", headers={"Origin": TENANT}).headers
    )
