"""crossorigin.django's cheap paths: what they skip must not change what is answered."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

import crossorigin.django as cors_django
from crossorigin import CORSPolicy
from crossorigin.django import CorsMiddleware

from ..event_loop import run as run_in_loop
from .views import SPECIAL_ORIGIN

F = TypeVar("F", bound=Callable[..., Any])

APP = "https://app.example"
REFUSED_PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "x-unknown",
}


def overridden(**values: Any) -> Callable[[F], F]:
    return cast(Callable[[F], F], override_settings(**values))


def request_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "django.request"]


def test_refused_preflight_logs_no_django_request_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = Client().options("/api/items", headers=REFUSED_PREFLIGHT)
    assert refused.status_code == 403
    assert request_warnings(caplog) == []
    # crossorigin's own record of the refusal is still there (DEBUG).
    assert any(r.name == "crossorigin" and "refused" in r.getMessage() for r in caplog.records)
    # Django does log other 4xx answers here: the check above is not vacuous.
    assert Client().get("/api/only-post").status_code == 405
    assert request_warnings(caplog) != []


def test_refused_preflight_of_a_decorated_view_logs_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    for stack in (Client(), Client()):
        refused = stack.options(
            "/api/special",
            headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "DELETE"},
        )
        assert refused.status_code == 403
    with override_settings(MIDDLEWARE=[]):  # the decorator answers by itself
        refused = Client().options(
            "/api/special",
            headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "DELETE"},
        )
        assert refused.status_code == 403
    assert request_warnings(caplog) == []


def test_refused_preflight_in_an_async_stack_logs_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    async def run() -> None:
        refused = await AsyncClient().options("/api/async", headers=REFUSED_PREFLIGHT)
        assert refused.status_code == 403
        special = await AsyncClient().options(
            "/api/async-special",
            headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "DELETE"},
        )
        assert special.status_code == 403

    run_in_loop(run())
    assert request_warnings(caplog) == []


def middleware_around(response: HttpResponse, policy: CORSPolicy) -> Callable[..., Any]:
    def get_response(request: HttpRequest) -> HttpResponse:
        return response

    return CorsMiddleware(get_response, policy)


@pytest.fixture(params=["direct", "public"])
def header_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test through both ways of writing headers: Django's store, its public API."""
    if request.param == "public":
        monkeypatch.setattr(cors_django, "_DIRECT_STORE", False)


def test_the_installed_django_gets_the_direct_header_path() -> None:
    assert cors_django._DIRECT_STORE is True


def test_only_cors_headers_change_and_vary_is_merged(header_path: None) -> None:
    response = HttpResponse("x")
    response.headers["X-Kept"] = "1"
    response.headers["ACCESS-CONTROL-ALLOW-ORIGIN"] = "*"
    response.headers["Access-Control-Max-Age"] = "5"
    response.headers["vary"] = "Accept-Encoding, origin"
    policy = CORSPolicy(allow_origins=[APP], expose_headers=["X-Kept"])
    request = RequestFactory().get("/", headers={"Origin": APP})
    answered = middleware_around(response, policy)(request)
    assert {k.lower(): v for k, v in answered.items()} == {
        "content-type": "text/html; charset=utf-8",
        "x-kept": "1",
        "access-control-allow-origin": APP,
        "access-control-expose-headers": "X-Kept",
        "vary": "Accept-Encoding, origin",
    }


@pytest.mark.parametrize(
    ("app_vary", "expected"),
    [
        (None, "Origin"),
        ("Cookie", "Cookie, Origin"),
        ("cookie, ORIGIN", "cookie, ORIGIN"),
        ("*", "*"),
        ("", "Origin"),
    ],
)
def test_vary_merge(app_vary: str | None, expected: str, header_path: None) -> None:
    response = HttpResponse("x")
    if app_vary is not None:
        response.headers["Vary"] = app_vary
    policy = CORSPolicy(allow_origins=[APP])
    request = RequestFactory().get("/", headers={"Origin": "https://evil.example"})
    answered = middleware_around(response, policy)(request)
    assert answered["Vary"] == expected
    assert "Access-Control-Allow-Origin" not in answered


def test_preflight_resolves_no_url_while_no_view_is_decorated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(*args: Any) -> Any:
        raise AssertionError("resolved")

    assert "tests.djangoapp.urls" in sys.modules
    monkeypatch.setattr(cors_django, "_views_decorated", False)
    monkeypatch.setattr(cors_django, "resolve", resolve)
    answered = Client().options(
        "/api/items", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"}
    )
    assert answered.status_code == 204
    assert answered["Access-Control-Allow-Origin"] == APP


@overridden(ROOT_URLCONF="tests.djangoapp.lazy_urls")
def test_first_preflight_finds_a_view_in_a_urlconf_not_imported_yet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a fresh process: no view decorated yet, the URLconf not imported.
    monkeypatch.setattr(cors_django, "_views_decorated", False)
    monkeypatch.delitem(sys.modules, "tests.djangoapp.lazy_urls", raising=False)
    answered = Client().options(
        "/lazy/special",
        headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "PUT"},
    )
    assert answered.status_code == 204
    assert answered["Access-Control-Allow-Origin"] == SPECIAL_ORIGIN
    assert answered["Access-Control-Allow-Methods"] == "PUT"


def test_responses_through_django_match_on_both_header_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def answers() -> list[list[tuple[str, str]]]:
        seen = []
        for path in ("/api/items", "/api/boom", "/api/special", "/missing"):
            for origin in (APP, SPECIAL_ORIGIN, None):
                headers = {"Origin": origin} if origin else {}
                response = Client(raise_request_exception=False).get(path, headers=headers)
                seen.append(sorted((k.lower(), v) for k, v in response.items()))
        return seen

    direct = answers()
    monkeypatch.setattr(cors_django, "_DIRECT_STORE", False)
    assert answers() == direct
    assert ("access-control-allow-origin", APP) in direct[0]
