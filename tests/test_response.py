"""merge_response_headers (bytes for ASGI, str for WSGI) and refusal logging."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from crossorigin import CORSPolicy
from crossorigin.response import log_refusal, merge_response_headers

# Every case runs on bytes (ASGI) and str (WSGI) pairs.
KINDS = [pytest.param(lambda s: s.encode("latin-1"), id="bytes"), pytest.param(str, id="str")]


def convert(enc: Any, pairs: list[tuple[str, str]]) -> list[Any]:
    return [(enc(name), enc(value)) for name, value in pairs]


def vary_values(enc: Any, merged: list[Any]) -> list[Any]:
    return [value for name, value in merged if name.lower() == enc("vary")]


@pytest.mark.parametrize("enc", KINDS)
def test_app_access_control_headers_are_replaced_by_ours(enc: Any) -> None:
    app = convert(
        enc,
        [
            ("Content-Type", "text/plain"),
            ("Access-Control-Allow-Origin", "*"),
            ("ACCESS-CONTROL-ALLOW-CREDENTIALS", "true"),
            ("access-control-expose-headers", "X-Secret"),
            ("X-Other", "1"),
        ],
    )
    ours = convert(enc, [("access-control-allow-origin", "https://a.com")])
    merged = merge_response_headers(app, ours, enc(""))
    assert merged == convert(
        enc,
        [
            ("Content-Type", "text/plain"),
            ("X-Other", "1"),
            ("access-control-allow-origin", "https://a.com"),
        ],
    )


@pytest.mark.parametrize("enc", KINDS)
def test_refusal_strips_the_apps_grant(enc: Any) -> None:
    app = convert(enc, [("Access-Control-Allow-Origin", "*"), ("X-A", "1")])
    merged = merge_response_headers(app, [], enc("Origin"))
    assert merged == convert(enc, [("X-A", "1"), ("vary", "Origin")])


@pytest.mark.parametrize("enc", KINDS)
@pytest.mark.parametrize(
    ("app_vary", "expected"),
    [
        ([], "Origin"),
        (["Accept-Encoding"], "Accept-Encoding, Origin"),
        (["origin"], "origin"),
        (["Accept-Encoding, ORIGIN"], "Accept-Encoding, ORIGIN"),
        (["Accept-Encoding", "Cookie"], "Accept-Encoding, Cookie, Origin"),
        (["Accept-Encoding,, ,Cookie ,accept-encoding"], "Accept-Encoding, Cookie, Origin"),
        (["*"], "*"),
        (["Accept-Encoding", "*"], "*"),
        ([""], "Origin"),
    ],
)
def test_vary_merged_once_without_duplicates(enc: Any, app_vary: list[str], expected: str) -> None:
    app = [(enc("Content-Type"), enc("text/plain"))]
    # Alternate spellings: the app's Vary headers are found case-insensitively.
    app += [(enc("Vary" if i % 2 else "vary"), enc(value)) for i, value in enumerate(app_vary)]
    merged = merge_response_headers(app, [], enc("Origin"))
    assert vary_values(enc, merged) == [enc(expected)]
    assert merged[0] == (enc("Content-Type"), enc("text/plain"))


@pytest.mark.parametrize("enc", KINDS)
def test_two_vary_tokens_of_ours_merge_individually(enc: Any) -> None:
    app = convert(enc, [("Vary", "Origin")])
    merged = merge_response_headers(app, [], enc("Origin, Access-Control-Request-Headers"))
    assert vary_values(enc, merged) == [enc("Origin, Access-Control-Request-Headers")]


@pytest.mark.parametrize("enc", KINDS)
def test_without_vary_of_ours_the_apps_vary_headers_are_untouched(enc: Any) -> None:
    app = convert(enc, [("Vary", "Accept-Encoding"), ("VARY", "Cookie"), ("X-A", "1")])
    merged = merge_response_headers(app, [], enc(""))
    assert merged == convert(enc, [("X-A", "1"), ("Vary", "Accept-Encoding"), ("VARY", "Cookie")])


@pytest.mark.parametrize("enc", KINDS)
def test_works_with_decisions_from_a_policy(enc: Any) -> None:
    policy = CORSPolicy(allow_origins=["https://a.com"], allow_credentials=True)
    decision = policy.decide("GET", "https://a.com")
    pairs = decision.headers if enc is not str else decision.str_headers
    vary = decision.vary if enc is not str else decision.vary.decode("latin-1")
    merged = merge_response_headers(convert(enc, [("Vary", "Cookie")]), pairs, vary)
    assert dict(merged) == {
        enc("access-control-allow-origin"): enc("https://a.com"),
        enc("access-control-allow-credentials"): enc("true"),
        enc("vary"): enc("Cookie, Origin"),
    }


def test_refusals_are_logged_sanitised_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    policy = CORSPolicy(allow_origins=["https://a.com"])
    decision = policy.decide("GET", "https://evil.com\r\nSet-Cookie: a=b")
    with caplog.at_level(logging.INFO, logger="crossorigin"):
        log_refusal(decision, "GET", "/x")
    assert caplog.records == []
    with caplog.at_level(logging.DEBUG, logger="crossorigin"):
        log_refusal(decision, "GET\n", "/api\r\n" + "p" * 1000)
    (record,) = caplog.records
    message = record.getMessage()
    assert "\r" not in message
    assert "\n" not in message
    assert "origin 'https://evil.com\\r\\nSet-Cookie: a=b' is not allowed" in message
    assert "(1006 chars)" in message
    assert len(message) < 400
