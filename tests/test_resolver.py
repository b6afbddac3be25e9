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
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient as StarletteClient
from werkzeug.test import Client
from werkzeug.wrappers import Response

from crossorigin import ConfigError, CORSPolicy, RequestKind
from crossorigin.aiohttp import CORS as AiohttpCORS
from crossorigin.asgi import CORSMiddleware as ASGICORS
from crossorigin.flask import CORS as FlaskCORS
from crossorigin.origins import parse_request_origin
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
    assert policy.resolve_origin_blocking(TENANT) is True
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
    assert policy.resolve_origin_blocking(STATIC) is None
    assert policy.decide_blocking("GET", STATIC).allowed
    assert policy.decide_blocking("GET", TENANT).allowed
    assert not policy.decide_blocking("GET", STRANGER).allowed
    assert not policy.decide_blocking("GET", STRANGER).allowed
    assert tenants.calls == [TENANT, STRANGER]
    assert policy.decide_blocking("GET", None).vary == b"Origin"


def test_decide_resolved_is_pure_and_keeps_static_grants() -> None:
    tenants = Tenants()
    policy = CORSPolicy(allow_origins=[STATIC], origin_resolver=tenants, allow_methods=["PUT"])
    assert policy.decide_resolved(True, "GET", TENANT).allowed
    assert not policy.decide_resolved(False, "GET", TENANT).allowed
    # A static origin stays granted whatever the verdict says.
    assert policy.decide_resolved(False, "GET", STATIC).allowed
    preflight = policy.decide_resolved(True, "OPTIONS", TENANT, "PUT")
    assert preflight.kind is RequestKind.PREFLIGHT
    assert preflight.allowed
    # The verdict answers for the origin only: a refused method stays refused.
    assert not policy.decide_resolved(True, "OPTIONS", TENANT, "DELETE").allowed
    assert not policy.decide_resolved(False, "OPTIONS", TENANT, "PUT").allowed
    assert policy.decide_resolved(True, "GET", None).kind is RequestKind.NOT_CORS
    assert tenants.calls == []


@pytest.mark.parametrize(
    "origin",
    ["null", "https://a.example/", "nonsense", "HTTPS://A.EXAMPLE", "https://" + "a" * 400],
)
def test_only_valid_origins_reach_the_resolver(origin: str) -> None:
    tenants = Tenants(origin)
    policy = CORSPolicy(origin_resolver=tenants)
    assert not policy.decide_blocking("GET", origin).allowed
    assert not run_in_loop(policy.decide_async("GET", origin)).allowed
    assert tenants.calls == []


class Clock:
    """An injectable clock for the resolver's TTLs, grace and log intervals."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ttl_expiry() -> None:
    clock = Clock()
    tenants = Tenants(TENANT)
    policy = CORSPolicy(origin_resolver=OriginResolver(tenants, ttl=10, clock=clock))
    policy.decide_blocking("GET", TENANT)
    clock.now += 9
    policy.decide_blocking("GET", TENANT)
    assert tenants.calls == [TENANT]
    clock.now += 2
    tenants.allowed.clear()  # the tenant left; the next lookup after the TTL sees it
    assert not policy.decide_blocking("GET", TENANT).allowed
    assert tenants.calls == [TENANT, TENANT]


def test_unknown_origins_cannot_evict_tenants() -> None:
    tenants_list = [f"https://t{i}.example" for i in range(10)]
    tenants = Tenants(*tenants_list)
    resolver = OriginResolver(tenants, max_entries=10, max_refusals=50)
    for origin in tenants_list:
        assert resolver.resolve_blocking(origin)
    for i in range(1000):
        assert not resolver.resolve_blocking(f"https://random{i}.example")
        if i % 100 == 0:
            assert all(resolver.resolve_blocking(origin) for origin in tenants_list)
    assert all(resolver.resolve_blocking(origin) for origin in tenants_list)
    # One call per distinct origin, none again for the tenants.
    assert len(tenants.calls) == 1010
    stats = resolver.stats()
    assert stats.grants == 10
    assert stats.refusals == 50
    assert stats.calls == 1010


def test_grants_are_least_recently_used() -> None:
    a, b, c = "https://a.example", "https://b.example", "https://c.example"
    tenants = Tenants(a, b, c)
    resolver = OriginResolver(tenants, max_entries=2)
    resolver.resolve_blocking(a)
    resolver.resolve_blocking(b)
    resolver.resolve_blocking(a)  # a hit keeps a alive
    resolver.resolve_blocking(c)  # evicts b, the least recently used
    assert resolver.cached(a) is True
    assert resolver.cached(b) is None
    assert tenants.calls == [a, b, c]


def test_single_flight_from_threads() -> None:
    release = threading.Event()
    started = threading.Event()
    calls: list[str] = []

    def slow(origin: str) -> bool:
        calls.append(origin)
        started.set()
        release.wait(10)
        return True

    resolver = OriginResolver(slow, timeout=30)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(resolver.resolve_blocking(TENANT)))
        for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    started.wait(10)
    while resolver.stats().coalesced < 49:
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == [True] * 50
    assert calls == [TENANT]
    stats = resolver.stats()
    assert (stats.calls, stats.misses, stats.coalesced) == (1, 1, 49)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_single_flight_on_an_event_loop(kind: str) -> None:
    calls: list[str] = []
    loop_threads: set[int] = set()
    call_threads: set[str] = set()

    def lookup(origin: str) -> bool:
        calls.append(origin)
        call_threads.add(threading.current_thread().name)
        return True

    async def async_lookup(origin: str) -> bool:
        calls.append(origin)
        await asyncio.sleep(0.01)
        return True

    resolver = OriginResolver(lookup if kind == "sync" else async_lookup)
    policy = CORSPolicy(origin_resolver=resolver)

    async def main() -> list[bool]:
        loop_threads.add(threading.get_ident())
        decisions = await asyncio.gather(*(policy.decide_async("GET", TENANT) for _ in range(100)))
        return [decision.allowed for decision in decisions]

    assert run_in_loop(main()) == [True] * 100
    assert calls == [TENANT]
    assert resolver.stats().calls == 1
    if kind == "sync":
        # The resolver's own thread: never the loop, never the loop's default executor.
        assert all(name.startswith("crossorigin-resolver") for name in call_threads)


class Database:
    """A tenant table that can go down."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = set(allowed)
        self.down = False
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, origin: str) -> bool:
        with self.lock:
            self.calls += 1
        if self.down:
            raise ConnectionError("database unreachable")
        return origin in self.allowed


def _settle(resolver: OriginResolver) -> None:
    while resolver.stats().in_flight:
        threading.Event().wait(0.005)


def test_stale_if_error_and_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossorigin")
    clock = Clock()
    database = Database(TENANT)
    resolver = OriginResolver(database, ttl=10, grace=100, clock=clock)
    assert resolver.resolve_blocking(TENANT)
    clock.now += 11
    database.down = True
    # Expired, and the database fails: the last grant is served.
    assert resolver.resolve_blocking(TENANT)
    assert resolver.stats().stale_served == 1
    # Unknown origins are refused, each failure remembered for a second at most.
    assert not resolver.resolve_blocking(STRANGER)
    calls = database.calls
    assert not resolver.resolve_blocking(STRANGER)
    assert database.calls == calls
    for _ in range(60):  # a minute of outage, one second at a time
        clock.now += 1
        assert resolver.resolve_blocking(TENANT)
        assert not resolver.resolve_blocking(STRANGER)
        _settle(resolver)  # background probes finish before the clock moves on
    # The circuit opened: one probe per second, not one call per request.
    assert database.calls <= 3 + 61
    assert resolver.stats().outage_refusals > 0
    # Recovery: the tenant was removed meanwhile; the first successful call shows it.
    database.down = False
    database.allowed.discard(TENANT)
    clock.now += 1
    # The circuit is open, so this request gets the stale grant and sends a probe.
    assert resolver.resolve_blocking(TENANT)
    _settle(resolver)
    # The probe's success takes effect at once, with no further call.
    calls = database.calls
    assert not resolver.resolve_blocking(TENANT)
    assert database.calls == calls
    assert resolver.resolve_blocking(STRANGER) is False
    while "answers again" not in caplog.text:
        threading.Event().wait(0.01)
    # Past its grace a grant is no longer served.
    database.allowed.add(STATIC)
    assert resolver.resolve_blocking(STATIC)
    database.down = True
    clock.now += 10 + 100 + 1
    assert not resolver.resolve_blocking(STATIC)


def test_grace_zero_disables_stale_grants() -> None:
    clock = Clock()
    database = Database(TENANT)
    resolver = OriginResolver(database, ttl=10, grace=0, clock=clock)
    assert resolver.resolve_blocking(TENANT)
    clock.now += 11
    database.down = True
    assert not resolver.resolve_blocking(TENANT)
    assert resolver.stats().stale_served == 0


def test_failure_refusals_last_a_second_at_most() -> None:
    clock = Clock()
    database = Database(TENANT)
    database.down = True
    resolver = OriginResolver(database, clock=clock)
    assert not resolver.resolve_blocking(TENANT)
    clock.now += 0.5
    assert not resolver.resolve_blocking(TENANT)
    assert database.calls == 1
    database.down = False
    clock.now += 0.6
    assert resolver.resolve_blocking(TENANT)
    assert database.calls == 2


def test_outage_warnings_are_summarised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="crossorigin")
    clock = Clock()
    database = Database()
    database.down = True
    resolver = OriginResolver(database, log_interval=30, clock=clock)
    for i in range(3000):
        clock.now += 0.02  # a minute of random origins
        assert not resolver.resolve_blocking(f"https://r{i}.example")
        _settle(resolver)
    lines = [record for record in caplog.records if record.name == "crossorigin"]
    # The first problem at once, then one summary line per 30 s with a count.
    assert 2 <= len(lines) <= 3
    assert "database unreachable" in lines[0].getMessage()
    assert "problems in the last 30 s" in lines[1].getMessage()
    # Calls: three, then one probe per second while the circuit is open.
    assert database.calls <= 3 + 61


def test_backlog_is_bounded_and_expired_calls_are_never_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="crossorigin")
    release = threading.Event()
    calls: list[str] = []

    def hung(origin: str) -> bool:
        calls.append(origin)
        release.wait(10)
        return True

    resolver = OriginResolver(hung, timeout=2, concurrency=1, backlog=2)
    answers: dict[str, bool] = {}
    origins = [f"https://o{i}.example" for i in range(4)]
    threads = [
        threading.Thread(target=lambda o=o: answers.__setitem__(o, resolver.resolve_blocking(o)))
        for o in origins[:3]
    ]
    for thread in threads:
        thread.start()
    while resolver.stats().queued < 2:
        threading.Event().wait(0.01)
    # One running, two queued: the next new origin is refused at once, and logged.
    assert not resolver.resolve_blocking(origins[3])
    assert resolver.stats().backlog_refusals == 1
    assert "backlog full" in caplog.text
    for thread in threads:
        thread.join(10)
    assert answers == dict.fromkeys(origins[:3], False)  # every waiter gave up
    release.set()
    while resolver.stats().in_flight:
        threading.Event().wait(0.01)
    # The queued calls expired with their waiters: only the running one was ever made.
    assert calls == [origins[0]]
    assert resolver.stats().calls == 1
    # Its late answer is still stored.
    assert resolver.cached(origins[0]) is True


def test_resolvers_are_isolated() -> None:
    release = threading.Event()

    def hung(origin: str) -> bool:
        release.wait(10)
        return True

    stuck = CORSPolicy(origin_resolver=OriginResolver(hung, timeout=0.05))
    healthy = CORSPolicy(origin_resolver=Tenants(TENANT))
    try:
        for i in range(20):
            assert not stuck.decide_blocking("GET", f"https://s{i}.example").allowed
        assert healthy.decide_blocking("GET", TENANT).allowed
        assert run_in_loop(healthy.decide_async("GET", TENANT)).allowed
    finally:
        release.set()


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
            # Only the stuck ones may time out, however slow the machine is.
            timeout = 0.05 if why == "timed out" else 30
            caplog.clear()
            resolver = OriginResolver(function, timeout=timeout)
            policy = CORSPolicy(origin_resolver=resolver)
            assert not policy.decide_blocking("GET", TENANT).allowed
            assert why in caplog.text
            assert resolver.stats().failures == 1
            caplog.clear()
            fresh = CORSPolicy(origin_resolver=OriginResolver(function, timeout=timeout))
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


def test_async_resolution_never_blocks_the_loop() -> None:
    run_in_loop(_async_resolution_checks())
    # An async resolver also works from synchronous code (its own loop, in a thread).
    tenants = AsyncTenants(TENANT)
    assert CORSPolicy(origin_resolver=tenants.lookup).decide_blocking("GET", TENANT).allowed


def test_invalidate_clear_and_stats() -> None:
    tenants = Tenants(TENANT)
    resolver = OriginResolver(tenants)
    assert resolver.resolve_blocking(TENANT)
    assert not resolver.resolve_blocking(STRANGER)
    tenants.allowed = {STRANGER}
    resolver.invalidate(TENANT)
    resolver.invalidate(STRANGER)
    assert not resolver.resolve_blocking(TENANT)
    assert resolver.resolve_blocking(STRANGER)
    tenants.allowed = {TENANT}
    resolver.clear()
    assert resolver.stats().grants == resolver.stats().refusals == 0
    assert resolver.resolve_blocking(TENANT)
    assert resolver.resolve_blocking(TENANT)
    stats = resolver.stats().as_dict()
    assert stats["calls"] == 5
    assert stats["hits"] == 1
    assert set(stats) >= {
        "hits",
        "misses",
        "coalesced",
        "calls",
        "failures",
        "stale_served",
        "backlog_refusals",
    }


def test_invalidation_while_a_call_runs_is_not_overwritten() -> None:
    release = threading.Event()
    answers = iter([True, False])

    def lookup(origin: str) -> bool:
        release.wait(10)
        return next(answers)

    resolver = OriginResolver(lookup, timeout=30)
    first = threading.Thread(target=resolver.resolve_blocking, args=(TENANT,))
    first.start()
    while not resolver.stats().in_flight:
        threading.Event().wait(0.01)
    resolver.invalidate(TENANT)  # the tenant was removed while the old lookup ran
    release.set()
    first.join(10)
    assert resolver.cached(TENANT) is None
    assert not resolver.resolve_blocking(TENANT)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ttl", float("nan")),
        ("ttl", float("inf")),
        ("ttl", 0),
        ("ttl", -1),
        ("ttl", "60"),
        ("ttl", True),
        ("timeout", float("nan")),
        ("timeout", 0),
        ("timeout", -1),
        ("grace", float("nan")),
        ("grace", float("inf")),
        ("grace", -1),
        ("max_entries", float("nan")),
        ("max_entries", float("inf")),
        ("max_entries", 0),
        ("max_entries", 10.0),
        ("max_refusals", 0),
        ("concurrency", 0),
        ("backlog", -1),
        ("log_interval", 0),
        ("clock", "now"),
    ],
)
def test_resolver_settings_are_validated(option: str, value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        OriginResolver(Tenants(), **{option: value})  # type: ignore[arg-type]
    assert option in str(raised.value)
    assert "Fix:" in str(raised.value)


def test_grace_zero_is_valid() -> None:
    assert OriginResolver(Tenants(), grace=0).grace == 0


@pytest.mark.parametrize(
    "options",
    [
        {"allow_origins": "*", "origin_resolver": Tenants()},
        {"origin_resolver": "not callable"},
    ],
)
def test_resolver_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        CORSPolicy(**options)
    assert len(raised.value.problems) == 1


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


@settings(max_examples=300, deadline=None)
@given(origin=st.text(max_size=60) | st.from_regex(r"https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?"))
def test_any_origin_value_is_safe(origin: str) -> None:
    seen: list[str] = []

    def lookup(value: str) -> bool:
        seen.append(value)
        return True

    policy = CORSPolicy(origin_resolver=lookup, allow_credentials=True)
    decision = policy.decide_blocking("GET", origin)
    preflight = policy.decide_blocking("OPTIONS", origin, "GET")
    for value in seen:
        assert parse_request_origin(value) is not None  # only valid origins reach it
    if decision.allowed:
        assert seen == [origin]
        assert dict(decision.headers)[b"access-control-allow-origin"] == origin.encode()
        assert preflight.allowed


def test_threads_and_loops_hammering_one_resolver() -> None:
    """Many threads and two event loops, invalidations and clears in between: never an
    exception, every answer a bool, and every call counted once."""
    database = Database(*(f"https://t{i}.example" for i in range(0, 40, 2)))
    resolver = OriginResolver(database, ttl=0.001, concurrency=3, backlog=8)
    origins = [f"https://t{i}.example" for i in range(40)]
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        try:
            for i in range(300):
                origin = origins[(seed * 7 + i) % len(origins)]
                verdict = resolver.resolve_blocking(origin)
                assert verdict is True or verdict is False
                if verdict:
                    assert origin in database.allowed
                if i % 50 == seed:
                    resolver.invalidate(origin)
                if i == 150 and seed == 0:
                    resolver.clear()
        except BaseException as error:
            errors.append(error)

    async def hammer_async(seed: int) -> None:
        for i in range(200):
            origin = origins[(seed * 5 + i) % len(origins)]
            verdict = await resolver.resolve_async(origin)
            assert verdict is True or verdict is False
            if verdict:
                assert origin in database.allowed

    async def many() -> None:
        await asyncio.gather(*(hammer_async(seed) for seed in range(10)))

    threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(8)]
    loops = [threading.Thread(target=lambda: run_in_loop(many())) for _ in range(2)]
    for thread in threads + loops:
        thread.start()
    for thread in threads + loops:
        thread.join(60)
    assert errors == []
    _settle(resolver)
    stats = resolver.stats()
    assert stats.calls == database.calls
    assert stats.queued == 0
    assert stats.failures == 0


def test_a_wrapper_returning_an_awaitable_is_awaited() -> None:
    async def lookup(origin: str) -> bool:
        return origin == TENANT

    def wrapper(origin: str) -> Any:  # not a coroutine function, but returns a coroutine
        return lookup(origin)

    resolver = OriginResolver(wrapper)
    assert not resolver.is_async
    assert resolver.resolve_blocking(TENANT)
    assert run_in_loop(OriginResolver(wrapper).resolve_async(TENANT))
    assert not resolver.resolve_blocking(STRANGER)
    assert resolver.stats().failures == 0


def test_blocking_lookup_never_waits_on_an_event_loop() -> None:
    release = threading.Event()

    def hung(origin: str) -> bool:
        release.wait(10)
        return True

    resolver = OriginResolver(hung, timeout=30)

    async def inside_a_loop() -> bool:
        return resolver.resolve_blocking(TENANT)  # synchronous code in an async server

    try:
        assert run_in_loop(inside_a_loop()) is False
        # It returned while the call was still running: nobody waited for it.
        stats = resolver.stats()
        assert (stats.in_flight, stats.failures) == (1, 0)
    finally:
        release.set()
    _settle(resolver)
    assert resolver.cached(TENANT) is True  # the background call's answer is kept
