"""Moving a django-cors-headers project to crossorigin.django, checked in headless Chromium.

The project is django-cors-headers' README setup: allowed origins and regexes,
``CORS_URLS_REGEX``, credentials, extra allowed and exposed headers, and a
``check_request_enabled`` receiver. It runs under a threaded WSGI server on 127.0.0.1, once
with each middleware: the migration changes only ``INSTALLED_APPS``, ``MIDDLEWARE`` and the
``default_headers`` import. Every fetch the incumbent allowed must still be allowed (with
the same status and readable headers), every fetch it refused still refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from .django_project import INCUMBENT, OURS, overridden, wsgi_served
from .migration_chromium import Fetch, chromium, run, verdict

pytestmark = [pytest.mark.browser, pytest.mark.server]


def readme_settings(cors_module: str, page: str, port: int) -> dict[str, object]:
    """The CORS part of settings.py, written against ``cors_module``'s defaults."""
    if cors_module == "corsheaders":
        from corsheaders.defaults import default_headers
    else:
        from crossorigin.django import default_headers
    return {
        "CORS_ALLOWED_ORIGINS": [page, "file://"],
        "CORS_ALLOWED_ORIGIN_REGEXES": [rf"^http://\w+\.app\.test:{port}$"],
        "CORS_URLS_REGEX": r"^/api/",
        "CORS_ALLOW_CREDENTIALS": True,
        "CORS_ALLOW_HEADERS": (*default_headers, "x-custom"),
        "CORS_EXPOSE_HEADERS": ["X-Total"],
    }


@contextmanager
def serve(middleware: str) -> Iterator[str]:
    with override_settings(MIDDLEWARE=[middleware, "django.middleware.common.CommonMiddleware"]):
        handler = WSGIHandler()  # loads the middleware chain now
    with wsgi_served(handler) as address:
        yield f"http://{address}"


def test_every_fetch_keeps_its_verdict() -> None:
    from corsheaders.signals import check_request_enabled as theirs

    from crossorigin.django import check_request_enabled as ours

    with chromium() as (page, pages):
        app, other = pages.page, pages.other
        subdomain, evil = pages.at("a.app.test"), pages.at("evil.test")
        partner = pages.localhost

        # The README's receiver: trust one more origin from the database (here: a set).
        def trusted_partner(sender: object, request: Any, **kwargs: object) -> bool:
            return bool(request.headers.get("origin") == partner)

        fetches = [
            (Fetch(app, "/api/items"), "allowed"),
            (Fetch(app, "/api/items", credentials="include"), "allowed"),
            (Fetch(other, "/api/items"), "blocked"),
            (Fetch(app, "/other"), "blocked"),  # outside CORS_URLS_REGEX
            (
                Fetch(
                    app,
                    "/api/items",
                    "PUT",
                    {"Content-Type": "application/json"},
                    body="{}",
                ),
                "allowed",
            ),
            (Fetch(app, "/api/items", "POST", {"X-Custom": "1"}, body="x"), "allowed"),
            (Fetch(app, "/api/items", "POST", {"X-Unknown": "1"}, body="x"), "blocked"),
            (Fetch(app, "/api/items", "POKE"), "blocked"),
            (Fetch(subdomain, "/api/items", credentials="include"), "allowed"),
            (
                Fetch(subdomain, "/api/items", "DELETE", {"Authorization": "Bearer t"}),
                "allowed",
            ),
            (Fetch(evil, "/api/items"), "blocked"),
            (Fetch(partner, "/api/items", credentials="include"), "allowed"),
            (Fetch(app, "/api/boom"), "allowed"),
            (Fetch("null", "/api/items"), "blocked"),
        ]
        verdicts: dict[str, list[tuple[object, ...]]] = {}
        for middleware, module, signal in (
            (INCUMBENT, "corsheaders", theirs),
            (OURS, "crossorigin", ours),
        ):
            cors = readme_settings(module, app, pages.port)
            signal.connect(trusted_partner)
            try:
                with overridden(middleware, **cors), serve(middleware) as base:
                    verdicts[middleware] = [
                        verdict(run(page, base, call), "X-Total") for call, _ in fetches
                    ]
            finally:
                signal.disconnect(trusted_partner)
        assert verdicts[OURS] == verdicts[INCUMBENT]
        for (call, expected), seen in zip(fetches, verdicts[OURS], strict=True):
            assert (seen == ("blocked",)) == (expected == "blocked"), (call, seen)
        assert verdicts[OURS][0] == (200, "2")  # X-Total is exposed
        assert verdicts[OURS][12][0] == 500  # the error keeps its grant
