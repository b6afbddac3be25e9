"""The per-route grant follows Starlette's router in headless Chromium: the audit's case.

A partner origin is allowed on ``/*`` with credentials, the admin API only for the admin
origin. Before routes failed closed, a partner page read ``/api/admin%2F..``: uvicorn
decodes it to ``/api/admin/..``, Starlette serves it with ``/api/admin/{rest:path}``, and
the routes collapsed it to ``/api/`` and granted it under ``/*``. ``//api/admin/users``
(Starlette's catch-all, but Werkzeug's admin endpoint) gets no grant either, whatever the
router. The canonical URLs keep working for the origins they name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from crossorigin.asgi import CORSMiddleware
from crossorigin.browser import CHROMIUM as CHROMIUM_RULES
from crossorigin.routes import Routes
from tests.browser.conftest import CHROMIUM, INSTALL_HINT
from tests.browser.harness import (
    HOST_RESOLVER_RULES,
    PageServers,
    fetch,
    register_browser,
    unregister_browser,
)
from tests.conftest import require
from tests.test_routes import starlette_router
from tests.test_servers import uvicorn_serving

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    require(os.access(CHROMIUM, os.X_OK), INSTALL_HINT)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=[HOST_RESOLVER_RULES], timeout=30_000
        )
        register_browser(browser, CHROMIUM_RULES)
        try:
            yield browser
        finally:
            unregister_browser(browser)
            browser.close()


def test_partner_page_cannot_read_admin_through_odd_paths(chromium: Browser) -> None:
    from crossorigin import CORSPolicy

    pages = PageServers()
    admin, partner = pages.page, pages.other
    routes = Routes(
        [
            ("/api/admin/*", CORSPolicy(allow_origins=[admin], allow_credentials=True)),
            ("/*", CORSPolicy(allow_origins=[partner], allow_credentials=True)),
        ]
    )
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    try:
        with uvicorn_serving(CORSMiddleware(starlette_router(), routes=routes)) as api:
            page = context.new_page()
            page.goto(partner + "/")
            for odd in ("/api/admin%2F..", "//api/admin/users"):
                result = fetch(page, api + odd, credentials="include")
                assert result.blocked, (odd, result)
            # The partner's own paths still work; so does the admin page on the admin API.
            assert fetch(page, api + "/catalogue", credentials="include").body == "catch_all"
            page.goto(admin + "/")
            result = fetch(page, api + "/api/admin/users", credentials="include")
            assert (result.ok, result.body) == (True, "admin_users")
    finally:
        context.close()
        pages.close()
