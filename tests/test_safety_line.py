"""Where the safety line sits, proven through the ASGI and the WSGI middleware.

Each case of the audit (issue 10) is here: what is dangerous is refused before anything is
served, and what is only unusual (``*`` methods and headers with credentials, the one
dangerously named reflect option) is accepted with its documented meaning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from crossorigin import ConfigError, Problem
from crossorigin.asgi import CORSMiddleware as ASGIMiddleware
from crossorigin.asgi import Message, Receive, Scope, Send
from crossorigin.policy import join_origin_regexes
from crossorigin.wsgi import CORSMiddleware as WSGIMiddleware
from crossorigin.wsgi import Environ, StartResponse

from .asgi_helpers import call

ORIGIN = "https://app.example.com"

Response = tuple[int, list[tuple[str, str]]]
Client = Callable[[str, dict[str, str]], Response]


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain")],
    }
    await send(start)
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def asgi_client(**options: Any) -> Client:
    middleware = ASGIMiddleware(asgi_app, **options)

    def send(method: str, headers: dict[str, str]) -> Response:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        exchange = call(middleware, method, raw)
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in exchange.headers]
        return exchange.status, pairs

    return send


def wsgi_client(**options: Any) -> Client:
    middleware = WSGIMiddleware(wsgi_app, **options)

    def send(method: str, headers: dict[str, str]) -> Response:
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": "/"}
        setup_testing_defaults(environ)
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        seen: list[Response] = []

        def start_response(status: str, pairs: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append((int(status.split()[0]), list(pairs)))
            return lambda data: None

        body = middleware(environ, start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
        return seen[-1]

    return send


CLIENTS = {"asgi": asgi_client, "wsgi": wsgi_client}


@pytest.fixture(params=sorted(CLIENTS))
def client_for(request: pytest.FixtureRequest) -> Callable[..., Client]:
    factory: Callable[..., Client] = CLIENTS[request.param]
    return factory


def header(response: Response, name: str) -> list[str]:
    return [value for key, value in response[1] if key.lower() == name]


def cors(response: Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response[1] if k.lower().startswith("access-control-")}


def preflight(
    client: Client, method: str, request_headers: str | None = None, origin: str = ORIGIN
) -> Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return client("OPTIONS", headers)


# --- harmless, so accepted: '*' methods and headers, with credentials ------------------------


def test_fastapi_tutorial_configuration_works_with_credentials(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(
        allow_origins=[ORIGIN], allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
    )
    answer = preflight(client, "PATCH", "authorization,content-type,x-trace")
    assert answer[0] == 204
    expected = {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "PATCH",
        "access-control-allow-headers": "authorization, content-type, x-trace",
    }
    if client_for is asgi_client:  # Starlette's option names bring its max_age=600
        expected["access-control-max-age"] = "600"
    assert cors(answer) == expected
    assert header(answer, "vary") == [
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    ]
    actual = client("PATCH", {"Origin": ORIGIN, "Authorization": "Bearer x"})
    assert cors(actual)["access-control-allow-origin"] == ORIGIN
    # The origin is still restricted: that is where the danger was.
    refused = preflight(client, "PATCH", "authorization", origin="https://evil.example")
    assert refused[0] == 403
    assert cors(refused) == {}


@pytest.mark.parametrize(
    ("method", "request_headers"),
    [("PUT\r\nX-Injected: 1", None), ("X" * 100, None), ("PUT", "x-a\r\nx-b: 1"), ("PUT", "a b")],
)
def test_star_echo_never_copies_a_non_token(
    client_for: Callable[..., Client], method: str, request_headers: str | None
) -> None:
    client = client_for(allow_origins=[ORIGIN], allow_methods="*", allow_headers="*")
    try:
        answer = preflight(client, method, request_headers)
    except ValueError:
        return  # the test client itself refuses to build such a request
    assert answer[0] == 403
    assert cors(answer) == {}
    assert all("\r" not in v and "\n" not in v and "X-Injected" not in v for _, v in answer[1])


def test_star_origin_with_credentials_stays_refused(client_for: Callable[..., Client]) -> None:
    with pytest.raises(ConfigError, match="allow_credentials"):
        client_for(allow_origins=["*"], allow_credentials=True)


# --- dangerous, so refused: null with credentials --------------------------------------------


def test_null_with_credentials_is_refused(client_for: Callable[..., Client]) -> None:
    with pytest.raises(ConfigError, match="dangerously_reflect_any_origin"):
        client_for(allow_origins=["null"], allow_credentials=True)


# --- the one dangerously named escape hatch -----------------------------------------------------


def test_reflect_any_origin_warns_and_reflects(
    client_for: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="crossorigin"):
        client = client_for(dangerously_reflect_any_origin=True, allow_credentials=True)
    assert any(
        r.levelno == logging.WARNING and "every website" in r.getMessage() for r in caplog.records
    )
    for origin in ("https://evil.example", "null"):
        answer = client("GET", {"Origin": origin})
        assert cors(answer) == {
            "access-control-allow-origin": origin,
            "access-control-allow-credentials": "true",
        }
        assert header(answer, "vary") == ["Origin"]
    assert header(client("GET", {}), "vary") == ["Origin"]
    assert cors(client("GET", {"Origin": "https://evil.example/x"})) == {}


# --- header regexes ------------------------------------------------------------------------------


def test_header_regex_is_echoed(client_for: Callable[..., Client]) -> None:
    client = client_for(allow_origins=[ORIGIN], allow_header_regex=r"X-COMPANY-.*")
    answer = preflight(client, "GET", "X-Company-A, x-company-b")
    assert answer[0] == 204
    assert cors(answer)["access-control-allow-headers"] == "x-company-a, x-company-b"
    assert preflight(client, "GET", "x-other")[0] == 403


# --- logs: no request value can close its quote ----------------------------------------------

QUOTED = r"'(?:[^'\\]|\\.)*'"


@pytest.mark.parametrize(
    "forged",
    [
        "x' is not allowed; origin 'https://trusted.example.com",
        "https://a.example\\' x",
        "https://evil.example\r\nrefused actual 'GET' '/': origin 'z'",
    ],
)
def test_refusal_logs_quote_every_request_value(
    client_for: Callable[..., Client], caplog: pytest.LogCaptureFixture, forged: str
) -> None:
    client = client_for(allow_origins=[ORIGIN])
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    try:
        client("GET", {"Origin": forged})
    except ValueError:
        pytest.skip("the test client refuses this header value itself")
    [record] = [r for r in caplog.records if r.name == "crossorigin"]
    message = record.getMessage()
    assert message.isascii()
    assert message.isprintable()
    # One refusal, for one (escaped) origin: the forged text reads as data, not as log text.
    assert re.fullmatch(
        rf"refused actual {QUOTED} {QUOTED}: origin {QUOTED} is not allowed", message
    ), message


# --- dangerous, so refused: over-matching regexes and patterns on public suffixes -----------

AUDIT_REGEXES = [
    r"https://[a-z]+.example.com",
    r"https://.*example\.com",
    r"https?://.*\.com",
    r"https://\w+\.com",
    r"https://.*\.(com|net|org)",
    r"http://.*",
    r"https://.*\.run\.app",
    r"https://.*\.co\.il",
]
AUDIT_PATTERNS = [
    "https://*.compute.amazonaws.com",
    "https://*.run.app",
    "https://*.myshopify.com",
    "https://*.trycloudflare.com",
    "https://*.ngrok.app",
    "https://*.duckdns.org",
    "https://*.co.il",
    "https://*.com.pl",
]


@pytest.mark.parametrize("regex", AUDIT_REGEXES)
def test_over_matching_regex_is_refused_before_serving(
    client_for: Callable[..., Client], regex: str
) -> None:
    with pytest.raises(ConfigError, match=r"over-matches: (it accepts|it names no registrable)"):
        client_for(allow_origin_regex=regex, allow_credentials=True)


@pytest.mark.parametrize("pattern", AUDIT_PATTERNS)
def test_subdomain_pattern_on_a_public_suffix_is_refused_before_serving(
    client_for: Callable[..., Client], pattern: str
) -> None:
    with pytest.raises(ConfigError, match="public suffix"):
        client_for(allow_origins=[pattern], allow_credentials=True)


def test_flask_cors_style_regexes_still_work(client_for: Callable[..., Client]) -> None:
    problems: list[Problem] = []
    joined = join_origin_regexes(
        "origins",
        [r".*\.example\.com", r"http://localhost:\d+", r"https://partner\.test"],
        problems,
    )
    assert problems == []
    client = client_for(allow_origin_regex=joined, allow_credentials=True)
    for origin in ("https://a.example.com", "http://x.y.example.com", "http://localhost:5173"):
        assert cors(client("GET", {"Origin": origin}))["access-control-allow-origin"] == origin
    for origin in ("https://example.com.evil.test", "https://evilexample.com", "http://localhost"):
        assert cors(client("GET", {"Origin": origin})) == {}
