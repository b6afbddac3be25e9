"""The hot-path shortcuts give exactly the answers of the straightforward code they replace.

The memo tables, the ASGI header scan, the concatenating header merge and the collapsing
``Access-Control-Request-Headers`` reader exist only for speed (see docs/benchmarks.md).
Each is compared here with a plain reference over arbitrary input, so a shortcut can never
change what a client sees.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crossorigin import CORSPolicy, Decision, Reason
from crossorigin.asgi import CORSMiddleware, read_cors_headers
from crossorigin.response import add_cors_headers, add_cors_str_headers, merge_response_headers
from crossorigin.tokens import OWS, is_token

ALLOWED = ("Content-Type", "X-Request-Id", "Authorization")


def _policies() -> list[CORSPolicy]:
    return [
        CORSPolicy(
            allow_origins=["https://app.example.com", "https://*.example.org"],
            allow_methods=["GET", "PUT"],
            allow_headers=list(ALLOWED),
            expose_headers=["X-Request-Id"],
            max_age=600,
        ),
        CORSPolicy(allow_origins=["*"], allow_headers=["*"], allow_methods=["*"]),
        CORSPolicy(allow_origins=["http://localhost:*"], allow_credentials=True),
        CORSPolicy(
            allow_origins=["http://localhost:*"],
            allow_headers=["Content-Type"],
            allow_header_regex=r"x-(other|y)",
            allow_methods="*",
        ),
    ]


POLICIES = _policies()


def _fresh(policy: CORSPolicy) -> CORSPolicy:
    """An equal policy with empty memo tables."""
    return policy.replace()


def _same(a: Decision, b: Decision) -> bool:
    return (a.kind, a.allowed, a.headers, a.vary, a.status, a.refusals) == (
        b.kind,
        b.allowed,
        b.headers,
        b.vary,
        b.status,
        b.refusals,
    )


def _reference_refused_names(policy: CORSPolicy, value: str) -> str:
    """The header check written the obvious way: every element, one at a time."""
    allowed = {name.lower() for name in policy.allow_headers if name != "*"}
    any_header = "*" in policy.allow_headers
    pattern = policy.allow_header_regex
    bad = set()
    for part in value.split(","):
        name = part.strip(OWS).lower()
        if not name or name in allowed:
            continue
        if any_header and is_token(name):
            continue
        if pattern is not None and is_token(name) and re.fullmatch(pattern, name, re.I):
            continue
        bad.add(name)
    return ", ".join(sorted(bad))


origins = st.sampled_from(
    [
        "https://app.example.com",
        "https://a.example.org",
        "https://evil.example.net",
        "http://localhost:5173",
        "null",
        "https://APP.example.com",
    ]
) | st.text(max_size=40)
header_lists = st.lists(
    st.sampled_from(
        ["content-type", "X-Request-Id", " authorization", "x-other", "", " ", "\t", "X Y", "é"]
    ),
    max_size=12,
).map(",".join) | st.text(alphabet=", \txyzXYZ-", max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    method=st.sampled_from(["GET", "OPTIONS", "PUT"]),
    origin=st.none() | origins,
    request_method=st.none() | st.sampled_from(["PUT", "GET", "DELETE", "put", "A B"]),
    request_headers=st.none() | header_lists,
    private_network=st.none() | st.sampled_from(["true", "false", " TRUE "]),
)
def test_memoised_decisions_equal_fresh_ones(
    index: int,
    method: str,
    origin: str | None,
    request_method: str | None,
    request_headers: str | None,
    private_network: str | None,
) -> None:
    policy = POLICIES[index]  # shared: its memo tables fill up across examples
    args = (method, origin, request_method, request_headers, private_network)
    first = policy.decide(*args)
    again = policy.decide(*args)
    fresh = _fresh(policy).decide(*args)
    assert _same(first, fresh)
    assert _same(again, fresh)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(POLICIES) - 1), value=header_lists)
def test_request_header_check_matches_the_reference(index: int, value: str) -> None:
    policy = POLICIES[index]
    origin = "https://app.example.com" if index == 0 else "http://localhost:3000"
    if index == 1:
        origin = "https://anything.example"
    decision = policy.decide("OPTIONS", origin, "GET", value)
    expected = _reference_refused_names(policy, value)
    refused = [r.value for r in decision.refusals if r.reason is Reason.HEADERS]
    assert refused == ([expected] if expected else [])
    echoes = "*" in policy.allow_headers or policy.allow_header_regex is not None
    names = sorted({part.strip(OWS).lower() for part in value.split(",")} - {""})
    if decision.allowed and echoes and names:
        # The echo is exactly the requested names, normalised: never the raw value.
        echoed = [v for k, v in decision.headers if k == b"access-control-allow-headers"]
        assert echoed == [", ".join(names).encode("ascii")]


def test_hostile_request_headers_match_the_reference() -> None:
    policy = POLICIES[0]
    for value in (
        "," * 100_000,
        "x-a" + "," * 50_000 + "X-A",
        ", " * 20_000 + "content-type",
        ",".join(f"x-{i}" for i in range(3000)),
        ",,content-type,,,,x-request-id,,",
    ):
        decision = policy.decide("OPTIONS", "https://app.example.com", "PUT", value)
        expected = _reference_refused_names(policy, value)
        refused = [r.value for r in decision.refusals if r.reason is Reason.HEADERS]
        assert refused == ([expected] if expected else [])


def test_memo_tables_stay_bounded() -> None:
    policy = _fresh(POLICIES[0])
    for index in range(3000):
        policy.decide("GET", f"https://evil{index}.example.net")
        policy.decide("OPTIONS", f"https://evil{index}.example.net", "PUT", f"x-{index}")
    decision = policy.decide("GET", "https://evil2999.example.net")
    assert not decision.allowed
    assert decision.refusals[0].value == "https://evil2999.example.net"
    memos = [getattr(policy, name) for name in ("_refused_memo", "_preflight_memo")]
    assert all(len(memo) <= 1024 for memo in memos)


response_names = st.sampled_from(
    [
        b"content-type",
        b"Content-Length",
        b"vary",
        b"Vary",
        b"access-control-allow-origin",
        b"Access-Control-Max-Age",
        b"age",
        b"x-a",
        b"",
    ]
)
response_headers = st.lists(
    st.tuples(response_names, st.sampled_from([b"a", b"Origin", b"*", b"accept, origin", b""])),
    max_size=6,
)
cors_pairs = st.sampled_from(
    [
        (),
        ((b"access-control-allow-origin", b"https://a.com"),),
        ((b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", b"x")),
    ]
)


@settings(max_examples=300, deadline=None)
@given(app=response_headers, cors=cors_pairs, vary=st.sampled_from([b"", b"Origin"]))
def test_fast_merge_equals_the_full_merge(
    app: list[tuple[bytes, bytes]], cors: tuple[tuple[bytes, bytes], ...], vary: bytes
) -> None:
    expected = merge_response_headers(list(app), cors, vary)
    assert add_cors_headers(list(app), cors, vary) == expected
    assert add_cors_headers(iter(app), cors, vary) == expected  # any iterable
    as_str = [(k.decode(), v.decode()) for k, v in app]
    str_cors = [(k.decode(), v.decode()) for k, v in cors]
    assert add_cors_str_headers(as_str, str_cors, vary.decode()) == merge_response_headers(
        as_str, str_cors, vary.decode()
    )


request_names = st.sampled_from(
    [
        b"origin",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"access-control-request-private-network",
        b"host",
        b"accept",
    ]
)
request_values = st.sampled_from(
    [b"https://app.example.com", b"https://evil.example.net", b"PUT", b"content-type", b"true"]
)


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(middleware: CORSMiddleware, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "OPTIONS"]),
    headers=st.lists(st.tuples(request_names, request_values), max_size=6),
    shape=st.sampled_from(["list", "tuple", "iterator", "bytearray names"]),
)
def test_asgi_header_scan_equals_the_general_reader(
    method: str, headers: list[tuple[bytes, bytes]], shape: str
) -> None:
    policy = POLICIES[0]
    scope: dict[str, Any] = {"type": "http", "method": method, "path": "/", "headers": headers}
    if shape == "tuple":
        scope["headers"] = tuple(headers)
    elif shape == "iterator":
        scope["headers"] = iter(headers)
    elif shape == "bytearray names":  # unhashable: the scan falls back to the general reader
        scope["headers"] = [(bytearray(name), value) for name, value in headers]
    expected = _fresh(policy).decide(method, *read_cors_headers(headers))
    sent = _call(CORSMiddleware(_app, policy), scope)
    start = sent[0]
    if expected.kind.value == "preflight":
        assert start["status"] == expected.status
        assert start["headers"][: len(expected.headers)] == list(expected.headers)
    else:
        assert start["headers"] == merge_response_headers(
            [(b"x-a", b"1")], expected.headers, expected.vary
        )


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    method=st.sampled_from(["GET", "OPTIONS", "POST"]),
    origin=st.none() | origins,
)
def test_decisions_by_origin_table_equals_decide(
    index: int, method: str, origin: str | None
) -> None:
    """The ASGI adapter answers non-preflight requests from ``_by_origin`` when it can."""
    policy = POLICIES[index]  # shared: the table fills up with memoised origins
    policy.decide(method, origin)
    table = policy._by_origin
    for known, decision in list(table.items())[:50]:
        assert _same(decision, _fresh(policy).decide(method, known))
    if origin in table:
        assert _same(table[origin], _fresh(policy).decide(method, origin))


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    method=st.sampled_from(["GET", "OPTIONS"]),
    origin=st.none() | origins,
    request_method=st.none() | st.sampled_from(["PUT", "GET", "A B"]),
    request_headers=st.none() | header_lists,
)
def test_prebuilt_tails_equal_the_merge(
    index: int,
    method: str,
    origin: str | None,
    request_method: str | None,
    request_headers: str | None,
) -> None:
    decision = POLICIES[index].decide(method, origin, request_method, request_headers)
    if decision.kind.value == "preflight":
        expected = list(decision.headers)
        if decision.status != 204:
            expected.append((b"content-length", b"0"))
    else:
        expected = merge_response_headers([], decision.headers, decision.vary)
    assert decision._tail == expected


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    origin=st.none() | origins,
    app_headers=response_headers,
    shape=st.sampled_from(["list", "tuple", "absent"]),
)
def test_asgi_response_merge_equals_the_full_merge(
    index: int, origin: str | None, app_headers: list[tuple[bytes, bytes]], shape: str
) -> None:
    """The adapter's inlined merge, over arbitrary app headers; the app's dict is reused."""
    policy = POLICIES[index]
    start: dict[str, Any] = {"type": "http.response.start", "status": 200}
    if shape != "absent":
        start["headers"] = list(app_headers) if shape == "list" else tuple(app_headers)
    original = dict(start)
    original_headers = list(start.get("headers", ()))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(start)  # the same dict every request, as a constant would be
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [] if origin is None else [(b"origin", origin.encode("utf-8"))]
    as_read = None if origin is None else origin.encode("utf-8").decode("latin-1")
    expected = _fresh(policy).decide("GET", as_read)
    middleware = CORSMiddleware(app, policy)
    for _ in range(2):
        scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        sent = _call(middleware, scope)
        assert sent[0]["headers"] == merge_response_headers(
            list(app_headers) if shape != "absent" else [], expected.headers, expected.vary
        )
        assert start == original
        assert list(start.get("headers", ())) == original_headers


class _DuckPolicy:
    """Not a CORSPolicy: the adapters must call its decide() with every argument."""

    has_resolver = False

    def __init__(self, policy: CORSPolicy) -> None:
        self.inner = policy
        self.calls: list[tuple[Any, ...]] = []

    def decide(self, *args: Any) -> Decision:
        self.calls.append(args)
        return self.inner.decide(*args)


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("X-A", "1")])
    return [b"ok"]


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    method=st.sampled_from(["GET", "OPTIONS", "PUT"]),
    origin=st.none() | origins,
    request_method=st.none() | st.sampled_from(["PUT", "GET", "A B"]),
    request_headers=st.none() | header_lists,
    private_network=st.none() | st.sampled_from(["true", "false"]),
    duck=st.booleans(),
)
def test_wsgi_static_path_equals_decide(
    index: int,
    method: str,
    origin: str | None,
    request_method: str | None,
    request_headers: str | None,
    private_network: str | None,
    duck: bool,
) -> None:
    """The WSGI table lookup and direct preflight call answer as a fresh decide() would."""
    from crossorigin.wsgi import CORSMiddleware as WSGIMiddleware

    policy = POLICIES[index]
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": "/"}
    for key, value in (
        ("HTTP_ORIGIN", origin),
        ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", request_method),
        ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", request_headers),
        ("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", private_network),
    ):
        if value is not None:
            environ[key] = value
    args = (method, origin, request_method, request_headers, private_network)
    expected = _fresh(policy).decide(*args)
    duck_policy = _DuckPolicy(policy)
    middleware = WSGIMiddleware(_wsgi_app, policy)
    if duck:  # swapped in at runtime, as the policy property allows
        middleware.policy = duck_policy  # type: ignore[assignment]
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    list(middleware(environ, start_response))
    [(status, headers)] = started
    str_pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in expected.headers]
    if expected.kind.value == "preflight":
        assert status.startswith(str(expected.status))
        assert headers[: len(str_pairs)] == str_pairs
    else:
        assert headers == merge_response_headers(
            [("X-A", "1")], str_pairs, expected.vary.decode("latin-1")
        )
    if duck:
        assert duck_policy.calls == [args]


@settings(max_examples=100, deadline=None)
@given(
    method=st.sampled_from(["GET", "OPTIONS"]),
    headers=st.lists(st.tuples(request_names, request_values), max_size=6),
)
def test_asgi_duck_typed_policy_gets_every_argument(
    method: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """A policy that is not a CORSPolicy skips the table and the direct preflight call."""
    duck = _DuckPolicy(POLICIES[0])
    middleware = CORSMiddleware(_app, POLICIES[0])
    middleware.policy = duck  # type: ignore[assignment]
    _call(middleware, {"type": "http", "method": method, "path": "/", "headers": headers})
    assert duck.calls == [(method, *read_cors_headers(headers))]
