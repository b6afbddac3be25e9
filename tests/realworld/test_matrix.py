"""Every framework and server the README names, smoke-tested in headless Chromium.

Each app (``tests/realworld/apps``) is wired to crossorigin the way its framework's users
would, runs in a real server process on 127.0.0.1, and is called by a page on another
origin: an allowed simple GET, an allowed preflighted PUT with JSON and ``Authorization``,
the same GET from a refused origin, and a view that raises (a readable 500, not a CORS
error). The README's matrix table lists exactly these combinations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from .conftest import Combination, PageOrigins, RunningServer, running

pytestmark = [pytest.mark.server, pytest.mark.browser]

APPS = "tests.realworld.apps"
COMBINATIONS = [
    # ASGI
    Combination("fastapi", "uvicorn", f"{APPS}.fastapi_app:app"),
    Combination("starlette", "hypercorn", f"{APPS}.starlette_app:app"),
    Combination("litestar", "granian", f"{APPS}.litestar_app:app"),
    Combination("quart", "hypercorn", f"{APPS}.quart_app:app"),
    Combination("falcon-asgi", "uvicorn", f"{APPS}.falcon_app:asgi"),
    Combination("django-asgi", "granian", f"{APPS}.django_asgi:app"),
    # WSGI
    Combination("flask", "gunicorn", f"{APPS}.flask_app:app"),
    Combination("django-wsgi", "waitress", f"{APPS}.django_wsgi:app"),
    Combination("falcon-wsgi", "gunicorn", f"{APPS}.falcon_app:wsgi"),
    Combination("bottle", "waitress", f"{APPS}.bottle_app:app"),
    Combination("pyramid", "gunicorn", f"{APPS}.pyramid_app:app"),
    # Their own servers
    Combination("aiohttp", "aiohttp", f"{APPS}.aiohttp_app:init"),
    Combination("tornado", "tornado", f"{APPS}.tornado_app"),
]

FETCH = """async ([url, init]) => {
    try {
        const response = await fetch(url, init);
        return {
            blocked: false,
            status: response.status,
            framework: response.headers.get("X-Framework"),
            body: await response.text(),
        };
    } catch (error) {
        return {blocked: true, error: String(error)};
    }
}"""


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda c: c.id)
def server(request: pytest.FixtureRequest, page_origins: PageOrigins) -> Iterator[RunningServer]:
    with running(request.param, page_origins.allowed) as started:
        yield started


def page_on(context: BrowserContext, origin: str) -> Page:
    page = context.new_page()
    page.goto(f"{origin}/")
    return page


def fetch(page: Page, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(FETCH, [url, init or {}])
    return result


def test_allowed_simple_get(
    server: RunningServer, context: BrowserContext, page_origins: PageOrigins
) -> None:
    page = page_on(context, page_origins.allowed)
    result = fetch(page, f"{server.url}/api/data")
    assert result["blocked"] is False, result
    assert result["status"] == 200
    # Exposed by the policy, so the script reads it: the grant really reached the browser.
    assert (
        result["framework"] == server.combination.framework.split("-")[0]
        or result["framework"] == server.combination.framework
    )
    assert '"framework"' in result["body"]


def test_allowed_preflighted_put_with_json_and_authorization(
    server: RunningServer, context: BrowserContext, page_origins: PageOrigins
) -> None:
    page = page_on(context, page_origins.allowed)
    result = fetch(
        page,
        f"{server.url}/api/data",
        {
            "method": "PUT",
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer t0ken"},
            "body": '{"answer": 42}',
        },
    )
    assert result["blocked"] is False, result
    assert result["status"] == 200
    assert '{\\"answer\\": 42}' in result["body"] or '{"answer": 42}' in result["body"]
    assert "Bearer t0ken" in result["body"]


def test_refused_origin_is_blocked(
    server: RunningServer, context: BrowserContext, page_origins: PageOrigins
) -> None:
    page = page_on(context, page_origins.refused)
    simple = fetch(page, f"{server.url}/api/data")
    assert simple["blocked"] is True, simple
    assert "TypeError" in simple["error"]
    preflighted = fetch(
        page,
        f"{server.url}/api/data",
        {"method": "PUT", "headers": {"Content-Type": "application/json"}, "body": "{}"},
    )
    assert preflighted["blocked"] is True, preflighted


def test_exception_in_the_view_is_a_readable_500(
    server: RunningServer, context: BrowserContext, page_origins: PageOrigins
) -> None:
    page = page_on(context, page_origins.allowed)
    result = fetch(page, f"{server.url}/api/boom")
    assert result["blocked"] is False, result
    assert result["status"] == 500
