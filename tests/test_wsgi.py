"""The WSGI middleware under a real Flask app, werkzeug's test client and raw WSGI calls.

Flask goes through its own test client (werkzeug); raw calls with a recording
``start_response`` show the exact status, headers and ``exc_info`` the middleware passes
to the server, and carry the header values no client library will send.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from flask import Flask, Response, request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client, TestResponse

from crossorigin import ConfigError, CORSPolicy
from crossorigin.wsgi import CORSMiddleware, Environ, ExcInfo, StartResponse, WSGIApp

from .adapter_policy import GRANT, OPTIONS, ORIGIN, OTHER, PREFLIGHT_GRANT


class CountCalls:
    """Sits between the CORS middleware and the app: records every request it passes on."""

    def __init__(self, app: WSGIApp, calls: list[str]) -> None:
        self.app = app
        self.calls = calls

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        self.calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return self.app(environ, start_response)


def make_flask(calls: list[str], *, testing: bool = False, **options: Any) -> Flask:
    app = Flask(__name__)
    app.testing = testing

    @app.route("/", methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"])
    def hello() -> Response:
        return Response(f"hello {request.method}", headers={"X-Total": "3"})

    @app.route("/vary")
    def with_vary() -> Response:
        return Response("varies", headers={"Vary": request.args["vary"]})

    @app.route("/own-cors")
    def own_cors() -> Response:
        return Response(
            "own",
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Expose-Headers": "X-Secret",
            },
        )

    @app.route("/status/<int:code>")
    def status(code: int) -> Response:
        return Response("status", status=code)

    @app.route("/raise")
    def boom() -> Response:
        raise RuntimeError("boom")

    @app.route("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[bytes]:
            yield from (b"one", b"two", b"three")

        return Response(chunks(), mimetype="text/plain")

    # Flask's documented way to add WSGI middleware.
    app.wsgi_app = CORSMiddleware(  # type: ignore[method-assign]
        CountCalls(app.wsgi_app, calls), **(options or OPTIONS)
    )
    return app


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def flask_app(calls: list[str]) -> Flask:
    return make_flask(calls)


def cors_of(response: TestResponse) -> dict[str, str]:
    """The response's CORS headers; fails if any of them appears twice."""
    items = [
        (k.lower(), v)
        for k, v in response.headers.items()
        if k.lower().startswith("access-control-")
    ]
    names = [k for k, _ in items]
    assert len(names) == len(set(names)), f"duplicated CORS headers: {items}"
    return dict(items)


def preflight_headers(
    origin: str = ORIGIN, method: str = "PUT", headers: str | None = None, **extra: str
) -> dict[str, str]:
    result = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    if headers is not None:
        result["Access-Control-Request-Headers"] = headers
    return result


# --- raw WSGI plumbing ---------------------------------------------------------------------


class Recorder:
    """A ``start_response`` that follows PEP 3333 and remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]], Any]] = []

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | tuple[None, None, None] | None = None,
        /,
    ) -> Any:
        if self.calls and not exc_info:
            raise AssertionError("start_response called twice without exc_info")
        self.calls.append((status, list(headers), exc_info))
        return lambda data: None

    @property
    def status(self) -> str:
        return self.calls[-1][0]

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self.calls[-1][1]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def cors(self) -> list[tuple[str, str]]:
        return [(k.lower(), v) for k, v in self.headers if k.lower().startswith("access-control-")]


def environ_for(method: str = "GET", path: str = "/", **headers: str) -> Environ:
    environ: Environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    setup_testing_defaults(environ)
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    return environ


def ok_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def raising_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise LookupError("raw failure")


def call_raw(app: WSGIApp, environ: Environ) -> tuple[Recorder, bytes]:
    recorder = Recorder()
    body = b"".join(app(environ, recorder))
    return recorder, body


# --- preflights ----------------------------------------------------------------------------


def test_allowed_preflight_is_answered_by_the_middleware(
    flask_app: Flask, calls: list[str]
) -> None:
    response = flask_app.test_client().options(
        "/", headers=preflight_headers(headers="content-type,x-token")
    )
    assert response.status_code == 204
    assert cors_of(response) == PREFLIGHT_GRANT
    assert response.headers.getlist("Vary") == ["Origin"]
    assert response.data == b""
    assert calls == []


def test_preflight_status_option_is_used(calls: list[str]) -> None:
    app = make_flask(calls, allow_origins=[ORIGIN], allow_methods=["PUT"], preflight_status=200)
    response = app.test_client().options("/", headers=preflight_headers())
    assert response.status == "200 OK"
    assert response.headers["Content-Length"] == "0"
    assert cors_of(response)["access-control-allow-origin"] == ORIGIN
    assert calls == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (preflight_headers(origin=OTHER), "origin 'https://evil.example.net' is not allowed"),
        (preflight_headers(method="PATCH"), "method 'PATCH' is not allowed"),
        (preflight_headers(headers="x-token, x-other"), "request header(s) 'x-other' not allowed"),
        (
            preflight_headers(**{"Access-Control-Request-Private-Network": "true"}),
            "private network access ('true') is not allowed",
        ),
    ],
    ids=["origin", "method", "header", "private-network"],
)
def test_refused_preflight_is_403_without_grant(
    flask_app: Flask,
    calls: list[str],
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    response = flask_app.test_client().options("/", headers=headers)
    assert response.status == "403 Forbidden"
    assert cors_of(response) == {}
    assert response.headers.getlist("Vary") == ["Origin"]
    assert calls == []
    [record] = [r for r in caplog.records if r.name == "crossorigin"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("refused preflight 'OPTIONS' '/': ")
    assert reason in record.getMessage()


def test_private_network_preflight_granted_when_allowed(calls: list[str]) -> None:
    app = make_flask(calls, allow_origins=[ORIGIN], allow_private_network=True)
    response = app.test_client().options(
        "/",
        headers=preflight_headers(
            method="GET", **{"Access-Control-Request-Private-Network": "true"}
        ),
    )
    assert response.status_code == 204
    assert cors_of(response)["access-control-allow-private-network"] == "true"
    assert calls == []


def test_options_without_request_method_reaches_the_app(flask_app: Flask, calls: list[str]) -> None:
    response = flask_app.test_client().options("/", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.text == "hello OPTIONS"
    assert cors_of(response) == GRANT
    assert calls == ["OPTIONS /"]


# --- actual requests -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_allowed_actual_request_gets_the_grant(
    flask_app: Flask, calls: list[str], method: str
) -> None:
    response = flask_app.test_client().open("/", method=method, headers={"Origin": ORIGIN})
    assert response.text == f"hello {method}"
    assert cors_of(response) == GRANT
    assert response.headers["X-Total"] == "3"
    assert calls == [f"{method} /"]


def test_refused_origin_reaches_the_app_without_any_grant(
    flask_app: Flask, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    response = flask_app.test_client().get("/", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert response.text == "hello GET"
    assert cors_of(response) == {}
    assert response.headers.getlist("Vary") == ["Origin"]
    assert calls == ["GET /"]
    messages = [r.getMessage() for r in caplog.records if r.name == "crossorigin"]
    assert messages == [
        "refused actual 'GET' '/': origin 'https://evil.example.net' is not allowed"
    ]


def test_allowed_requests_are_not_logged(
    flask_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    client = flask_app.test_client()
    client.get("/", headers={"Origin": ORIGIN})
    client.options("/", headers=preflight_headers())
    client.get("/")
    assert [r for r in caplog.records if r.name == "crossorigin"] == []


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
def test_vary_origin_on_every_response(flask_app: Flask, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    client = flask_app.test_client()
    for path in ("/", "/status/404", "/nowhere", "/stream"):
        response = client.get(path, headers=headers)
        assert response.headers.getlist("Vary") == ["Origin"], path


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
@pytest.mark.parametrize(
    ("app_vary", "expected"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("origin", "origin"),
        ("Cookie,ORIGIN ,Accept", "Cookie, ORIGIN, Accept"),
        ("*", "*"),
    ],
)
def test_vary_is_merged_with_the_apps(
    flask_app: Flask, origin: str | None, app_vary: str, expected: str
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = flask_app.test_client().get(
        "/vary", query_string={"vary": app_vary}, headers=headers
    )
    assert response.headers.getlist("Vary") == [expected]


def test_repeated_vary_headers_become_one() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Vary", "Accept"), ("vary", "Cookie, Origin")])
        return [b""]

    recorder, _ = call_raw(CORSMiddleware(app, **OPTIONS), environ_for(ORIGIN=OTHER))
    assert recorder.values("vary") == ["Accept, Cookie, Origin"]


@pytest.mark.parametrize("origin", [ORIGIN, OTHER, None], ids=["allowed", "refused", "no-origin"])
def test_apps_own_cors_headers_are_replaced(flask_app: Flask, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    response = flask_app.test_client().get("/own-cors", headers=headers)
    assert response.text == "own"
    assert cors_of(response) == (GRANT if origin == ORIGIN else {})


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 404, 418, 500, 503])
def test_app_error_statuses_keep_the_grant(flask_app: Flask, code: int) -> None:
    response = flask_app.test_client().get(f"/status/{code}", headers={"Origin": ORIGIN})
    assert response.status_code == code
    assert cors_of(response) == GRANT


def test_flask_404_keeps_the_grant(flask_app: Flask, calls: list[str]) -> None:
    response = flask_app.test_client().get("/nowhere", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert cors_of(response) == GRANT
    assert calls == ["GET /nowhere"]


@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
def test_flask_handles_a_raising_view_and_its_500_keeps_the_grant(
    flask_app: Flask, origin: str
) -> None:
    # Outside testing mode Flask turns the exception into its own 500 response, which
    # reaches the middleware through start_response like any other.
    response = flask_app.test_client().get("/raise", headers={"Origin": origin})
    assert response.status_code == 500
    assert b"Internal Server Error" in response.data
    assert cors_of(response) == (GRANT if origin == ORIGIN else {})
    assert response.headers.getlist("Vary") == ["Origin"]


def test_flask_testing_mode_propagates_the_views_exception(calls: list[str]) -> None:
    client = make_flask(calls, testing=True).test_client()
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/raise", headers={"Origin": ORIGIN})


@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
def test_raw_app_raising_gets_a_500_with_the_grant_then_reraises(origin: str) -> None:
    recorder = Recorder()
    result = CORSMiddleware(raising_app, **OPTIONS)(environ_for(ORIGIN=origin), recorder)
    [(status, headers, exc_info)] = recorder.calls
    assert status == "500 Internal Server Error"
    assert exc_info is not None
    assert isinstance(exc_info[1], LookupError)
    cors = [(k.lower(), v) for k, v in headers if k.lower().startswith("access-control-")]
    assert dict(cors) == (GRANT if origin == ORIGIN else {})
    assert ("Vary", "Origin") in [(k.title(), v) for k, v in headers]
    assert ("Content-Length", "21") in headers
    iterator = iter(result)
    # The server gets the whole body first, then the error to log.
    assert next(iterator) == b"Internal Server Error"
    with pytest.raises(LookupError, match="raw failure"):
        next(iterator)
    assert list(iterator) == []


def test_raw_app_raising_after_start_response_is_replaced_by_the_500() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        raise LookupError("late failure")

    recorder = Recorder()
    result = CORSMiddleware(app, **OPTIONS)(environ_for(ORIGIN=ORIGIN), recorder)
    assert [c[0] for c in recorder.calls] == ["200 OK", "500 Internal Server Error"]
    assert recorder.values("access-control-allow-origin") == [ORIGIN]
    assert recorder.values("content-type") == ["text/plain; charset=utf-8"]
    with pytest.raises(LookupError, match="late failure"):
        list(result)


def test_werkzeug_client_sees_the_apps_own_exception() -> None:
    # werkzeug's test client re-raises whatever exc_info start_response receives: what
    # reaches it must be the app's exception, with its traceback, not one of ours.
    client = Client(CORSMiddleware(raising_app, **OPTIONS))
    with pytest.raises(LookupError, match="raw failure") as caught:
        client.get("/", headers={"Origin": ORIGIN})
    assert caught.traceback[-1].name == "raising_app"


def test_werkzeug_client_gets_the_grant_on_a_500_from_a_buffered_app() -> None:
    def failing_500(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            raise LookupError("handled inside")
        except LookupError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"handled"]

    response = Client(CORSMiddleware(failing_500, **OPTIONS)).get("/", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.data == b"handled"
    assert cors_of(response) == GRANT


# --- streaming -----------------------------------------------------------------------------


def test_generator_body_is_returned_unconsumed() -> None:
    produced: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"a", b"b"):
            produced.append(chunk)
            yield chunk

    body = chunks()

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return body

    recorder = Recorder()
    result = CORSMiddleware(app, **OPTIONS)(environ_for(ORIGIN=ORIGIN), recorder)
    assert result is body
    assert produced == []
    assert recorder.values("access-control-allow-origin") == [ORIGIN]
    assert list(result) == [b"a", b"b"]


def test_start_response_called_lazily_by_a_generator_app_gets_the_grant() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"lazy"

    recorder = Recorder()
    result = CORSMiddleware(app, **OPTIONS)(environ_for(ORIGIN=ORIGIN), recorder)
    assert recorder.calls == []
    assert list(result) == [b"lazy"]
    assert recorder.values("access-control-allow-origin") == [ORIGIN]


def test_flask_streaming_response_keeps_its_chunks(flask_app: Flask) -> None:
    response = flask_app.test_client().get("/stream", headers={"Origin": ORIGIN}, buffered=False)
    assert list(response.iter_encoded()) == [b"one", b"two", b"three"]
    assert cors_of(response) == GRANT
    response.close()


# --- hostile and malformed input -----------------------------------------------------------

# Header values as a WSGI server presents them: the request bytes decoded as latin-1, and
# repeated headers joined with a comma (wsgiref, werkzeug) or comma-space (waitress).
BAD_ORIGINS: list[str] = [
    "",
    "null",
    "https://app.example.com/",
    "HTTPS://APP.EXAMPLE.COM",
    "https://app.example.com:443",
    " https://app.example.com",
    "https://app.example.com,https://app.example.com",
    "https://app.example.com, https://app.example.com",
    "https://app.example.com\r\nX-Injected: 1",
    "https://app.example.com\x00",
    "https://\x1b[31mred.example.com",
    "https://\xc3\xa9.example.com",
    "https://app.example.com\xff",
    "https://" + "a" * 8192 + ".example.com",
    "*",
]


def assert_logs_are_sanitised(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert message.isascii(), repr(message)
        assert message.isprintable(), repr(message)
        assert len(message) < 1000


def assert_not_reflected(recorder: Recorder, value: str) -> None:
    for name, header_value in recorder.headers:
        if value:
            assert value not in header_value, (name, header_value)


@pytest.mark.parametrize("origin", BAD_ORIGINS)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_malformed_origins_are_refused_and_never_reflected(
    origin: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    calls: list[str] = []
    environ = environ_for(method, ORIGIN=origin)
    if method == "OPTIONS":
        environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = "PUT"
    recorder, body = call_raw(CORSMiddleware(CountCalls(ok_app, calls), **OPTIONS), environ)
    assert recorder.cors() == []
    assert recorder.values("vary") == ["Origin"]
    assert_not_reflected(recorder, origin)
    if method == "OPTIONS":
        assert recorder.status == "403 Forbidden"
        assert calls == []
    else:
        assert body == b"ok"
        assert calls == ["GET /"]
    assert_logs_are_sanitised(caplog)


@pytest.mark.parametrize(
    "request_method", ["", "PUT, DELETE", "PU T", "PUT\r\nX: 1", "P\x00T", "\xc3\xa9"]
)
def test_request_method_that_is_not_a_token_is_refused(
    request_method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    environ = environ_for("OPTIONS", ORIGIN=ORIGIN, ACCESS_CONTROL_REQUEST_METHOD=request_method)
    recorder, _ = call_raw(
        CORSMiddleware(ok_app, allow_origins=[ORIGIN], allow_methods="*"), environ
    )
    assert recorder.status == "403 Forbidden"
    assert recorder.cors() == []
    assert_not_reflected(recorder, request_method)
    assert_logs_are_sanitised(caplog)


def test_huge_request_headers_list_is_refused_and_truncated_in_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    huge = ",".join(f"x-h{i}" for i in range(20_000))[: 100 * 1024]
    environ = environ_for(
        "OPTIONS",
        ORIGIN=ORIGIN,
        ACCESS_CONTROL_REQUEST_METHOD="PUT",
        ACCESS_CONTROL_REQUEST_HEADERS=huge,
    )
    recorder, _ = call_raw(CORSMiddleware(ok_app, **OPTIONS), environ)
    assert recorder.status == "403 Forbidden"
    assert recorder.cors() == []
    assert_logs_are_sanitised(caplog)
    assert any("chars)" in r.getMessage() for r in caplog.records)


def test_refusal_log_never_carries_raw_control_characters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    origin = "https://evil.example.net\r\nSet-Cookie: a=b\x00\x1b\x7f\xff"
    path = "/p\r\nath\x00" + "x" * 500
    middleware = CORSMiddleware(ok_app, **OPTIONS)
    call_raw(middleware, environ_for("GET", path, ORIGIN=origin))
    call_raw(
        middleware, environ_for("OPTIONS", path, ORIGIN=origin, ACCESS_CONTROL_REQUEST_METHOD="GET")
    )
    records = [r for r in caplog.records if r.name == "crossorigin"]
    assert len(records) == 2
    for record in records:
        message = record.getMessage()
        for raw in "\r\n\x00\x1b\x7f\xff":
            assert raw not in message
        assert "origin 'https://evil.example.net\\r\\nSet-Cookie" in message
    assert_logs_are_sanitised(caplog)


def test_flask_repeated_origin_header_is_refused(flask_app: Flask, calls: list[str]) -> None:
    client = flask_app.test_client()
    response = client.get("/", headers=[("Origin", ORIGIN), ("Origin", ORIGIN)])
    assert response.status_code == 200
    assert cors_of(response) == {}
    assert calls == ["GET /"]


# --- configuration -------------------------------------------------------------------------


def test_policy_object_is_accepted() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    middleware = CORSMiddleware(ok_app, policy=policy)
    assert middleware.policy is policy
    recorder, _ = call_raw(middleware, environ_for(ORIGIN=ORIGIN))
    assert recorder.cors() == [("access-control-allow-origin", ORIGIN)]


def test_policy_and_options_together_raise() -> None:
    with pytest.raises(ConfigError, match="both given"):
        CORSMiddleware(ok_app, policy=CORSPolicy(allow_origins=[ORIGIN]), allow_origins=[ORIGIN])


def test_unknown_option_raises_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'allow_credentials'"):
        CORSMiddleware(ok_app, allow_origins=[ORIGIN], allow_credential=True)


def test_exc_info_is_the_live_exception() -> None:
    # The triple handed to start_response must describe the app's error, as PEP 3333 asks.
    recorder = Recorder()
    CORSMiddleware(raising_app, **OPTIONS)(environ_for(), recorder)
    exc_type, exc_value, traceback = recorder.calls[0][2]
    assert exc_type is LookupError
    assert traceback is exc_value.__traceback__
    assert sys.exc_info() == (None, None, None)


_latin1 = st.text(st.characters(max_codepoint=255), max_size=200)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "OPTIONS", "PUT"]),
    origin=st.none() | _latin1 | st.just(ORIGIN),
    request_method=st.none() | _latin1 | st.sampled_from(["PUT", "PATCH"]),
    request_headers=st.none() | _latin1 | st.just("x-token"),
    private_network=st.none() | _latin1 | st.just("true"),
)
def test_arbitrary_environ_values_never_raise_nor_leak(
    method: str,
    origin: str | None,
    request_method: str | None,
    request_headers: str | None,
    private_network: str | None,
) -> None:
    environ = environ_for(method)
    for key, value in (
        ("HTTP_ORIGIN", origin),
        ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", request_method),
        ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", request_headers),
        ("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", private_network),
    ):
        if value is not None:
            environ[key] = value
    recorder, _ = call_raw(CORSMiddleware(ok_app, **OPTIONS), environ)
    assert recorder.status in ("200 OK", "204 No Content", "403 Forbidden")
    granted = recorder.values("access-control-allow-origin")
    assert granted in ([], [ORIGIN])
    if granted:
        assert origin == ORIGIN
    for name, value in recorder.headers:
        assert "\r" not in value, (name, value)
        assert "\n" not in value, (name, value)
    assert len(recorder.values("vary")) == 1


# --- preflight passthrough (Express's preflightContinue, Flask-CORS automatic_options=False) ---


def passthrough_flask(seen: list[str], **options: Any) -> Flask:
    app = Flask(__name__)

    @app.route("/items", methods=["OPTIONS", "PUT"])
    def items() -> Response:
        seen.append(request.method)
        if request.method == "OPTIONS":
            return Response("app's own preflight answer", headers={"Vary": "Cookie"})
        return Response("put")

    app.wsgi_app = CORSMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, preflight_passthrough=True, **(options or OPTIONS)
    )
    return app


def test_preflight_passthrough_through_flask(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    seen: list[str] = []
    client = passthrough_flask(seen).test_client()
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    allowed = client.options("/items", headers=asked)
    assert (allowed.status_code, allowed.text) == (200, "app's own preflight answer")
    assert cors_of(allowed) == PREFLIGHT_GRANT
    assert allowed.headers.getlist("Vary") == ["Cookie, Origin"]
    refused = client.options("/items", headers={**asked, "Origin": OTHER})
    assert (refused.status_code, refused.text) == (200, "app's own preflight answer")
    assert cors_of(refused) == {}
    assert refused.headers.getlist("Vary") == ["Cookie, Origin"]
    assert [r.getMessage() for r in caplog.records if r.name == "crossorigin"] == [
        "refused preflight 'OPTIONS' '/items': origin 'https://evil.example.net' is not allowed"
    ]
    put = client.put("/items", headers={"Origin": ORIGIN})
    assert (put.text, cors_of(put)) == ("put", GRANT)
    assert seen == ["OPTIONS", "OPTIONS", "PUT"]


def test_preflight_passthrough_keeps_the_grant_on_an_app_failure() -> None:
    def failing(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise LookupError("preflight handler failed")

    app = CORSMiddleware(failing, preflight_passthrough=True, **OPTIONS)
    recorder = Recorder()
    result = app(
        environ_for("OPTIONS", ORIGIN=ORIGIN, ACCESS_CONTROL_REQUEST_METHOD="PUT"), recorder
    )
    [(status, headers, _)] = recorder.calls
    assert status == "500 Internal Server Error"
    cors = {k.lower(): v for k, v in headers if k.lower().startswith("access-control-")}
    assert cors == PREFLIGHT_GRANT
    iterator = iter(result)
    assert next(iterator) == b"Internal Server Error"
    with pytest.raises(LookupError, match="preflight handler failed"):
        next(iterator)


def test_preflight_passthrough_under_routes_and_odd_paths() -> None:
    seen: list[str] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]

    middleware = CORSMiddleware(
        app, routes=[("/api/*", CORSPolicy(**OPTIONS))], preflight_passthrough=True
    )
    client = Client(middleware)
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    assert cors_of(client.options("/api/x", headers=asked)) == PREFLIGHT_GRANT
    odd = client.options("/api//x", headers=asked)
    assert (odd.status_code, odd.text, cors_of(odd)) == (200, "app", {})
    assert seen == ["/api/x", "/api//x"]
