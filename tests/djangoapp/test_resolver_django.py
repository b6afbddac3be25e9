"""Django's async stack asks the origin resolver without ever blocking the event loop."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from crossorigin import CORSPolicy, OriginResolver

from ..event_loop import run as run_in_loop

TENANT = "https://tenant.example"
STRANGER = "https://stranger.example"


def test_async_stack_never_calls_the_blocking_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def tenants(origin: str) -> bool:
        calls.append(origin)
        return origin == TENANT

    def blocking(self: OriginResolver, origin: str) -> bool:
        raise AssertionError("a blocking resolver call on the event loop")

    monkeypatch.setattr(OriginResolver, "resolve_blocking", blocking)
    policy = CORSPolicy(origin_resolver=OriginResolver(tenants), allow_methods=["GET", "PUT"])

    async def run() -> None:
        client = AsyncClient()
        for path in ("/api/async", "/api/items"):  # an async view and a sync one
            granted = await client.get(path, headers={"Origin": TENANT})
            assert granted["Access-Control-Allow-Origin"] == TENANT, path
            refused = await client.get(path, headers={"Origin": STRANGER})
            assert "Access-Control-Allow-Origin" not in refused, path
        preflight = await client.options(
            "/api/items", headers={"Origin": TENANT, "Access-Control-Request-Method": "PUT"}
        )
        assert preflight.status_code == 204
        assert preflight["Access-Control-Allow-Origin"] == TENANT
        refused_preflight = await client.options(
            "/api/items", headers={"Origin": STRANGER, "Access-Control-Request-Method": "PUT"}
        )
        assert refused_preflight.status_code == 403

    with override_settings(CROSSORIGIN_POLICY=policy):
        run_in_loop(run())
    assert sorted(set(calls)) == [STRANGER, TENANT]
    assert policy.origin_resolver is not None
    assert policy.origin_resolver.stats().calls == 2


def test_async_stack_when_the_verdict_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    # Refused at once because the backlog is full: nothing cached, still no blocking call.
    def blocking(self: OriginResolver, origin: str) -> bool:
        raise AssertionError("a blocking resolver call on the event loop")

    async def never(origin: str) -> bool:
        raise AssertionError("not called: the backlog is full")

    resolver = OriginResolver(never, concurrency=1, backlog=0)
    resolver._running = 1  # a call of another request holds the only slot
    monkeypatch.setattr(OriginResolver, "resolve_blocking", blocking)

    async def run() -> Any:
        return await AsyncClient().get("/api/async", headers={"Origin": TENANT})

    with override_settings(CROSSORIGIN_POLICY=CORSPolicy(origin_resolver=resolver)):
        response = run_in_loop(run())
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert resolver.stats().backlog_refusals >= 1


def test_sync_stack_still_blocks_as_wsgi_does() -> None:
    policy = CORSPolicy(origin_resolver=lambda origin: origin == TENANT)
    with override_settings(CROSSORIGIN_POLICY=policy):
        response = Client().get("/api/items", headers={"Origin": TENANT})
    assert response["Access-Control-Allow-Origin"] == TENANT
