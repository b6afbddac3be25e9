"""aiohttp-cors's visible behaviour, pinned through aiohttp: the same app is built once with
``aiohttp_cors`` and once with ``crossorigin.aiohttp`` (only the import differs) and both
answer the same requests.

Deliberate differences (docs/migration.md) are spelled out where they show: allowed
preflights answer 204 (aiohttp-cors: 200) and list the allowed methods and headers where
aiohttp-cors echoes the requested ones; responses vary on Origin; GET, HEAD and POST always
pass the preflight's method check.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar, cast

import aiohttp
import aiohttp_cors
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossorigin import ConfigError, CORSPolicy
from crossorigin import aiohttp as ours

from ..event_loop import run as run_in_loop

CLIENT = "http://client.example.org"
OTHER_CLIENT = "http://other-client.example.org"
STRANGER = "http://stranger.example"
MODULES = (aiohttp_cors, ours)

Client = TestClient[web.Request, web.Application]


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="Hello!", headers={"X-Custom-Server-Header": "Custom data"})


def answer(response: aiohttp.ClientResponse, preflight: bool) -> dict[str, object]:
    """What a browser acts on: status class and the CORS headers, tokens compared as sets."""

    def tokens(name: str) -> frozenset[str] | None:
        value = response.headers.get(name)
        if value is None:
            return None
        return frozenset(t.strip().lower() for t in value.split(",") if t.strip())

    return {
        "ok": 200 <= response.status < 300 if preflight else response.status,
        "origin": response.headers.get("Access-Control-Allow-Origin"),
        "credentials": response.headers.get("Access-Control-Allow-Credentials"),
        "expose": None if preflight else tokens("Access-Control-Expose-Headers"),
        "max_age": response.headers.get("Access-Control-Max-Age"),
        "methods": tokens("Access-Control-Allow-Methods"),
        "headers": tokens("Access-Control-Allow-Headers"),
    }


Request = tuple[str, str, dict[str, str]]


def replay(app: web.Application, requests: list[Request]) -> list[dict[str, object]]:
    collected: list[dict[str, object]] = []

    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            for method, path, headers in requests:
                response = await client.request(method, path, headers=headers)
                collected.append(answer(response, "Access-Control-Request-Method" in headers))

    run_in_loop(main())
    return collected


def compare(build: Callable[[ModuleType], web.Application], requests: list[Request]) -> list[Any]:
    """Both apps' answers; allowed preflights may list more than aiohttp-cors echoes."""
    theirs = replay(build(aiohttp_cors), requests)
    mine = replay(build(ours), requests)
    for (method, path, headers), a, b in zip(requests, mine, theirs, strict=True):
        if "Access-Control-Request-Method" in headers and b["ok"] is True:
            for field in ("methods", "headers"):
                listed = cast(frozenset[str], a[field] or frozenset())
                echoed = cast(frozenset[str], b[field] or frozenset())
                assert listed >= echoed, (path, headers)
            a = {**a, "methods": b["methods"], "headers": b["headers"]}
        assert a == b, (method, path, headers, a, b)
    return mine


def preflight(origin: str, method: str, headers: str | None = None) -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


def readme_app(cors_module: ModuleType) -> web.Application:
    """aiohttp-cors's README: a resource, then its GET route with its own options."""
    app = web.Application()
    cors = cors_module.setup(app)
    resource = cors.add(app.router.add_resource("/hello"))
    cors.add(
        resource.add_route("GET", handler),
        {
            CLIENT: cors_module.ResourceOptions(
                allow_credentials=True,
                expose_headers=("X-Custom-Server-Header",),
                allow_headers=("X-Requested-With", "Content-Type"),
                max_age=3600,
            )
        },
    )
    app.router.add_route("GET", "/private", handler)
    return app


def test_readme_example() -> None:
    answers = compare(
        readme_app,
        [
            ("GET", "/hello", {"Origin": CLIENT}),
            ("GET", "/hello", {"Origin": STRANGER}),
            ("GET", "/hello", {}),
            ("GET", "/private", {"Origin": CLIENT}),
            ("OPTIONS", "/hello", preflight(CLIENT, "GET", "x-requested-with,content-type")),
            ("OPTIONS", "/hello", preflight(CLIENT, "GET", "x-other")),
            ("OPTIONS", "/hello", preflight(STRANGER, "GET")),
            ("OPTIONS", "/hello", preflight(CLIENT, "DELETE")),
        ],
    )
    assert answers[0]["origin"] == CLIENT
    assert answers[0]["credentials"] == "true"
    assert answers[0]["expose"] == {"x-custom-server-header"}
    assert answers[1]["origin"] is None
    assert answers[3]["origin"] is None
    assert answers[4]["ok"] is True
    assert answers[4]["max_age"] == "3600"
    assert [a["ok"] for a in answers[5:]] == [False, False, False]


def defaults_app(cors_module: ModuleType) -> web.Application:
    """The README's defaults example: POST and PUT from the defaults, GET with one more
    origin of its own, so one resource has a different configuration per method."""
    app = web.Application()
    options = cors_module.ResourceOptions
    cors = cors_module.setup(app, defaults={CLIENT: options()})
    hello = cors.add(app.router.add_resource("/hello"))
    cors.add(hello.add_route("POST", handler))
    cors.add(hello.add_route("PUT", handler))
    cors.add(hello.add_route("GET", handler), {OTHER_CLIENT: options()})
    methods = cors.add(
        app.router.add_resource("/methods"),
        {CLIENT: options(allow_methods=["post", "Put"], allow_headers=["x-one"])},
    )
    methods.add_route("POST", handler)
    methods.add_route("PUT", handler)
    cors.add(methods.add_route("DELETE", handler))
    return app


def test_a_different_configuration_per_method_of_one_resource() -> None:
    answers = compare(
        defaults_app,
        [
            ("GET", "/hello", {"Origin": OTHER_CLIENT}),
            ("GET", "/hello", {"Origin": CLIENT}),
            ("POST", "/hello", {"Origin": OTHER_CLIENT}),
            ("PUT", "/hello", {"Origin": CLIENT}),
            ("OPTIONS", "/hello", preflight(CLIENT, "PUT")),
            ("OPTIONS", "/hello", preflight(OTHER_CLIENT, "PUT")),
            ("OPTIONS", "/hello", preflight(CLIENT, "PATCH")),
            ("OPTIONS", "/methods", preflight(CLIENT, "PUT", "x-one")),
            ("OPTIONS", "/methods", preflight(CLIENT, "DELETE")),
            ("OPTIONS", "/methods", preflight(CLIENT, "PATCH")),
            ("OPTIONS", "/methods", preflight(CLIENT, "PUT", "x-two")),
        ],
    )
    assert answers[0]["origin"] == OTHER_CLIENT
    assert answers[1]["origin"] == CLIENT
    assert answers[2]["origin"] is None
    assert answers[3]["origin"] == CLIENT
    assert [a["ok"] for a in answers[4:]] == [True, False, False, True, True, False, False]


def star_app(cors_module: ModuleType) -> web.Application:
    """Every origin without credentials, one origin with them (the README's "*" example)."""
    app = web.Application()
    options = cors_module.ResourceOptions
    cors = cors_module.setup(app)
    cors.add(
        app.router.add_get("/data", handler),
        {"*": options(allow_credentials=False), CLIENT: options(allow_credentials=True)},
    )
    return app


def test_star_and_one_credentialed_origin() -> None:
    answers = replay(star_app(ours), [("GET", "/data", {"Origin": STRANGER})])
    # aiohttp-cors echoes the origin; "*" is the same grant for a request without
    # credentials, and one without credentials is all the "*" entry grants.
    assert answers[0]["origin"] == "*"
    assert answers[0]["credentials"] is None
    theirs = replay(star_app(aiohttp_cors), [("GET", "/data", {"Origin": STRANGER})])
    assert theirs[0]["origin"] == STRANGER
    assert theirs[0]["credentials"] is None
    compared = compare(
        star_app,
        [("GET", "/data", {"Origin": CLIENT}), ("OPTIONS", "/data", preflight(CLIENT, "GET"))],
    )
    assert compared[0]["credentials"] == "true"


def view_app(cors_module: ModuleType) -> web.Application:
    class Items(web.View, cors_module.CorsViewMixin):  # type: ignore[misc,name-defined]
        cors_config: ClassVar[dict[str, Any]] = {
            CLIENT: cors_module.ResourceOptions(allow_credentials=True, allow_headers="*")
        }

        async def get(self) -> web.Response:
            return web.Response(text="items")

        @cors_module.custom_cors({OTHER_CLIENT: cors_module.ResourceOptions()})  # type: ignore[untyped-decorator]
        async def put(self) -> web.Response:
            return web.Response(text="put")

    app = web.Application()
    cors = cors_module.setup(app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cors.add(app.router.add_route("*", "/items", Items), webview=True)
    return app


def test_class_based_views_with_cors_view_mixin() -> None:
    answers = compare(
        view_app,
        [
            ("GET", "/items", {"Origin": CLIENT}),
            ("GET", "/items", {"Origin": OTHER_CLIENT}),
            ("PUT", "/items", {"Origin": OTHER_CLIENT}),
            ("OPTIONS", "/items", preflight(CLIENT, "GET", "x-anything,authorization")),
            ("OPTIONS", "/items", preflight(OTHER_CLIENT, "PUT")),
            ("OPTIONS", "/items", preflight(OTHER_CLIENT, "DELETE")),
        ],
    )
    assert answers[0]["origin"] == CLIENT
    assert answers[0]["credentials"] == "true"
    assert answers[1]["origin"] is None
    assert answers[2]["origin"] == OTHER_CLIENT
    assert [a["ok"] for a in answers[3:]] == [True, True, False]
    with pytest.warns(DeprecationWarning, match="webview"):
        ours.setup(web.Application()).add(
            web.Application().router.add_get("/x", handler), webview=True
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allow_credentials": "yes"},
        {"expose_headers": "X-One"},
        {"allow_headers": 5},
        {"allow_methods": "GET"},
        {"max_age": -1},
        {"max_age": 1.5},
        {"allow_headers": None},
    ],
)
def test_resource_options_refuses_what_aiohttp_cors_refuses(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  the incumbent's exception type is the contract
        aiohttp_cors.ResourceOptions(**kwargs)  # type: ignore[no-untyped-call]
    with pytest.raises(ValueError):  # noqa: PT011
        ours.ResourceOptions(**kwargs)


def test_resource_options_normalise_as_aiohttp_cors_does() -> None:
    kwargs: dict[str, Any] = {
        "allow_methods": ["get", "Post"],
        "allow_headers": ["x-one", "Content-Type"],
        "expose_headers": ["X-Total"],
        "max_age": 0,
    }
    incumbent = aiohttp_cors.ResourceOptions(**kwargs)  # type: ignore[no-untyped-call]
    assert tuple(ours.ResourceOptions(**kwargs)) == tuple(incumbent)
    for value in ("*", None):
        assert ours.ResourceOptions(allow_methods=value).allow_methods == value
    options = ours.ResourceOptions(allow_methods=["patch"])
    assert options.is_method_allowed("PATCH")
    assert not ours.ResourceOptions().is_method_allowed("GET")
    # aiohttp-cors's own objects, and plain dicts, are accepted by setup()/add().
    app = web.Application()
    theirs = aiohttp_cors.ResourceOptions(allow_headers=["x"])  # type: ignore[no-untyped-call]
    cors = ours.setup(app, defaults={CLIENT: theirs})
    cors.add(app.router.add_get("/a", handler), {OTHER_CLIENT: {"allow_credentials": True}})
    with pytest.raises(ValueError, match="unexpected keys"):
        cors.add(app.router.add_get("/b", handler), {CLIENT: {"allow_methods": ["GET"]}})


def test_refusals_where_aiohttp_cors_refuses_and_security_refusals() -> None:
    app = web.Application()
    cors = ours.setup(app)
    resource = cors.add(app.router.add_resource("/r"))
    with pytest.raises(ValueError, match="already"):
        cors.add(resource)
    route = cors.add(resource.add_route("GET", handler))
    with pytest.raises(ValueError, match="already"):
        cors.add(route)
    with pytest.raises(ValueError, match="mapping"):
        cors.add(app.router.add_get("/m", handler), ["not", "a", "mapping"])  # type: ignore[arg-type]
    # The README's "every origin, with credentials": any site could read users' data.
    with pytest.raises(ConfigError, match="credentials"):
        ours.setup(
            web.Application(),
            defaults={"*": ours.ResourceOptions(allow_credentials=True, allow_headers="*")},
        )


# --- issue 10: the policy follows the resource aiohttp routed to ----------------------------

ADMIN = "https://admin.example"
PARTNER = "https://partner.example"


def routed_app() -> web.Application:
    async def named(request: web.Request) -> web.Response:
        return web.Response(text=request.match_info.route.resource.canonical)  # type: ignore[union-attr]

    app = web.Application()
    cors = ours.setup(app)
    cors.add(app.router.add_get("/api/admin/users", named), {ADMIN: ours.ResourceOptions()})
    cors.add(app.router.add_get("/api/admin/{rest:.*}", named), {ADMIN: ours.ResourceOptions()})
    cors.add(app.router.add_get("/api/public/{rest:.*}", named), {PARTNER: ours.ResourceOptions()})
    return app


TRICKY_TARGETS = [
    "/api/admin/..%2Fpublic/x",
    "/api/admin/%2E%2E/public/x",
    "/api/admin/x/..%2F..%2Fpublic/y",
    "//api/admin/users",
    "/api/admin/users/",
    "/api/public/..%2F..%2Fapi/admin/users",
]


def test_the_policy_is_the_routed_resources() -> None:
    async def main() -> None:
        async with TestClient(TestServer(routed_app())) as client:
            for target in TRICKY_TARGETS:
                for origin in (ADMIN, PARTNER):
                    url = client.make_url("/").with_path(target, encoded=True)
                    response = await client.session.get(url, headers={"Origin": origin})
                    served = await response.text()
                    expected = next(
                        (
                            grantee
                            for prefix, grantee in (
                                ("/api/admin/", ADMIN),
                                ("/api/public/", PARTNER),
                            )
                            if served.startswith(prefix)
                        ),
                        None,
                    )
                    granted = response.headers.get("Access-Control-Allow-Origin")
                    assert granted == (origin if origin == expected else None), (
                        target,
                        origin,
                        served,
                    )

    run_in_loop(main())


def test_routes_fail_closed_on_paths_aiohttp_reads_differently() -> None:
    async def named(request: web.Request) -> web.Response:
        return web.Response(text=request.match_info.route.resource.canonical)  # type: ignore[union-attr]

    app = web.Application()
    app.router.add_get("/api/admin/{rest:.*}", named)
    app.router.add_get("/api/public/{rest:.*}", named)
    ours.CORS(
        app,
        routes=[
            ("/api/admin/*", CORSPolicy(allow_origins=[ADMIN])),
            ("/*", CORSPolicy(allow_origins=[PARTNER])),
        ],
    )

    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            for target in ("/api/admin/..%2Fpublic/x", "/api/public/..%2F..%2Fapi/admin/x"):
                url = client.make_url("/").with_path(target, encoded=True)
                response = await client.session.get(url, headers={"Origin": PARTNER})
                assert "Access-Control-Allow-Origin" not in response.headers, target
            fine = await client.get("/api/public/x", headers={"Origin": PARTNER})
            assert fine.headers["Access-Control-Allow-Origin"] == PARTNER

    run_in_loop(main())


@pytest.mark.server
def test_readme_example_under_aiohttps_own_server() -> None:
    async def serve(app: web.Application, requests: list[Request]) -> list[dict[str, object]]:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        collected = []
        try:
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for method, path, headers in requests:
                    async with session.request(method, base + path, headers=headers) as r:
                        collected.append(answer(r, "Access-Control-Request-Method" in headers))
        finally:
            await runner.cleanup()
        return collected

    requests: list[Request] = [
        ("GET", "/hello", {"Origin": CLIENT}),
        ("GET", "/hello", {"Origin": STRANGER}),
        ("OPTIONS", "/hello", preflight(CLIENT, "GET", "content-type")),
        ("OPTIONS", "/hello", preflight(STRANGER, "GET")),
    ]
    results: list[list[dict[str, object]]] = []
    for module in MODULES:
        results.append(run_in_loop(serve(readme_app(module), requests)))
    theirs, mine = results
    assert mine[:2] == theirs[:2]
    assert mine[0]["origin"] == CLIENT
    assert (mine[2]["ok"], mine[3]["ok"]) == (theirs[2]["ok"], theirs[3]["ok"]) == (True, False)
    assert mine[2]["max_age"] == theirs[2]["max_age"] == "3600"


def expose_all_app(cors_module: ModuleType) -> web.Application:
    app = web.Application()
    cors = cors_module.setup(app)
    options = cors_module.ResourceOptions(allow_credentials=True, expose_headers="*")
    cors.add(app.router.add_get("/all", handler), {CLIENT: options})
    return app


def test_expose_every_header_with_credentials() -> None:
    requests: list[Request] = [("GET", "/all", {"Origin": CLIENT})]
    theirs = replay(expose_all_app(aiohttp_cors), requests)[0]
    mine = replay(expose_all_app(ours), requests)[0]
    assert mine["credentials"] == theirs["credentials"] == "true"
    # Named one by one (a literal "*" exposes nothing to a credentialed request).
    assert "x-custom-server-header" in cast(frozenset[str], mine["expose"])
    assert "x-custom-server-header" in cast(frozenset[str], theirs["expose"])
    assert "*" not in cast(frozenset[str], mine["expose"])


SEGMENTS = ["api", "admin", "public", "users", "x", "..", ".", "", "%2F", "%2E%2E", "a%2fb"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6), min_size=10))
def test_grants_follow_the_resource_aiohttp_serves(paths: list[list[str]]) -> None:
    """Differential: for any raw path, a grant is the one of the resource aiohttp routed
    the request to (the handler names it), never another resource's."""

    async def main() -> None:
        async with TestClient(TestServer(routed_app())) as client:
            for segments in paths:
                target = "/" + "/".join(segments)
                url = client.make_url("/").with_path(target, encoded=True)
                for origin in (ADMIN, PARTNER):
                    response = await client.session.get(url, headers={"Origin": origin})
                    served = await response.text()
                    granted = response.headers.get("Access-Control-Allow-Origin")
                    if granted is not None:
                        owner = ADMIN if served.startswith("/api/admin/") else PARTNER
                        assert served.startswith("/api/"), (target, served)
                        assert granted == origin == owner, (target, origin, served)

    run_in_loop(main())


def test_errors_use_aiohttp_cors_terms() -> None:
    with pytest.raises(ConfigError) as caught:
        ours.setup(web.Application(), defaults={"https://a.example/": ours.ResourceOptions()})
    assert "allow_origins" not in str(caught.value)
    assert caught.value.problems[0].option == "origin key"
    with pytest.raises(ConfigError) as caught:
        ours.setup(web.Application(), defaults={CLIENT: ours.ResourceOptions(max_age=10**6)})
    assert caught.value.problems[0].option == "max_age"  # ResourceOptions' own field


@pytest.mark.server
def test_the_routed_resources_policy_under_aiohttps_own_server() -> None:
    async def main() -> None:
        runner = web.AppRunner(routed_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            port = runner.addresses[0][1]
            for target in TRICKY_TARGETS:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                # Sent byte for byte: no client library rewrites the request target.
                writer.write(
                    f"GET {target} HTTP/1.1\r\nHost: x\r\nOrigin: {PARTNER}\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                await writer.drain()
                head, _, body = (await reader.read()).partition(b"\r\n\r\n")
                writer.close()
                granted = f"access-control-allow-origin: {PARTNER}".encode() in head.lower()
                assert granted == body.startswith(b"/api/public/"), (target, head, body)
        finally:
            await runner.cleanup()

    run_in_loop(main())
