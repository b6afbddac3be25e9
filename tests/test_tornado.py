"""crossorigin.tornado through a real Tornado server on 127.0.0.1, queried with httpx."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.web

from crossorigin import CORSPolicy
from crossorigin.resolver import OriginResolver
from crossorigin.tornado import CORSNotFoundHandler, CORSRequestHandler

from .adapter_policy import GRANT, OPTIONS, ORIGIN, OTHER, PREFLIGHT_GRANT
from .event_loop import run

pytestmark = pytest.mark.server

POLICY = CORSPolicy(**OPTIONS)
PUBLIC = CORSPolicy(allow_origins="*")


def cors_of(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-")
    }


class Items(CORSRequestHandler):
    def get(self) -> None:
        self.set_header("Vary", "Accept-Encoding")
        self.set_header("Access-Control-Allow-Origin", "https://stale.example")  # replaced
        self.write({"items": [1, 2]})

    def put(self) -> None:
        self.write({"put": self.request.body.decode()})

    def options(self) -> None:
        # An OPTIONS that is not a preflight reaches the handler's own method.
        self.write("own options")


class Boom(CORSRequestHandler):
    def get(self) -> None:
        raise RuntimeError("the view failed")


class Public(CORSRequestHandler):
    cors_policy = PUBLIC

    def get(self) -> None:
        self.write("public")


class Plain(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("no cors here")


class Prepared(CORSRequestHandler):
    """A subclass with its own prepare(), calling ours first as documented."""

    def prepare(self) -> Awaitable[None] | None:
        pending = super().prepare()
        self.set_header("X-Prepared", "yes")
        return pending

    def get(self) -> None:
        self.write("prepared")


def make_app(policy: CORSPolicy) -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/items", Items),
            (r"/boom", Boom),
            (r"/public", Public),
            (r"/plain", Plain),
            (r"/prepared", Prepared),
        ],
        cors_policy=policy,
        default_handler_class=CORSNotFoundHandler,
    )


async def _serve(
    app: tornado.web.Application, client: Callable[[httpx.AsyncClient], Awaitable[Any]]
) -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    port = sock.getsockname()[1]
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10
        ) as http:
            return await client(http)
    finally:
        server.stop()
        await server.close_all_connections()


def serve(
    client: Callable[[httpx.AsyncClient], Awaitable[Any]], policy: CORSPolicy = POLICY
) -> Any:
    return run(_serve(make_app(policy), client))


def test_allowed_simple_request_gets_the_grant_and_vary_merged() -> None:
    response: httpx.Response = serve(lambda http: http.get("/items", headers={"Origin": ORIGIN}))
    assert response.status_code == 200
    assert cors_of(response) == GRANT
    assert response.headers["vary"] == "Accept-Encoding, Origin"
    assert response.json() == {"items": [1, 2]}


def test_refused_origin_gets_no_grant_but_vary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "crossorigin")
    response: httpx.Response = serve(lambda http: http.get("/items", headers={"Origin": OTHER}))
    assert response.status_code == 200
    assert cors_of(response) == {}
    assert "Origin" in response.headers["vary"]
    assert "refused" in caplog.text
    assert OTHER in caplog.text


def test_no_origin_is_not_cors() -> None:
    response: httpx.Response = serve(lambda http: http.get("/items"))
    assert cors_of(response) == {}
    assert response.headers["vary"] == "Accept-Encoding, Origin"


def test_preflight_is_answered_before_the_handler() -> None:
    response: httpx.Response = serve(
        lambda http: http.options(
            "/items",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
    )
    assert response.status_code == 204
    assert cors_of(response) == PREFLIGHT_GRANT
    assert response.content == b""
    assert "content-type" not in response.headers


def test_preflight_for_a_handler_without_the_method_still_answers() -> None:
    response: httpx.Response = serve(
        lambda http: http.options(
            "/boom", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
        )
    )
    assert response.status_code == 204
    assert cors_of(response)["access-control-allow-origin"] == ORIGIN


def test_refused_preflight_is_403_without_grant() -> None:
    response: httpx.Response = serve(
        lambda http: http.options(
            "/items", headers={"Origin": OTHER, "Access-Control-Request-Method": "PUT"}
        )
    )
    assert response.status_code == 403
    assert cors_of(response) == {}


def test_options_without_request_method_reaches_the_handler() -> None:
    response: httpx.Response = serve(
        lambda http: http.options("/items", headers={"Origin": ORIGIN})
    )
    assert response.text == "own options"
    assert cors_of(response) == GRANT


def test_actual_put_after_preflight() -> None:
    response: httpx.Response = serve(
        lambda http: http.put("/items", headers={"Origin": ORIGIN}, content=b'{"a":1}')
    )
    assert response.json() == {"put": '{"a":1}'}
    assert cors_of(response) == GRANT


def test_exception_in_view_is_a_readable_500() -> None:
    response: httpx.Response = serve(lambda http: http.get("/boom", headers={"Origin": ORIGIN}))
    assert response.status_code == 500
    assert cors_of(response) == GRANT


def test_unknown_path_is_a_readable_404() -> None:
    response: httpx.Response = serve(lambda http: http.get("/nowhere", headers={"Origin": ORIGIN}))
    assert response.status_code == 404
    assert cors_of(response) == GRANT


def test_unsupported_method_is_a_readable_405() -> None:
    response: httpx.Response = serve(
        lambda http: http.request("PROPFIND", "/items", headers={"Origin": ORIGIN})
    )
    assert response.status_code == 405
    assert cors_of(response) == GRANT


def test_handler_policy_wins_over_the_setting() -> None:
    response: httpx.Response = serve(lambda http: http.get("/public", headers={"Origin": OTHER}))
    assert response.headers["access-control-allow-origin"] == "*"


def test_plain_handlers_are_untouched() -> None:
    response: httpx.Response = serve(lambda http: http.get("/plain", headers={"Origin": ORIGIN}))
    assert cors_of(response) == {}
    assert "vary" not in response.headers


def test_subclass_prepare_calling_super() -> None:
    response: httpx.Response = serve(lambda http: http.get("/prepared", headers={"Origin": ORIGIN}))
    assert response.headers["x-prepared"] == "yes"
    assert cors_of(response) == GRANT


@pytest.mark.parametrize(
    "origin",
    [f"{ORIGIN}, {ORIGIN}", "https://app.example.com\\", "https://äpp.example.com", "null", ""],
)
def test_malformed_origins_are_refused_without_crashing(origin: str) -> None:
    async def call(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get(
            "/items", headers=[(b"Origin", part.encode()) for part in origin.split(", ")]
        )

    response: httpx.Response = serve(call)
    assert response.status_code == 200
    assert cors_of(response) == {}


def test_a_setting_that_is_not_a_policy_is_a_clear_error() -> None:
    app = tornado.web.Application([(r"/items", Items)], cors_policy={"allow_origins": ["*"]})
    response: httpx.Response = run(
        _serve(app, lambda http: http.get("/items", headers={"Origin": ORIGIN}))
    )
    assert response.status_code == 500


def test_origin_resolver_is_awaited_in_prepare() -> None:
    seen: list[str] = []

    async def tenants(origin: str) -> bool:
        seen.append(origin)
        await asyncio.sleep(0)
        return origin == "https://tenant.example"

    policy = CORSPolicy(origin_resolver=OriginResolver(tenants))

    async def calls(http: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        granted = await http.get("/items", headers={"Origin": "https://tenant.example"})
        refused = await http.get("/items", headers={"Origin": OTHER})
        return granted, refused

    granted, refused = serve(calls, policy)
    assert granted.headers["access-control-allow-origin"] == "https://tenant.example"
    assert cors_of(refused) == {}
    assert seen == ["https://tenant.example", OTHER]
