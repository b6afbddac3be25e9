"""django-cors-headers' visible behaviour, pinned through Django: each test runs the same
requests through django-cors-headers 4.x and crossorigin.django with the same settings.

Only the deliberate differences (docs/migration.md) may separate them: a refused preflight
is a 403 here (a grant-less 200 there), allowed preflights answer 204, and the default
Max-Age is 7200.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from django.core.checks import Error, Warning
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test import AsyncClient, Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossorigin import ConfigError
from crossorigin.browser import CHROMIUM, HTTPRequest, HTTPResponse, Request
from crossorigin.django import check_request_enabled, check_settings
from crossorigin.routes import Routes, is_canonical_path
from crossorigin.tools.check import check

from ..event_loop import run as run_in_loop
from .django_project import INCUMBENT, OURS, overridden, wsgi_served

APP = "https://app.example"
OTHER = "https://other.example"
BOTH = (INCUMBENT, OURS)

PREFLIGHT = {"Access-Control-Request-Method": "PUT"}


@contextmanager
def configured(middleware: str, **cors: object) -> Iterator[Client]:
    with overridden(middleware, **cors):
        yield Client(raise_request_exception=False)


def answer(response: Any) -> dict[str, str | None]:
    """What a browser acts on, from one response."""
    names = (
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Credentials",
        "Access-Control-Expose-Headers",
        "Access-Control-Max-Age",
    )
    return {name: response.headers.get(name) for name in names}


def both(
    requests: list[tuple[str, str, dict[str, str]]], **cors: object
) -> dict[str, list[dict[str, str | None]]]:
    """Each request's answer under each middleware, same settings (an explicit Max-Age:
    the defaults differ on purpose)."""
    cors.setdefault("CORS_PREFLIGHT_MAX_AGE", 600)
    results = {}
    for middleware in BOTH:
        with configured(middleware, **cors) as client:
            results[middleware] = [
                answer(getattr(client, method)(url, headers=headers))
                for method, url, headers in requests
            ]
    return results


def same(requests: list[tuple[str, str, dict[str, str]]], **cors: object) -> list[Any]:
    results = both(requests, **cors)
    assert results[OURS] == results[INCUMBENT], cors
    return results[OURS]


def test_no_allowed_origin_sends_no_grant_and_only_warns() -> None:
    requests = [
        ("get", "/api/items", {"Origin": APP}),
        ("get", "/api/items", {"Origin": "null"}),
        ("options", "/api/items", {"Origin": APP, **PREFLIGHT}),
    ]
    results = both(requests)
    for middleware in BOTH:
        assert all(r["Access-Control-Allow-Origin"] is None for r in results[middleware])
    with configured(OURS):
        messages = check_settings()
        assert [m.id for m in messages] == ["crossorigin.W003"]
        assert all(isinstance(m, Warning) for m in messages)
        call_command("check")  # a warning never stops manage.py


def test_urls_regex_matches_from_the_start_of_the_path() -> None:
    requests = [
        ("get", "/api/items", {"Origin": APP}),
        ("get", "/other", {"Origin": APP}),
        ("options", "/api/items", {"Origin": APP, **PREFLIGHT}),
    ]
    for regex in (r"^/api/", r"^/api/.*$", "/api"):
        answers = same(requests, CORS_ALLOWED_ORIGINS=[APP], CORS_URLS_REGEX=regex)
        assert answers[0]["Access-Control-Allow-Origin"] == APP, regex
        assert answers[1]["Access-Control-Allow-Origin"] is None, regex


@pytest.mark.parametrize("source", ["corsheaders", "crossorigin"])
def test_check_request_enabled_receivers_keep_working(source: str) -> None:
    if source == "corsheaders":
        from corsheaders.signals import check_request_enabled as signal
    else:
        signal = check_request_enabled
    seen: list[str] = []

    def allow_trusted(sender: object, request: Any, **kwargs: object) -> bool:
        seen.append(request.path)
        return bool(request.headers.get("origin") == OTHER or request.path == "/other")

    signal.connect(allow_trusted)
    try:
        requests = [
            # An origin no setting lists, granted by the receiver.
            ("get", "/api/items", {"Origin": OTHER}),
            # A path outside CORS_URLS_REGEX, enabled by the receiver.
            ("get", "/other", {"Origin": APP}),
            ("get", "/api/items", {"Origin": "https://nobody.example"}),
        ]
        cors = {
            "CORS_ALLOWED_ORIGINS": [APP],
            "CORS_URLS_REGEX": r"^/api/",
            "CORS_ALLOW_CREDENTIALS": True,
        }
        if source == "corsheaders":
            answers = same(requests, **cors)
        else:  # django-cors-headers knows only its own signal
            with configured(OURS, **cors) as client:
                answers = [answer(client.get(u, headers=h)) for _, u, h in requests]
        assert answers[0]["Access-Control-Allow-Origin"] == OTHER
        assert answers[0]["Access-Control-Allow-Credentials"] == "true"
        assert answers[1]["Access-Control-Allow-Origin"] == APP
        assert answers[2]["Access-Control-Allow-Origin"] is None
        with configured(OURS, **cors) as client:
            preflight = client.options("/api/items", headers={"Origin": OTHER, **PREFLIGHT})
            assert preflight.status_code == 204
            assert preflight["Access-Control-Allow-Origin"] == OTHER
            assert check_settings() == []
    finally:
        signal.disconnect(allow_trusted)
    assert seen


def test_file_origin_is_matched_literally() -> None:
    requests = [
        ("get", "/api/items", {"Origin": "file://"}),
        ("get", "/api/items", {"Origin": "file://evil"}),
        ("get", "/api/items", {"Origin": "null"}),
    ]
    answers = same(requests, CORS_ALLOWED_ORIGINS=["file://", APP], CORS_ALLOW_CREDENTIALS=True)
    assert answers[0]["Access-Control-Allow-Origin"] == "file://"
    assert answers[1]["Access-Control-Allow-Origin"] is None
    assert answers[2]["Access-Control-Allow-Origin"] is None
    with configured(OURS, CORS_ALLOWED_ORIGINS=["file://"]):
        assert check_settings() == []


def test_max_age_zero_sends_no_max_age_and_the_default_is_chromiums_cap() -> None:
    requests = [("options", "/api/items", {"Origin": APP, **PREFLIGHT})]
    answers = same(requests, CORS_ALLOWED_ORIGINS=[APP], CORS_PREFLIGHT_MAX_AGE=0)
    assert answers[0]["Access-Control-Max-Age"] is None
    answers = same(requests, CORS_ALLOWED_ORIGINS=[APP], CORS_PREFLIGHT_MAX_AGE=600)
    assert answers[0]["Access-Control-Max-Age"] == "600"
    with configured(OURS, CORS_ALLOWED_ORIGINS=[APP]) as client:
        default = client.options("/api/items", headers={"Origin": APP, **PREFLIGHT})
        assert default["Access-Control-Max-Age"] == "7200"


def _through(client: Client) -> Callable[[HTTPRequest], HTTPResponse]:
    def send(request: HTTPRequest) -> HTTPResponse:
        path = request.url.split("://", 1)[1].partition("/")[2]
        headers = dict(request.headers)
        headers.pop("Host", None)
        response = client.generic(request.method, "/" + path, headers=headers)
        return HTTPResponse(response.status_code, tuple(response.headers.items()))

    return send


def test_the_default_settings_draw_no_warning_from_crossorigin_check() -> None:
    with configured(OURS, CORS_ALLOWED_ORIGINS=[APP], CORS_ALLOW_CREDENTIALS=True) as client:
        for request in (
            Request("http://testserver/api/items", APP, "PUT", (("Content-Type", "x/y"),)),
            Request("http://testserver/api/items", APP, credentials=True),
            Request(
                "http://testserver/api/items",
                APP,
                "DELETE",
                (("Authorization", "Bearer x"),),
                credentials=True,
            ),
        ):
            report = check(request, profile=CHROMIUM, send=_through(client))
            assert report.outcome.allowed, report
            assert report.advice == (), report.advice
    # Not vacuous: django-cors-headers' default, 86400, draws the warning.
    with configured(OURS, CORS_ALLOWED_ORIGINS=[APP], CORS_PREFLIGHT_MAX_AGE=86400) as client:
        request = Request("http://testserver/api/items", APP, "PUT")
        report = check(request, profile=CHROMIUM, send=_through(client))
        assert [advice.code for advice in report.advice] == ["max-age-cap"]


@pytest.mark.parametrize(
    ("setting", "incumbent_id"),
    [("CORS_MODEL", "corsheaders.E012"), ("CORS_REPLACE_HTTPS_REFERER", "corsheaders.E013")],
)
def test_removed_settings_are_reported(setting: str, incumbent_id: str) -> None:
    from corsheaders.checks import check_settings as incumbent_check

    with configured(OURS, CORS_ALLOWED_ORIGINS=[APP], **{setting: True}) as client:
        assert incumbent_id in {m.id for m in incumbent_check()}
        errors = [m for m in check_settings() if isinstance(m, Error)]
        assert [m.id for m in errors] == ["crossorigin.E002"]
        assert setting in errors[0].msg
        # Like django-cors-headers, the setting is only reported: requests are served.
        assert client.get("/api/items", headers={"Origin": APP})["Access-Control-Allow-Origin"]


LISTS = [
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "CORS_ORIGIN_WHITELIST",
]
SCALARS = ["CORS_ALLOW_CREDENTIALS", "CORS_URLS_REGEX", "CORS_ALLOW_ALL_ORIGINS"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [(name, value) for name in LISTS + SCALARS for value in (None, 5)]
    + [("CORS_PREFLIGHT_MAX_AGE", None), ("CORS_PREFLIGHT_MAX_AGE", "600")],
)
def test_a_setting_of_the_wrong_type_is_a_check_error(setting: str, value: object) -> None:
    from corsheaders.checks import check_settings as incumbent_check

    cors: dict[str, object] = {"CORS_ALLOWED_ORIGINS": [APP], setting: value}
    if setting == "CORS_ORIGIN_WHITELIST":
        del cors["CORS_ALLOWED_ORIGINS"]
    with configured(OURS, **cors):
        assert any(m.is_serious() for m in incumbent_check())
        errors = [m for m in check_settings() if isinstance(m, Error)]
        assert errors, setting
        assert all(m.id == "crossorigin.E001" for m in errors)
        assert any(m.msg.startswith(setting) for m in errors), [m.msg for m in errors]
        with pytest.raises(ConfigError):  # a ValueError naming the setting, not a TypeError
            Client().get("/api/items", headers={"Origin": APP})


def test_errors_name_the_django_settings() -> None:
    with configured(OURS, CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True):
        (error,) = check_settings()
        assert error.id == "crossorigin.E001"
        assert error.msg.startswith("CORS_ALLOW_ALL_ORIGINS = True: ")
        assert "CORS_ALLOW_CREDENTIALS" in error.msg
        assert "CORS_ALLOW_CREDENTIALS" in error.hint
        assert "'*'" not in error.msg.split(":")[0]
    with configured(OURS, CORS_ALLOWED_ORIGINS=["*"], CORS_ALLOW_CREDENTIALS=True):
        texts = [f"{m.msg} {m.hint}" for m in check_settings()]
        assert texts
        assert all("allow_" not in text for text in texts), texts
        assert any("CORS_ALLOW_CREDENTIALS" in text for text in texts), texts
    with configured(
        OURS,
        CORS_ALLOWED_ORIGINS=["null"],
        CORS_ALLOW_CREDENTIALS=True,
        CORS_ALLOW_METHODS=["get"],
        CORS_PREFLIGHT_MAX_AGE=-1,
    ):
        messages = check_settings()
        assert {m.msg.split(" = ")[0] for m in messages} == {
            "CORS_ALLOWED_ORIGINS",
            "CORS_ALLOW_METHODS",
            "CORS_PREFLIGHT_MAX_AGE",
        }
        assert all("allow_" not in f"{m.msg} {m.hint}" for m in messages), messages


# --- issue 10: the policy follows what Django routes ------------------------------------------

ADMIN = "https://admin.example"
PARTNER = "https://partner.example"


def _routes() -> Routes:
    from crossorigin import CORSPolicy

    return Routes(
        [
            ("/api/admin/*", CORSPolicy(allow_origins=[ADMIN], allow_credentials=True)),
            ("/*", CORSPolicy(allow_origins=[PARTNER], allow_credentials=True)),
        ]
    )


# Paths Django serves with an admin view although a second reading of the path (dot
# segments collapsed) would call them public.
TRICKY = ["/api/admin/../public/x", "/api/admin/./users", "/api/admin/x/../../public/y"]


def test_a_rule_is_never_chosen_from_a_path_django_routes_differently() -> None:
    with configured(OURS, CROSSORIGIN_POLICY=_routes()) as client:
        for path in TRICKY:
            response = client.get(path, headers={"Origin": PARTNER})
            assert response.content.startswith(b"admin"), path
            assert "Access-Control-Allow-Origin" not in response, path
        # Slashes doubled: Django serves no view, and no rule applies. (The test client
        # would read "//api" as a host name, so the path is set directly.)
        doubled = client.get("/", PATH_INFO="//api/admin/users", headers={"Origin": PARTNER})
        assert doubled.status_code == 404
        assert "Access-Control-Allow-Origin" not in doubled
        # Canonical paths keep their rules.
        admin = client.get("/api/admin/users", headers={"Origin": ADMIN})
        assert admin["Access-Control-Allow-Origin"] == ADMIN
        public = client.get("/api/public/x", headers={"Origin": PARTNER})
        assert public["Access-Control-Allow-Origin"] == PARTNER
        assert "Access-Control-Allow-Origin" not in client.get(
            "/api/admin/users", headers={"Origin": PARTNER}
        )


def test_decorated_views_are_found_by_djangos_resolver() -> None:
    with configured(OURS, CORS_ALLOWED_ORIGINS=[APP]) as client:
        preflight = client.options("/api/decorated", headers={"Origin": PARTNER, **PREFLIGHT})
        assert preflight.status_code == 403  # PUT is not in the decorator's methods
        get = client.get("/api/decorated", headers={"Origin": PARTNER})
        assert get["Access-Control-Allow-Origin"] == PARTNER
        assert "Access-Control-Allow-Origin" not in client.get(
            "/api/decorated", headers={"Origin": APP}
        )


@contextmanager
def served(middleware: str, **cors: object) -> Iterator[str]:
    """The project under a WSGI server on 127.0.0.1 (settings overridden while it runs)."""
    with overridden(middleware, **cors), wsgi_served(WSGIHandler()) as address:
        yield address


def _raw(address: str, method: str, target: str, headers: dict[str, str]) -> Any:
    connection = http.client.HTTPConnection(address, timeout=5)
    try:
        connection.request(method, target, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


@pytest.mark.server
def test_under_a_real_server() -> None:
    with served(OURS, CROSSORIGIN_POLICY=_routes()) as address:
        # The encoded slash reaches Django decoded: "/api/admin/../public/x".
        for target in (
            "/api/admin/..%2Fpublic/x",
            "/api/admin/%2E%2E/public/x",
            "//api/admin/users",
        ):
            status, headers, body = _raw(address, "GET", target, {"Origin": PARTNER})
            assert "access-control-allow-origin" not in headers, (target, status, body)
        status, headers, body = _raw(address, "GET", "/api/admin/users", {"Origin": ADMIN})
        assert (status, body) == (200, b"admin")
        assert headers["access-control-allow-origin"] == ADMIN
    cors = {
        "CORS_ALLOWED_ORIGINS": [APP, "file://"],
        "CORS_URLS_REGEX": r"^/api/",
        "CORS_PREFLIGHT_MAX_AGE": 0,
    }
    answers = {}
    for middleware in BOTH:
        with served(middleware, **cors) as address:
            answers[middleware] = [
                (status, {k: v for k, v in headers.items() if k.startswith("access-control")})
                for status, headers, _ in (
                    _raw(address, method, target, headers)
                    for method, target, headers in (
                        ("GET", "/api/items", {"Origin": APP}),
                        ("GET", "/api/items", {"Origin": "file://"}),
                        ("GET", "/other", {"Origin": APP}),
                        ("GET", "/api/boom", {"Origin": APP}),
                        ("OPTIONS", "/api/items", {"Origin": APP, **PREFLIGHT}),
                    )
                )
            ]
    mine, theirs = answers[OURS], answers[INCUMBENT]
    # The one deliberate difference here: an allowed preflight answers 204, not 200.
    assert mine[4][0] == 204
    assert theirs[4][0] == 200
    assert mine[:4] == theirs[:4]
    assert mine[4][1] == theirs[4][1]
    assert mine[0][1]["access-control-allow-origin"] == APP
    assert mine[3][0] == 500


SEGMENTS = ["api", "admin", "public", "users", "x", "..", ".", "", "%2F", "a%2Fb", "\\"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6))
def test_grants_follow_the_view_django_serves(segments: list[str]) -> None:
    """Differential: for any path, a grant is the one of the rule for the view Django
    actually serves (admin views only ever for the admin origin)."""
    path = "/" + "/".join(segments)
    with configured(OURS, CROSSORIGIN_POLICY=_routes()) as client:
        for origin in (ADMIN, PARTNER):
            response = client.get("/", PATH_INFO=path, headers={"Origin": origin})
            granted = response.headers.get("access-control-allow-origin")
            if response.content.startswith(b"admin"):
                assert granted in (None, ADMIN), (path, origin)
            elif response.content.startswith(b"public"):
                assert granted in (None, PARTNER), (path, origin)
            if not is_canonical_path(path):
                assert granted is None, (path, origin)


@contextmanager
def asgi_served(middleware: str, **cors: object) -> Iterator[str]:
    """The project under uvicorn (Django's ASGI handler, async middleware chain)."""
    with overridden(middleware, **cors):
        server = uvicorn.Server(
            uvicorn.Config(
                ASGIHandler(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(500):
                if server.started:
                    break
                time.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=5)


@pytest.mark.server
def test_under_uvicorn() -> None:
    with asgi_served(OURS, CROSSORIGIN_POLICY=_routes()) as address:
        for target in ("/api/admin/..%2Fpublic/x", "/api/admin/%2E%2E/public/x"):
            status, headers, body = _raw(address, "GET", target, {"Origin": PARTNER})
            assert body.startswith(b"admin"), (target, status, body)
            assert "access-control-allow-origin" not in headers, (target, status, body)
        status, headers, body = _raw(address, "GET", "/api/public/x", {"Origin": PARTNER})
        assert (status, body) == (200, b"public-any")
        assert headers["access-control-allow-origin"] == PARTNER


def test_check_request_enabled_in_an_async_stack() -> None:
    def allow_other(sender: object, request: Any, **kwargs: object) -> bool:
        return bool(request.headers.get("origin") == OTHER)

    async def main() -> None:
        client = AsyncClient(raise_request_exception=False)
        granted = await client.get("/api/items", headers={"Origin": OTHER})
        assert granted["Access-Control-Allow-Origin"] == OTHER
        preflight = await client.options("/api/items", headers={"Origin": OTHER, **PREFLIGHT})
        assert preflight.status_code == 204
        refused = await client.get("/api/items", headers={"Origin": "https://nobody.example"})
        assert "Access-Control-Allow-Origin" not in refused

    check_request_enabled.connect(allow_other)
    try:
        with overridden(OURS, CORS_ALLOWED_ORIGINS=[APP], CORS_URLS_REGEX=r"^/api/"):
            run_in_loop(main())
    finally:
        check_request_enabled.disconnect(allow_other)
