"""Moving an aiohttp-cors app to crossorigin.aiohttp, checked in headless Chromium.

The app is put together from aiohttp-cors's README: defaults for one origin, a resource
whose routes get their own options, a route with credentials and exposed headers, a
private route, and a ``CorsViewMixin`` view. It is built twice from the same code, once
with ``import aiohttp_cors`` and once with ``crossorigin.aiohttp`` in its place, and both
run at once under aiohttp's own server on 127.0.0.1. Every fetch the incumbent allowed must
still be allowed (same status, same readable headers), every fetch it refused still refused.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar

import aiohttp_cors
import pytest
from aiohttp import web

from crossorigin import aiohttp as crossorigin_aiohttp

from .migration_chromium import Fetch, chromium, run, verdict

pytestmark = [pytest.mark.browser, pytest.mark.server]


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="Hello!", headers={"X-Custom-Server-Header": "Custom data"})


def build(cors_module: ModuleType, client: str, other_client: str) -> web.Application:
    """The README's app; ``cors_module`` is the only thing the migration changes."""
    ResourceOptions = cors_module.ResourceOptions

    class ItemsView(web.View, cors_module.CorsViewMixin):  # type: ignore[misc,name-defined]
        cors_config: ClassVar[dict[str, Any]] = {
            client: ResourceOptions(allow_credentials=True, allow_headers=("X-Request-ID",))
        }

        async def get(self) -> web.Response:
            return await handler(self.request)

        async def delete(self) -> web.Response:
            return web.Response(text="deleted")

    app = web.Application()
    cors = cors_module.setup(app, defaults={client: ResourceOptions()})
    hello = cors.add(app.router.add_resource("/hello"))
    cors.add(hello.add_route("POST", handler))
    cors.add(hello.add_route("PUT", handler))
    cors.add(hello.add_route("GET", handler), {other_client: ResourceOptions()})
    cors.add(
        app.router.add_route("GET", "/api", handler),
        {
            client: ResourceOptions(
                allow_credentials=True,
                expose_headers=("X-Custom-Server-Header",),
                allow_headers=("X-Requested-With", "Content-Type"),
                max_age=3600,
            )
        },
    )
    app.router.add_route("GET", "/private", handler)
    cors.add(app.router.add_route("*", "/items", ItemsView))
    return app


@contextmanager
def serve(*apps: web.Application) -> Iterator[list[str]]:
    """The apps under aiohttp's server, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    runners = [web.AppRunner(app, access_log=None) for app in apps]

    async def start() -> list[str]:
        bases = []
        for runner in runners:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            bases.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        return bases

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    finally:

        async def stop() -> None:
            for runner in runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_every_fetch_keeps_its_verdict() -> None:
    with chromium() as (page, pages):
        client, other_client, stranger = pages.page, pages.other, pages.at("a.app.test")
        json = {"Content-Type": "application/json"}
        fetches = [
            (Fetch(client, "/api", credentials="include"), "allowed"),
            (Fetch(client, "/api", headers={"X-Requested-With": "x"}), "allowed"),
            (Fetch(client, "/api", headers={"X-Other": "x"}), "blocked"),
            (Fetch(client, "/api", "POST", json, body="{}"), "blocked"),  # no POST route
            (Fetch(stranger, "/api"), "blocked"),
            (Fetch(client, "/hello"), "allowed"),
            (Fetch(client, "/hello", "PUT", body="x"), "allowed"),
            (Fetch(other_client, "/hello"), "allowed"),
            (Fetch(other_client, "/hello", "PUT", body="x"), "blocked"),
            (Fetch(client, "/hello", "DELETE"), "blocked"),
            (Fetch(client, "/private"), "blocked"),
            (Fetch(client, "/items", credentials="include"), "allowed"),
            (Fetch(client, "/items", "DELETE", {"X-Request-ID": "1"}), "allowed"),
            (Fetch(client, "/items", "PATCH"), "blocked"),
            (Fetch(other_client, "/items"), "blocked"),
            (Fetch("null", "/hello"), "blocked"),
        ]
        apps = [
            build(module, client, other_client) for module in (aiohttp_cors, crossorigin_aiohttp)
        ]
        with serve(*apps) as bases:
            theirs, mine = [
                [verdict(run(page, base, call), "X-Custom-Server-Header") for call, _ in fetches]
                for base in bases
            ]
    assert mine == theirs
    for (call, expected), seen in zip(fetches, mine, strict=True):
        assert (seen == ("blocked",)) == (expected == "blocked"), (call, seen)
    assert mine[0] == (200, "Custom data")  # exposed to the script
    assert mine[5] == (200, None)  # not exposed there
