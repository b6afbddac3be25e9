"""Django's async stack asks the origin resolver without ever waiting on the event loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

from crossorigin import CORSPolicy, OriginResolver
from crossorigin.django import CorsMiddleware

from ..event_loop import run as run_in_loop

TENANT = "https://tenant.example"
STRANGER = "https://stranger.example"


@pytest.fixture
def no_wait_on_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any blocking wait for a resolver call made on a thread running an event loop."""
    original = Future.result

    def result(self: Future[Any], timeout: float | None = None) -> Any:
        if asyncio._get_running_loop() is not None and not self.done():
            raise AssertionError("a blocking wait on the event loop")
        return original(self, timeout)

    monkeypatch.setattr(Future, "result", result)


@pytest.mark.usefixtures("no_wait_on_a_loop")
def test_async_stack_grants_and_refuses() -> None:
    calls: list[str] = []

    def tenants(origin: str) -> bool:  # sync: runs on the resolver's threads
        calls.append(origin)
        return origin == TENANT

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
    assert sorted(calls) == [STRANGER, TENANT]


@pytest.mark.usefixtures("no_wait_on_a_loop")
def test_async_stack_when_the_verdict_is_gone_after_the_view() -> None:
    # The lookup before the view is refused at once (the only slot is busy); by the time the
    # response is finished a slot is free and a call starts: the middleware must not wait.
    release = threading.Event()

    def hung(origin: str) -> bool:
        release.wait(10)
        return True

    resolver = OriginResolver(hung, concurrency=1, backlog=0, timeout=30)
    policy = CORSPolicy(origin_resolver=resolver)

    async def view(request: HttpRequest) -> HttpResponse:
        resolver._running = 0  # the other request's call ended meanwhile
        return HttpResponse("ok")

    async def run() -> Any:
        middleware = CorsMiddleware(view, policy)
        resolver._running = 1  # another request's call holds the only slot
        request = RequestFactory().get("/api/async", headers={"Origin": TENANT})
        return await middleware(request)

    try:
        response = run_in_loop(run())
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response
        stats = resolver.stats()
        assert stats.backlog_refusals == 1
        assert stats.failures == 0  # nobody waited for the call, so nothing timed out
    finally:
        release.set()


def test_sync_stack_still_waits_as_wsgi_does() -> None:
    policy = CORSPolicy(origin_resolver=lambda origin: origin == TENANT)
    with override_settings(CROSSORIGIN_POLICY=policy):
        response = Client().get("/api/items", headers={"Origin": TENANT})
    assert response["Access-Control-Allow-Origin"] == TENANT
