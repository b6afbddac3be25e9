"""The per-route grant follows Starlette's router in headless Chromium: the audit's case.

A partner origin is allowed on ``/*`` with credentials, the admin API only for the admin
origin. Before routes failed closed, a partner page read ``/api/admin%2F..``: uvicorn
decodes it to ``/api/admin/..``, Starlette serves it with ``/api/admin/{rest:path}``, and
the routes collapsed it to ``/api/`` and granted it under ``/*``. ``//api/admin/users``
(Starlette's catch-all, but Werkzeug's admin endpoint) gets no grant either, whatever the
router. The canonical URLs keep working for the origins they name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from crossorigin.asgi import CORSMiddleware
from crossorigin.browser import CHROMIUM as CHROMIUM_RULES
from crossorigin.routes import Routes
from tests.browser.harness import (
    PageServers,
    fetch,
)
from tests.browser.harness import chromium as launched_chromium
from tests.test_routes import starlette_router
from tests.test_servers import uvicorn_serving

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched_chromium(rules=CHROMIUM_RULES) as browser:
        yield browser


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
