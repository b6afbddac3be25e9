"""crossorigin.aiohttp through aiohttp's TestClient, and once under aiohttp's own server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiohttp
import aiohttp_cors
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from crossorigin import ConfigError, CORSPolicy
from crossorigin import aiohttp as crossorigin_aiohttp
from crossorigin.aiohttp import CORS, ResourceOptions, policy_from_aiohttp_cors, setup

from .event_loop import run as run_in_loop

APP = "https://app.example"
EVIL = "https://evil.example"

Check = Callable[[TestClient[web.Request, web.Application]], Awaitable[None]]


async def items(request: web.Request) -> web.Response:
    return web.json_response({"items": 1}, headers={"Vary": "Accept-Encoding"})


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


async def forbidden(request: web.Request) -> web.Response:
    raise web.HTTPForbidden()


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"chunk")
    return response


def make_app() -> tuple[web.Application, dict[str, web.AbstractRoute]]:
    app = web.Application()
    routes = {
        "items": app.router.add_get("/api/items", items),
        "post": app.router.add_post("/api/items", items),
        "boom": app.router.add_get("/api/boom", boom),
        "forbidden": app.router.add_get("/api/forbidden", forbidden),
        "stream": app.router.add_get("/api/stream", stream),
        "public": app.router.add_get("/public", items),
        "other": app.router.add_get("/other", items),
    }
    return app, routes


def run(app: web.Application, check: Check) -> None:
    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await check(client)

    run_in_loop(main())


def test_app_wide_policy_and_errors() -> None:
    app, _ = make_app()
    CORS(app, allow_origins=[APP], allow_methods=["GET", "POST", "PUT"])

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        allowed = await client.get("/api/items", headers={"Origin": APP})
        assert allowed.headers["Access-Control-Allow-Origin"] == APP
        assert allowed.headers["Vary"] == "Accept-Encoding, Origin"
        refused = await client.get("/api/items", headers={"Origin": EVIL})
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert refused.headers["Vary"] == "Accept-Encoding, Origin"
        for path, status in (
            ("/api/boom", 500),
            ("/api/forbidden", 403),
            ("/nowhere", 404),
            ("/api/stream", 200),
        ):
            response = await client.get(path, headers={"Origin": APP})
            assert response.status == status, path
            assert response.headers["Access-Control-Allow-Origin"] == APP, path
            assert response.headers.getall("Vary") == ["Origin"], path
        # A URL that registers only GET and POST still gets its preflight answered.
        preflight = await client.options(
            "/api/items", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"}
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT"
        plain = await client.options("/api/items", headers={"Origin": APP})
        assert plain.status == 405  # aiohttp's own answer, with the grant
        assert plain.headers["Access-Control-Allow-Origin"] == APP

    run(app, check)


def test_aiohttp_cors_setup_and_add() -> None:
    app, routes = make_app()
    cors = setup(app, defaults={APP: ResourceOptions(allow_headers=("Content-Type",))})
    cors.add(routes["items"])
    cors.add(routes["post"])
    cors.add(routes["public"], CORSPolicy(allow_origins="*"))

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        allowed = await client.get("/api/items", headers={"Origin": APP})
        assert allowed.headers["Access-Control-Allow-Origin"] == APP
        assert (await client.get("/public", headers={"Origin": EVIL})).headers[
            "Access-Control-Allow-Origin"
        ] == "*"
        # Not added: no CORS at all, as with aiohttp-cors.
        other = await client.get("/other", headers={"Origin": APP})
        assert "Access-Control-Allow-Origin" not in other.headers
        assert other.headers["Vary"] == "Accept-Encoding"
        # allow_methods=None: the methods of the routes added (GET and POST here).
        post = await client.options(
            "/api/items",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert post.status == 204
        assert post.headers["Access-Control-Allow-Headers"].lower() == "content-type"
        put = await client.options(
            "/api/items", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"}
        )
        assert put.status == 403

    run(app, check)


def test_route_policy_wins_over_app_policy_and_routes_table() -> None:
    app, routes = make_app()
    cors = CORS(
        app,
        routes=[
            ("/public", CORSPolicy(allow_origins="*")),
            ("/api/*", CORSPolicy(allow_origins=[APP])),
        ],
    )
    cors.add(routes["boom"], CORSPolicy(allow_origins=["https://boom.example"]))

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        assert (await client.get("/public", headers={"Origin": EVIL})).headers[
            "Access-Control-Allow-Origin"
        ] == "*"
        assert (await client.get("/api/items", headers={"Origin": APP})).headers[
            "Access-Control-Allow-Origin"
        ] == APP
        boom_response = await client.get("/api/boom", headers={"Origin": "https://boom.example"})
        assert boom_response.status == 500
        assert boom_response.headers["Access-Control-Allow-Origin"] == "https://boom.example"
        assert "Vary" not in (await client.get("/API/items", headers={"Origin": APP})).headers
        preflight = await client.options(
            "/api/boom",
            headers={"Origin": "https://boom.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status == 204
        odd = await client.options(
            "/api/boom", headers={"Origin": APP, "Access-Control-Request-Method": "G E T"}
        )
        assert odd.status == 403

    run(app, check)


def test_routes_refuse_a_non_canonical_path_and_say_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _ = make_app()
    CORS(app, routes=[("/api/*", CORSPolicy(allow_origins=[APP]))])
    caplog.set_level(logging.DEBUG, logger="crossorigin")

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        url = client.make_url("/").with_path("/api/x/..%2Fitems", encoded=True)
        response = await client.session.get(url, headers={"Origin": APP})
        assert "Access-Control-Allow-Origin" not in response.headers

    run(app, check)
    # The same wording as the ASGI and WSGI middleware (response.log_non_canonical).
    assert "not in canonical form" in caplog.text
    assert "'/api/x/..%2Fitems'" in caplog.text


@pytest.mark.parametrize(
    "config",
    [
        # aiohttp-cors's documented example: every origin, with credentials.
        {"*": ResourceOptions(allow_credentials=True, expose_headers="*", allow_headers="*")},
        {APP: ResourceOptions(), EVIL: ResourceOptions(allow_credentials=True)},
        {APP: "nonsense"},
        {APP: {"allow_credentials": True, "allow_header": ["X"]}},
        {},
    ],
)
def test_unsafe_or_inexpressible_configs_are_refused(config: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        policy_from_aiohttp_cors(config)


def test_add_rejects_conflicts_and_non_routes() -> None:
    app, routes = make_app()
    cors = setup(app, defaults={APP: {"allow_headers": ["X-A"]}})
    cors.add(routes["items"])
    with pytest.raises(ConfigError, match="already has a different"):
        cors.add(routes["post"], CORSPolicy(allow_origins="*"))
    with pytest.raises(ConfigError, match="not a route"):
        cors.add("/api/items")
    with pytest.raises(ConfigError):
        setup(web.Application(), defaults={"*": ResourceOptions(allow_credentials=True)})
    # aiohttp-cors's own ResourceOptions objects are accepted as they are.
    incumbent = aiohttp_cors.ResourceOptions(allow_headers=("X-A",), max_age=60)  # type: ignore[no-untyped-call]
    translated = policy_from_aiohttp_cors({APP: incumbent}, {"GET"})
    assert translated.allow_headers == ("X-A",)
    assert translated.allow_methods == ("GET",)
    assert translated.max_age == 60
    resource = app.router.add_resource("/res")
    resource.add_route("PATCH", items)
    assert cors.add(resource) is resource


@pytest.mark.server
def test_under_aiohttps_own_server() -> None:
    app, _ = make_app()
    CORS(app, allow_origins=[APP])

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                base = f"http://127.0.0.1:{port}"
                async with session.get(f"{base}/api/items", headers={"Origin": APP}) as ok:
                    assert ok.headers["Access-Control-Allow-Origin"] == APP
                async with session.get(f"{base}/api/boom", headers={"Origin": APP}) as failed:
                    assert failed.status == 500
                    assert failed.headers["Access-Control-Allow-Origin"] == APP
                async with session.options(
                    f"{base}/api/items",
                    headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
                ) as preflight:
                    assert preflight.status == 204
        finally:
            await runner.cleanup()

    run_in_loop(main())


def test_same_grants_as_aiohttp_cors_for_a_safe_configuration() -> None:
    def grant(response: aiohttp.ClientResponse, preflight: bool) -> dict[str, object]:
        def tokens(name: str) -> frozenset[str]:
            value = response.headers.get(name, "")
            return frozenset(t.strip().lower() for t in value.split(",") if t.strip())

        return {
            "ok": 200 <= response.status < 300 if preflight else response.status,
            "origin": response.headers.get("Access-Control-Allow-Origin"),
            "credentials": response.headers.get("Access-Control-Allow-Credentials"),
            "methods": tokens("Access-Control-Allow-Methods"),
            "headers": tokens("Access-Control-Allow-Headers"),
            "expose": tokens("Access-Control-Expose-Headers"),
            "max_age": response.headers.get("Access-Control-Max-Age"),
        }

    def build(module: Any) -> web.Application:
        app, routes = make_app()
        options = module.ResourceOptions(
            allow_credentials=True,
            allow_headers=("Content-Type", "X-Request-Id"),
            expose_headers=("X-Total",),
            max_age=600,
        )
        cors = module.setup(app, defaults={APP: options})
        cors.add(routes["items"])
        cors.add(routes["post"])
        return app

    requests: list[tuple[str, dict[str, str]]] = [
        ("GET", {"Origin": APP}),
        ("GET", {"Origin": EVIL}),
        (
            "OPTIONS",
            {
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        ),
    ]
    results: list[list[dict[str, object]]] = []
    for module in (crossorigin_aiohttp, aiohttp_cors):
        app = build(module)
        collected: list[dict[str, object]] = []

        async def check(
            client: TestClient[web.Request, web.Application],
            collected: list[dict[str, object]] = collected,
        ) -> None:
            for method, headers in requests:
                response = await client.request(method, "/api/items", headers=headers)
                collected.append(grant(response, method == "OPTIONS"))

        run(app, check)
        results.append(collected)
    mine, incumbent = results
    # aiohttp-cors lists only the requested method and headers; we list what is allowed.
    for field in ("methods", "headers"):
        assert cast(frozenset[str], mine[2][field]) >= cast(frozenset[str], incumbent[2][field])
    mine[2]["methods"], mine[2]["headers"] = incumbent[2]["methods"], incumbent[2]["headers"]
    assert mine == incumbent


async def own_cors_headers(request: web.Request) -> web.Response:
    return web.Response(
        text="ok",
        headers={
            "access-control-allow-origin": "https://wrong.example",
            "Access-Control-Max-Age": "5",
            "vary": "Accept",
        },
    )


def test_the_apps_own_cors_and_vary_headers_are_replaced_and_merged() -> None:
    app = web.Application()
    app.router.add_get("/own", own_cors_headers)
    app.router.add_get("/plain", items)
    CORS(app, allow_origins=[APP], expose_headers=["X-Total"])

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        for origin, grant in ((APP, APP), (EVIL, None), (None, None)):
            headers = {"Origin": origin} if origin else {}
            response = await client.get("/own", headers=headers)
            assert response.headers.getall("Access-Control-Allow-Origin", []) == (
                [grant] if grant else []
            ), origin
            assert "Access-Control-Max-Age" not in response.headers, origin
            assert response.headers.getall("Vary") == ["Accept, Origin"], origin
        # Nothing of the app's to merge: the grant and Vary are just added.
        plain = await client.get("/plain", headers={"Origin": APP})
        assert plain.headers.getall("Access-Control-Allow-Origin") == [APP]
        assert plain.headers["Access-Control-Expose-Headers"] == "X-Total"

    run(app, check)


def test_repeated_request_headers_are_joined_as_the_core_expects() -> None:
    app, _ = make_app()
    CORS(app, allow_origins=[APP], allow_headers=["Content-Type", "X-A"])

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        # Two Origin headers are one malformed origin: refused, never the first one granted.
        twice = CIMultiDict([("Origin", APP), ("Origin", APP)])
        refused = await client.get("/api/items", headers=twice)
        assert "Access-Control-Allow-Origin" not in refused.headers
        split = CIMultiDict(
            [
                ("Origin", APP),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
                ("Access-Control-Request-Headers", "x-a"),
            ]
        )
        preflight = await client.options("/api/items", headers=split)
        assert preflight.status == 204
        split.add("Access-Control-Request-Headers", "x-b")
        assert (await client.options("/api/items", headers=split)).status == 403
        # Access-Control-Request-* on anything but OPTIONS: an actual request, granted.
        actual = await client.get(
            "/api/items",
            headers={"Origin": APP, "Access-Control-Request-Method": "DELETE"},
        )
        assert actual.status == 200
        assert actual.headers["Access-Control-Allow-Origin"] == APP

    run(app, check)


def test_streamed_grant_stays_with_its_request() -> None:
    app, routes = make_app()
    cors = setup(app, defaults={APP: ResourceOptions()})
    cors.add(routes["stream"])
    cors.add(routes["forbidden"])

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        for _ in range(2):
            streamed = await client.get("/api/stream", headers={"Origin": APP})
            assert await streamed.read() == b"chunk"
            assert streamed.headers.getall("Access-Control-Allow-Origin") == [APP]
            assert streamed.headers.getall("Vary") == ["Origin"]
            # The next request on the connection, to a route without CORS, gets none.
            other = await client.get("/other", headers={"Origin": APP})
            assert "Access-Control-Allow-Origin" not in other.headers
            assert other.headers.getall("Vary") == ["Accept-Encoding"]
            error = await client.get("/api/forbidden", headers={"Origin": APP})
            assert error.status == 403
            assert error.headers.getall("Access-Control-Allow-Origin") == [APP]
            missing = await client.get("/nowhere", headers={"Origin": APP})
            assert "Access-Control-Allow-Origin" not in missing.headers

    run(app, check)


def test_a_sub_apps_own_cors_wins_once() -> None:
    parent, _ = make_app()
    CORS(parent, allow_origins=[APP])
    sub = web.Application()
    sub.router.add_get("/items", items)
    sub.router.add_get("/stream", stream)
    CORS(sub, allow_origins=[EVIL])
    parent.add_subapp("/sub", sub)

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        for path in ("/sub/items", "/sub/stream"):
            granted = await client.get(path, headers={"Origin": EVIL})
            assert granted.headers.getall("Access-Control-Allow-Origin") == [EVIL], path
            assert granted.headers.getall("Vary")[-1].endswith("Origin"), path
            assert "Origin, Origin" not in ", ".join(granted.headers.getall("Vary")), path
            refused = await client.get(path, headers={"Origin": APP})
            assert "Access-Control-Allow-Origin" not in refused.headers, path
        parents = await client.get("/api/items", headers={"Origin": APP})
        assert parents.headers.getall("Access-Control-Allow-Origin") == [APP]

    run(app=parent, check=check)


def test_refusals_are_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = make_app()
    CORS(app, allow_origins=[APP])

    async def check(client: TestClient[web.Request, web.Application]) -> None:
        await client.get("/api/items", headers={"Origin": EVIL})
        assert not [r for r in caplog.records if r.name == "crossorigin"]
        caplog.set_level(logging.DEBUG, logger="crossorigin")
        await client.get("/api/items", headers={"Origin": EVIL})
        await client.get("/api/items", headers={"Origin": APP})
        await client.options(
            "/api/items", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"}
        )
        messages = [r.getMessage() for r in caplog.records if r.name == "crossorigin"]
        assert len(messages) == 2, messages
        assert messages[0].startswith("refused actual 'GET' '/api/items'")
        assert messages[1].startswith("refused preflight 'OPTIONS' '/api/items'")
        assert all("https://evil.example" in message for message in messages)

    run(app, check)
