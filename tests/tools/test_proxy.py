"""``crossorigin proxy`` without a network: options, TOML policies, target and header rewriting."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossorigin import ConfigError, CORSPolicy
from crossorigin.tools.proxy.config import (
    Settings,
    SetupError,
    Upstream,
    build_policy,
    parse_upstream,
    rules_from_toml,
)
from crossorigin.tools.proxy.console import format_line
from crossorigin.tools.proxy.forward import BadTarget, ProxyApp, target_path
from crossorigin.tools.proxy.server import describe_policy

from .proxy_servers import proxy_settings

UPSTREAM = "http://10.0.0.5:9000"


def _app(upstream: str = UPSTREAM) -> ProxyApp:
    policy = CORSPolicy(allow_origins=["http://localhost:5173"])
    return ProxyApp(Settings(parse_upstream(upstream), policy, None))


# --- options -----------------------------------------------------------------------------------


def test_upstream_parsing() -> None:
    assert parse_upstream("HTTP://API.Example.com:8443/v1/") == Upstream(
        "http", "api.example.com", 8443, "/v1"
    )
    assert parse_upstream("https://[::1]").netloc == "[::1]"
    assert parse_upstream("https://[::1]").hostname == "::1"
    assert parse_upstream("http://a.example:80").url == "http://a.example"
    for bad in ("a.example", "http://a.example/../x", "http://a.example:99999", "ws://a"):
        with pytest.raises(SetupError):
            parse_upstream(bad)


def test_options_before_the_first_path_are_the_policy_of_every_other_path() -> None:
    settings = proxy_settings(
        [
            UPSTREAM,
            "--allow-origin", "https://app.example.com",
            "--allow-credentials",
            "--allow-method", "PUT",
            "--allow-method", "DELETE",
            "--path", "/public/*",
            "--allow-origin", "*",
            "--max-age", "600",
        ]
    )  # fmt: skip
    assert settings.policy is None
    assert settings.routes is not None
    public = settings.policy_for("/public/x")
    default = settings.policy_for("/private")
    assert public is not None
    assert default is not None
    assert public.allow_origins == ("*",)
    assert public.max_age == 600
    assert not public.allow_credentials
    assert default.allow_credentials
    assert default.allow_methods == ("PUT", "DELETE")


def test_single_policy_without_paths() -> None:
    settings = proxy_settings([UPSTREAM, "--allow-origin", "http://localhost:*"])
    assert settings.routes is None
    assert settings.policy is not None
    assert settings.policy.is_origin_allowed("http://localhost:5173")


def test_every_problem_of_every_rule_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        build_policy(
            [
                (None, {"allow_origins": ["https://a.example/"]}),
                ("/x/*", {"allow_origins": ["*"], "allow_credentials": True}),
                ("/y", {"allow_origin": ["https://b.example"]}),
            ]
        )
    text = str(error.value)
    assert "(3 problems)" in text
    assert "(every other path)" in text
    assert "(path /x/*)" in text
    assert "did you mean 'allow_origins'?" in text


def test_config_and_policy_options_together_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "cors.toml"
    config.write_text('allow_origins = ["https://a.example"]\n')
    with pytest.raises(SetupError, match="both given"):
        proxy_settings([UPSTREAM, "--config", str(config), "--allow-origin", "https://b.example"])


def test_toml_policy_with_paths(tmp_path: Path) -> None:
    config = tmp_path / "cors.toml"
    config.write_text(
        """
allow_origins = ["https://app.example.com", "https://*.staging.example.com"]
allow_credentials = true
allow_methods = ["GET", "POST", "PUT"]
allow_headers = ["Authorization", "Content-Type"]
expose_headers = ["X-Request-Id"]
max_age = 600

[[paths]]
path = "/public/*"
allow_origins = ["*"]

[[paths]]
path = "/health"
allow_origins = ["https://status.example.com"]
"""
    )
    settings = proxy_settings([UPSTREAM, "--config", str(config)])
    assert settings.routes is not None
    assert [pattern for pattern, _ in settings.routes.rules] == ["/public/*", "/health", "/*"]
    default = settings.policy_for("/api/items")
    assert default is not None
    assert default.is_origin_allowed("https://pr-1.staging.example.com")
    assert default.max_age == 600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("allow_origins = [", "is not valid TOML"),
        ("", "holds no policy"),
        ("paths = 3", "must be an array of tables"),
        ('[[paths]]\nallow_origins = ["*"]', "needs path ="),
    ],
)
def test_toml_mistakes(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "cors.toml"
    config.write_text(text)
    with pytest.raises(SetupError, match=message):
        rules_from_toml(config)
    with pytest.raises(SetupError, match="cannot read"):
        rules_from_toml(tmp_path / "missing.toml")


def test_toml_policy_errors_are_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "cors.toml"
    config.write_text('allow_origins = ["*"]\nallow_credentials = true\nmax_age = -1\n')
    with pytest.raises(ConfigError, match=r"\(2 problems\)"):
        proxy_settings([UPSTREAM, "--config", str(config)])


# --- the request target ------------------------------------------------------------------------


def _scope(raw_path: bytes, query: bytes = b"") -> dict[str, object]:
    return {"type": "http", "path": "", "raw_path": raw_path, "query_string": query}


def test_target_path() -> None:
    assert target_path(_scope(b"/a/b", b"x=1&y")) == b"/a/b?x=1&y"
    assert target_path(_scope(b"/caf\xc3\xa9 x", b"q=\xff")) == b"/caf%C3%A9%20x?q=%FF"
    for bad in (b"http://evil.example/", b"evil.example", b"/a/../b", b"/%2E%2e/x", b"/.", b"\\x"):
        with pytest.raises(BadTarget):
            target_path(_scope(bad))


@given(st.binary(max_size=60), st.binary(max_size=20))
def test_no_request_target_reaches_another_host(raw: bytes, query: bytes) -> None:
    app = _app(UPSTREAM + "/base")
    try:
        target = target_path(_scope(raw, query))
    except BadTarget:
        return
    url = app.upstream_url(target)
    assert (url.host, url.port, url.scheme) == ("10.0.0.5", 9000, "http")
    assert url.raw_path.startswith(b"/base/")
    assert b".." not in url.raw_path.split(b"?")[0].split(b"/")


# --- response rewriting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://10.0.0.5:9000/v1/login?next=/x", "/login?next=/x"),
        ("//10.0.0.5:9000/v1/a#frag", "/a#frag"),
        ("/v1/login", "/login"),
        ("/v1", "/"),
        ("/other", "/other"),  # outside the proxied base path: unchanged
        ("http://10.0.0.5:9000/other", "http://10.0.0.5:9000/other"),
        ("https://10.0.0.5:9000/v1/a", "https://10.0.0.5:9000/v1/a"),
        ("http://10.0.0.5/v1/a", "http://10.0.0.5/v1/a"),  # another port
        ("http://sso.example/login", "http://sso.example/login"),
        ("relative/path", "relative/path"),
        ("http://10.0.0.5:9000/v1//evil.example/x", "/.//evil.example/x"),
        ("http://10.0.0.5:9000/v1/\\evil.example", "/./\\evil.example"),
        ("http://[bad", "http://[bad"),
    ],
)
def test_location_rewrite(location: str, expected: str) -> None:
    assert _app(UPSTREAM + "/v1").rewrite_location(location) == expected


@given(st.text(max_size=40))
def test_a_rewritten_location_never_leaves_the_proxy(path: str) -> None:
    location = "http://10.0.0.5:9000/v1" + path
    rewritten = _app(UPSTREAM + "/v1").rewrite_location(location)
    if rewritten == location:
        return
    # Browsers read "\" as "/" in http(s) URLs: resolve as they would.
    resolved = urljoin("http://proxy.test:8080/page", rewritten.replace("\\", "/"))
    assert urlsplit(resolved).netloc == "proxy.test:8080"


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("a=1; Domain=10.0.0.5; Path=/v1/x", "a=1; Path=/x"),
        ("a=1; domain=.10.0.0.5; Secure", "a=1; Secure"),
        ("a=1; Domain=example.org", "a=1; Domain=example.org"),
        ("a=1; Path=/v1", "a=1; Path=/"),
        ("a=1; Path=/elsewhere", "a=1; Path=/elsewhere"),
        ("a=1", "a=1"),
    ],
)
def test_set_cookie_rewrite(cookie: str, expected: str) -> None:
    assert _app(UPSTREAM + "/v1").rewrite_set_cookie(cookie) == expected


def test_parent_domain_cookie_becomes_the_proxys() -> None:
    app = _app("https://api.partner.example")
    assert app.rewrite_set_cookie("s=1; Domain=partner.example; Secure") == "s=1; Secure"
    assert app.rewrite_set_cookie("s=1; Domain=ner.example") == "s=1; Domain=ner.example"


def test_response_headers() -> None:
    headers = _app().response_headers(
        [
            (b"Content-Type", b"text/plain"),
            (b"Access-Control-Allow-Origin", b"*"),
            (b"access-control-expose-headers", b"X"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Connection", b"close, X-Secret"),
            (b"X-Secret", b"1"),
            (b"Keep-Alive", b"timeout=5"),
            (b"Location", b"http://10.0.0.5:9000/next"),
        ]
    )
    assert headers == [(b"content-type", b"text/plain"), (b"location", b"/next")]


# --- the terminal ------------------------------------------------------------------------------


@given(st.text(max_size=300), st.text(max_size=30))
def test_log_lines_carry_no_control_characters(path: str, method: str) -> None:
    parts = format_line(method, path, 200, 0.01, ("green", "CORS ok"), "")
    line = "".join(text for text, _ in parts)
    assert line.isprintable()
    assert len(line) < 300


def test_log_line_shape() -> None:
    parts = format_line("GET", "/api/items?x=1", 404, 0.0123, ("bold red", "CORS refused"), "n")
    line = "".join(text for text, _ in parts)
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d GET {5}/api/items\?x=1 404 12\.3 ms CORS refused · n", line
    )


def test_the_url_memo_stays_bounded() -> None:
    app = _app()
    for index in range(3000):
        url = app.upstream_url(b"/items/%d" % index)
        assert url.raw_path == b"/items/%d" % index
    app.upstream_url(b"/" + b"x" * 5000)  # too long to keep
    assert 0 < len(app._urls) <= 1024
    assert app.upstream_url(b"/items/2999") is app.upstream_url(b"/items/2999")


def test_the_dangerous_and_the_regex_options() -> None:
    settings = proxy_settings(
        [UPSTREAM, "--dangerously-reflect-any-origin", "--allow-header-regex", "x-company-.*"]
    )
    policy = settings.policy
    assert policy is not None
    assert policy.dangerously_reflect_any_origin
    assert policy.is_origin_allowed("https://anyone.example")
    preflight = policy.decide("OPTIONS", "https://anyone.example", "GET", "x-company-id")
    assert preflight.allowed
    assert "EVERY origin" in describe_policy(policy)
    assert "header regex x-company-.*" in describe_policy(policy)
