"""HTTP tokens and the Fetch standard's name lists."""

from __future__ import annotations

import pytest

from crossorigin.tokens import (
    FORBIDDEN_METHODS,
    NORMALIZED_METHODS,
    SAFELISTED_METHODS,
    SAFELISTED_RESPONSE_HEADERS,
    is_forbidden_request_header,
    is_token,
    split_header_list,
)


@pytest.mark.parametrize(
    "value", ["GET", "X-Request-Id", "x_custom.header", "*", "!#$%&'*+-.^_`|~", "a1"]
)
def test_tokens(value: str) -> None:
    assert is_token(value)


@pytest.mark.parametrize(
    "value",
    ["", " ", "X Foo", "X-Foo:", "a,b", "a;b", '"a"', "(a)", "a/b", "a=b", "a\tb", "a\r\n", "Ä"],
)
def test_non_tokens(value: str) -> None:
    assert not is_token(value)


@pytest.mark.parametrize(
    "name",
    [
        "Cookie",
        "cookie",
        "COOKIE2",
        "Host",
        "Origin",
        "Content-Length",
        "Access-Control-Request-Headers",
        "Sec-Fetch-Mode",
        "sec-ch-ua",
        "Proxy-Authorization",
        "proxy-anything",
    ],
)
def test_forbidden_request_headers(name: str) -> None:
    assert is_forbidden_request_header(name)


@pytest.mark.parametrize(
    "name", ["Authorization", "Content-Type", "X-Sec-Token", "Secret", "Proxied-By", "sec"]
)
def test_headers_scripts_may_set(name: str) -> None:
    assert not is_forbidden_request_header(name)


@pytest.mark.parametrize(
    ("value", "elements"),
    [
        ("", []),
        (",,, ,", []),
        ("x-a", ["x-a"]),
        (" X-A ,, x-b,", ["X-A", "x-b"]),
        ("\tx-a\t,\tx-b", ["x-a", "x-b"]),
        ("content-type,x-api-key", ["content-type", "x-api-key"]),
    ],
)
def test_split_header_list(value: str, elements: list[str]) -> None:
    assert split_header_list(value) == elements


def test_name_lists_match_fetch() -> None:
    assert {"GET", "HEAD", "POST"} == SAFELISTED_METHODS
    assert {"CONNECT", "TRACE", "TRACK"} == FORBIDDEN_METHODS
    assert {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"} == NORMALIZED_METHODS
    assert "PATCH" not in NORMALIZED_METHODS  # fetch() sends "patch" as written
    assert "set-cookie" not in SAFELISTED_RESPONSE_HEADERS
    assert "content-type" in SAFELISTED_RESPONSE_HEADERS
