"""crossorigin.django through Django's Client and AsyncClient, and under real servers."""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import uvicorn
from django.core.checks import Error, Warning
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import AsyncClient, Client, override_settings

from crossorigin import ConfigError, CORSPolicy
from crossorigin.django import CorsMiddleware, check_settings, cross_origin, selector_from_settings
from crossorigin.routes import Routes

from ..event_loop import run as run_in_loop
from .views import SPECIAL_ORIGIN

F = TypeVar("F", bound=Callable[..., Any])

APP = "https://app.example"
EVIL = "https://evil.example"


def overridden(**values: Any) -> Callable[[F], F]:
    """``override_settings`` as a typed decorator (Django ships no type stubs)."""
    return cast(Callable[[F], F], override_settings(**values))


def client() -> Client:
    # A new Client loads the middleware (and so reads the settings) afresh.
    return Client(raise_request_exception=False)


def test_allowed_refused_and_no_origin() -> None:
    allowed = client().get("/api/items", headers={"Origin": APP})
    assert allowed["Access-Control-Allow-Origin"] == APP
    assert allowed["Vary"] == "Accept-Encoding, Origin"
    refused = client().get("/api/items", headers={"Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in refused
    assert refused["Vary"] == "Accept-Encoding, Origin"
    assert client().get("/api/items")["Vary"] == "Accept-Encoding, Origin"


def test_preflight_uses_django_cors_headers_defaults() -> None:
    response = client().options(
        "/api/only-post",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-csrftoken,content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Methods"] == "DELETE, GET, OPTIONS, PATCH, POST, PUT"
    assert "x-csrftoken" in response["Access-Control-Allow-Headers"]
    assert response["Access-Control-Max-Age"] == "7200"  # django-cors-headers: 86400
    refused = client().options(
        "/api/only-post",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-unknown",
        },
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    # A plain OPTIONS (no Access-Control-Request-Method) reaches the view.
    plain = client().options("/api/only-post", headers={"Origin": APP})
    assert plain.status_code == 405
    assert plain["Access-Control-Allow-Origin"] == APP


@overridden(DEBUG=False)
def test_server_errors_and_404_carry_the_grant() -> None:
    for path, status in (("/api/boom", 500), ("/nowhere", 404)):
        response = client().get(path, headers={"Origin": APP})
        assert response.status_code == status
        assert response["Access-Control-Allow-Origin"] == APP
        assert response["Vary"] == "Origin"


@overridden(
    CORS_ALLOWED_ORIGINS=[],
    CORS_ALLOWED_ORIGIN_REGEXES=[r"https://[a-z]+\.example\.com", re.compile(r"https://x\.test")],
)
def test_origin_regexes_must_match_the_whole_origin() -> None:
    assert (
        client().get("/api/items", headers={"Origin": "https://a.example.com"})[
            "Access-Control-Allow-Origin"
        ]
        == "https://a.example.com"
    )
    assert "Access-Control-Allow-Origin" in client().get(
        "/api/items", headers={"Origin": "https://x.test"}
    )
    # django-cors-headers' re.match would accept this prefix match.
    attacker = client().get("/api/items", headers={"Origin": "https://a.example.com.evil.net"})
    assert "Access-Control-Allow-Origin" not in attacker


@overridden(CORS_URLS_REGEX=r"^/api/")
def test_urls_regex_matches_from_the_start_of_the_path() -> None:
    # django-cors-headers' meaning: re.match on request.path_info, so a prefix is enough.
    assert client().get("/api/items", headers={"Origin": APP})["Access-Control-Allow-Origin"] == APP
    other = client().get("/other", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in other
    assert other["Vary"] == "Accept-Encoding"  # the view's own, nothing from us
    upper = client().get("/API/items", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in upper


@overridden(
    CORS_ORIGIN_WHITELIST=["https://old.example"],
    CORS_EXPOSE_HEADERS=["X-Total"],
    CORS_ALLOW_CREDENTIALS=True,
)
def test_old_setting_names_and_credentials() -> None:
    from django.conf import settings

    # The new name wins when both are set, as in django-cors-headers.
    assert "Access-Control-Allow-Origin" not in client().get(
        "/api/items", headers={"Origin": "https://old.example"}
    )
    with override_settings():
        del settings.CORS_ALLOWED_ORIGINS
        response = client().get("/api/items", headers={"Origin": "https://old.example"})
        assert response["Access-Control-Allow-Origin"] == "https://old.example"
        assert response["Access-Control-Allow-Credentials"] == "true"
        assert response["Access-Control-Expose-Headers"] == "X-Total"


def test_decorated_view_uses_its_own_policy() -> None:
    special = client().get("/api/special", headers={"Origin": SPECIAL_ORIGIN})
    assert special["Access-Control-Allow-Origin"] == SPECIAL_ORIGIN
    assert "Access-Control-Allow-Origin" not in client().get(
        "/api/special", headers={"Origin": APP}
    )
    answered = client().options(
        "/api/special",
        headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "PUT"},
    )
    assert answered.status_code == 204
    assert answered["Access-Control-Allow-Methods"] == "PUT"


@overridden(MIDDLEWARE=[])
def test_decorator_without_the_middleware() -> None:
    special = client().get("/api/special", headers={"Origin": SPECIAL_ORIGIN})
    assert special["Access-Control-Allow-Origin"] == SPECIAL_ORIGIN
    answered = client().options(
        "/api/special",
        headers={"Origin": SPECIAL_ORIGIN, "Access-Control-Request-Method": "PUT"},
    )
    assert answered.status_code == 204
    assert client().get("/api/items", headers={"Origin": APP})["Vary"] == "Accept-Encoding"


def test_async_client_through_an_async_stack() -> None:
    async def run() -> None:
        async_client = AsyncClient(raise_request_exception=False)
        for path in ("/api/items", "/api/async"):
            response = await async_client.get(path, headers={"Origin": APP})
            assert response["Access-Control-Allow-Origin"] == APP, path
        failed = await async_client.get("/api/async-boom", headers={"Origin": APP})
        assert failed.status_code == 500
        assert failed["Access-Control-Allow-Origin"] == APP
        preflight = await async_client.options(
            "/api/async", headers={"Origin": APP, "Access-Control-Request-Method": "PATCH"}
        )
        assert preflight.status_code == 204
        special = await async_client.get("/api/async-special", headers={"Origin": SPECIAL_ORIGIN})
        assert special["Access-Control-Allow-Origin"] == SPECIAL_ORIGIN

    run_in_loop(run())


def test_middleware_declares_both_modes() -> None:
    assert CorsMiddleware.sync_capable
    assert CorsMiddleware.async_capable

    async def get_response(request: Any) -> Any:
        raise AssertionError("not called")

    assert asyncio.iscoroutinefunction(CorsMiddleware(get_response))
    assert not asyncio.iscoroutinefunction(CorsMiddleware(lambda request: None))


@overridden(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True)
def test_insecure_settings_raise_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="CORS_ALLOW_ALL_ORIGINS"):
        selector_from_settings()


@overridden(
    CORS_ALLOWED_ORIGINS=["https://app.example/", "*"],
    CORS_ALLOW_CREDENTIALS=True,
    CORS_PREFLIGHT_MAX_AGE=-5,
    CORS_URLS_REGEX="(",
    MIDDLEWARE=["corsheaders.middleware.CorsMiddleware"],
)
def test_system_check_reports_every_problem_with_ids() -> None:
    messages = check_settings()
    errors = [m for m in messages if isinstance(m, Error)]
    assert {m.id for m in errors} == {"crossorigin.E001"}
    assert len(errors) == 4
    assert any("CORS_PREFLIGHT_MAX_AGE" in m.msg for m in errors)
    assert all(m.hint for m in errors)
    warnings = {m.id for m in messages if isinstance(m, Warning)}
    assert warnings == {"crossorigin.W001", "crossorigin.W002"}
    with pytest.raises(SystemCheckError, match=r"crossorigin\.E001"):
        call_command("check")


def test_system_check_passes_on_a_good_configuration() -> None:
    assert check_settings() == []
    call_command("check")


def test_ready_policy_and_routes_settings() -> None:
    policy = CORSPolicy(allow_origins="*")
    with override_settings(CROSSORIGIN_POLICY=Routes([("/other", policy)])):
        assert (
            client().get("/other", headers={"Origin": EVIL})["Access-Control-Allow-Origin"] == "*"
        )
        assert "Vary" not in client().get("/api/boom", headers={"Origin": EVIL})
    with override_settings(CROSSORIGIN_POLICY="nope"), pytest.raises(ConfigError):
        selector_from_settings()
    with pytest.raises(ConfigError):
        cross_origin(allow_origin="*")


# --- real servers on 127.0.0.1 ------------------------------------------------------------


def _request(
    address: str, method: str, path: str, headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(address, timeout=5)
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _exercise(address: str) -> None:
    ok = _request(address, "GET", "/api/items", {"Origin": APP})
    assert ok.status == 200
    assert ok.getheader("Access-Control-Allow-Origin") == APP
    failed = _request(address, "GET", "/api/boom", {"Origin": APP})
    assert failed.status == 500
    assert failed.getheader("Access-Control-Allow-Origin") == APP
    answered = _request(
        address, "OPTIONS", "/api/items", {"Origin": APP, "Access-Control-Request-Method": "PUT"}
    )
    assert answered.status == 204
    assert answered.getheader("Access-Control-Allow-Methods") is not None


@pytest.fixture
def uvicorn_address() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(ASGIHandler(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@pytest.mark.server
def test_under_uvicorn_via_asgi(uvicorn_address: str) -> None:
    _exercise(uvicorn_address)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.server
def test_under_a_wsgi_server() -> None:
    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _exercise(f"127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_origin_resolver_in_sync_and_async_stacks() -> None:
    seen: list[str] = []

    def tenants(origin: str) -> bool:
        seen.append(origin)
        return origin == "https://tenant.example"

    async def async_tenants(origin: str) -> bool:
        return tenants(origin)

    with override_settings(CROSSORIGIN_POLICY=CORSPolicy(origin_resolver=tenants)):
        granted = client().get("/api/items", headers={"Origin": "https://tenant.example"})
        assert granted["Access-Control-Allow-Origin"] == "https://tenant.example"
        refused = client().get("/api/items", headers={"Origin": EVIL})
        assert "Access-Control-Allow-Origin" not in refused
        assert refused["Vary"] == "Accept-Encoding, Origin"
    assert seen == ["https://tenant.example", EVIL]

    async def run() -> None:
        async_client = AsyncClient(raise_request_exception=False)
        for path in ("/api/items", "/api/async"):
            response = await async_client.get(path, headers={"Origin": "https://tenant.example"})
            assert response["Access-Control-Allow-Origin"] == "https://tenant.example", path

    with override_settings(CROSSORIGIN_POLICY=CORSPolicy(origin_resolver=async_tenants)):
        run_in_loop(run())


def _grant(response: Any, preflight: bool) -> dict[str, object]:
    def tokens(name: str) -> frozenset[str]:
        value = response.headers.get(name, "")
        return frozenset(t.strip().lower() for t in value.split(",") if t.strip())

    return {
        "ok": 200 <= response.status_code < 300 if preflight else response.status_code,
        "origin": response.headers.get("Access-Control-Allow-Origin"),
        "credentials": response.headers.get("Access-Control-Allow-Credentials"),
        "methods": tokens("Access-Control-Allow-Methods"),
        "headers": tokens("Access-Control-Allow-Headers"),
        # Meaningless on a preflight; django-cors-headers sends it anyway.
        "expose": frozenset() if preflight else tokens("Access-Control-Expose-Headers"),
        "max_age": response.headers.get("Access-Control-Max-Age"),
        "vary_origin": "origin" in tokens("Vary"),
    }


@overridden(
    CORS_ALLOW_CREDENTIALS=True, CORS_EXPOSE_HEADERS=["X-Total"], CORS_PREFLIGHT_MAX_AGE=600
)
def test_same_grants_as_django_cors_headers_for_a_safe_configuration() -> None:
    requests: list[tuple[str, dict[str, str]]] = [
        ("get", {"Origin": APP}),
        ("get", {"Origin": EVIL}),
        ("get", {}),
        (
            "options",
            {
                "Origin": APP,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type,x-csrftoken",
            },
        ),
        ("options", {"Origin": EVIL, "Access-Control-Request-Method": "PUT"}),
    ]
    results: dict[str, list[dict[str, object]]] = {}
    for name, middleware in (
        ("ours", "crossorigin.django.CorsMiddleware"),
        ("theirs", "corsheaders.middleware.CorsMiddleware"),
    ):
        with override_settings(MIDDLEWARE=[middleware]):
            results[name] = [
                _grant(
                    getattr(client(), method)("/api/items", headers=headers), method == "options"
                )
                for method, headers in requests
            ]
    mine, incumbent = results["ours"], results["theirs"]
    # A deliberate difference: a refused preflight is a 403 here, a grant-less 200 there;
    # browsers fail both, ours also says so in the logs and the network panel.
    assert mine[4]["ok"] is False
    assert incumbent[4]["ok"] is True
    assert mine[4]["origin"] is incumbent[4]["origin"] is None
    mine[4]["ok"] = incumbent[4]["ok"]
    assert mine == incumbent
