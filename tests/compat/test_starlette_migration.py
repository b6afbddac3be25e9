"""Migrating a Starlette/FastAPI app: only the import changes, and headless Chromium agrees.

Three apps written as Starlette's and FastAPI's documentation writes them (the FastAPI CORS
tutorial, Starlette's ``middleware=[Middleware(CORSMiddleware, allow_origins=['*'])]``, and
an ``allow_origin_regex`` app with credentials and exposed headers) are served twice on
127.0.0.1 by uvicorn: once with ``starlette.middleware.cors.CORSMiddleware``, once with
``crossorigin.asgi.CORSMiddleware``, nothing else changed. The same fetches run in the same
Chromium against both; every fetch Starlette allowed must still be allowed, every fetch it
refused still refused, with the same readable headers, except the documented differences
listed in ``EXPECTED_DIFFERENCES`` (docs/migration.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from crossorigin.asgi import CORSMiddleware as CrossoriginCORSMiddleware
from crossorigin.browser import CHROMIUM as CHROMIUM_RULES
from tests.browser.harness import (
    PageServers,
    fetch,
)
from tests.browser.harness import chromium as launched_chromium
from tests.test_servers import uvicorn_serving

pytestmark = [pytest.mark.browser, pytest.mark.server]


def tutorial_app(cors_middleware: type, page_origin: str) -> FastAPI:
    """FastAPI's CORS tutorial, its page origin added to the tutorial's list."""
    app = FastAPI()
    origins = [
        "http://localhost.tiangolo.com",
        "https://localhost.tiangolo.com",
        "http://localhost",
        "http://localhost:8080",
        page_origin,
    ]
    app.add_middleware(
        cast(Any, cors_middleware),
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )

    @app.get("/")
    async def main() -> dict[str, str]:
        return {"message": "Hello World"}

    @app.api_route("/", methods=["POST", "PUT", "DELETE"])
    async def change(request: Request) -> dict[str, str]:
        return {"method": request.method}

    return app


async def homepage(request: Request) -> Response:
    return JSONResponse({"method": request.method}, headers={"X-Total": "42"})


ROUTES = [Route("/", homepage, methods=["GET", "POST", "PUT", "DELETE"])]


def public_app(cors_middleware: type, page_origin: str) -> Starlette:
    """Starlette's documentation example."""
    middleware = [Middleware(cast(Any, cors_middleware), allow_origins=["*"])]
    return Starlette(routes=ROUTES, middleware=middleware)


def regex_app(cors_middleware: type, page_origin: str) -> Starlette:
    port = page_origin.rsplit(":", 1)[1]
    middleware = [
        Middleware(
            cast(Any, cors_middleware),
            allow_origins=[page_origin],
            allow_origin_regex=rf"http://[a-z0-9-]+\.app\.test:{port}",
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["X-Token"],
            expose_headers=["X-Total"],
        )
    ]
    return Starlette(routes=ROUTES, middleware=middleware)


APPS = {"tutorial": tutorial_app, "public": public_app, "regex": regex_app}


@dataclass(frozen=True)
class Call:
    name: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    credentials: str | None = None


CALLS = (
    Call("simple GET"),
    Call("credentialed GET", credentials="include"),
    Call("form POST", "POST", body="a=1"),
    Call("JSON POST", "POST", (("Content-Type", "application/json"),), "{}"),
    Call("PUT with X-Token", "PUT", (("X-Token", "t"),), "{}", "include"),
    Call("DELETE with Authorization", "DELETE", (("Authorization", "Bearer t"),)),
    Call("credentialed DELETE", "DELETE", credentials="include"),
)

# (app, call name) -> why crossorigin answers differently, as docs/migration.md says.
EXPECTED_DIFFERENCES = {
    ("public", "JSON POST"): "GET/HEAD/POST always pass the method check",
}


@dataclass(frozen=True)
class Seen:
    allowed: bool
    status: int
    total: str | None  # the X-Total response header, as JavaScript could read it


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched_chromium(rules=CHROMIUM_RULES) as browser:
        yield browser


@pytest.fixture(scope="module")
def page_servers() -> Iterator[PageServers]:
    with PageServers() as servers:
        yield servers


def deployment(cors_middleware: type, page_origin: str) -> Starlette:
    return Starlette(
        routes=[
            Mount(f"/{name}", app=make(cors_middleware, page_origin)) for name, make in APPS.items()
        ]
    )


_unique = itertools.count()


def run_calls(page: Page, base: str) -> dict[tuple[str, str], Seen]:
    seen: dict[tuple[str, str], Seen] = {}
    for app_name in APPS:
        for call in CALLS:
            # A fresh URL each time: no preflight cache entry carries over between calls.
            url = f"{base}/{app_name}/?n={next(_unique)}"
            result = fetch(
                page,
                url,
                method=call.method,
                headers=dict(call.headers) or None,
                body=call.body,
                credentials=call.credentials,
            )
            seen[app_name, call.name] = Seen(
                result.ok, result.status, result.headers.get("x-total") if result.ok else None
            )
    return seen


def test_only_the_import_changes(chromium: Browser, page_servers: PageServers) -> None:
    listed = page_servers.page
    theirs_app = deployment(StarletteCORSMiddleware, listed)
    ours_app = deployment(CrossoriginCORSMiddleware, listed)
    origins = {
        "listed": listed,
        "unlisted": page_servers.other,
        "regex": page_servers.at("a.app.test"),
        "localhost": page_servers.localhost,
    }
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    differences: dict[tuple[str, str, str], tuple[Seen, Seen]] = {}
    allowed_somewhere = refused_somewhere = 0
    try:
        with uvicorn_serving(theirs_app) as theirs, uvicorn_serving(ours_app) as ours:
            page = context.new_page()
            for origin_name, origin in origins.items():
                page.goto(origin + "/")
                before = run_calls(page, theirs)
                after = run_calls(page, ours)
                for key, was in before.items():
                    allowed_somewhere += was.allowed
                    refused_somewhere += not was.allowed
                    if after[key] != was:
                        differences[(origin_name, *key)] = (was, after[key])
    finally:
        context.close()
    # The matrix means something: both verdicts occur many times.
    assert allowed_somewhere >= 20
    assert refused_somewhere >= 20
    unexpected = {
        key: pair for key, pair in differences.items() if key[1:] not in EXPECTED_DIFFERENCES
    }
    assert unexpected == {}
    # Each documented difference shows up, the way the documentation says: crossorigin
    # allows what Starlette refused for a reason that protects nobody.
    for (app_name, call_name), why in EXPECTED_DIFFERENCES.items():
        shown = [pair for key, pair in differences.items() if key[1:] == (app_name, call_name)]
        assert shown, f"expected difference not seen: {app_name} {call_name} ({why})"
        assert all(not was.allowed and now.allowed for was, now in shown)
