"""Origins: the strict request parser, the configuration parser and the compiled matcher."""

from __future__ import annotations

import re

import pytest

from crossorigin import ConfigError, CORSPolicy, Problem
from crossorigin.origins import (
    ExactOrigin,
    OriginEntry,
    OriginMatcher,
    ParsedOrigin,
    PortWildcard,
    SubdomainPattern,
    parse_config_origin,
    parse_request_origin,
    serialize,
)

# --- parse_request_origin: only what a browser sends --------------------------------------


@pytest.mark.parametrize(
    ("origin", "parsed"),
    [
        ("https://a.com", ParsedOrigin("https", "a.com", None)),
        ("http://localhost:8080", ParsedOrigin("http", "localhost", 8080)),
        ("http://127.0.0.1:5000", ParsedOrigin("http", "127.0.0.1", 5000)),
        ("http://[::1]:3000", ParsedOrigin("http", "[::1]", 3000)),
        ("http://[::1]", ParsedOrigin("http", "[::1]", None)),
        ("https://xn--bcher-kva.example", ParsedOrigin("https", "xn--bcher-kva.example", None)),
        ("https://a_b.example.com", ParsedOrigin("https", "a_b.example.com", None)),
        ("https://a.com:65535", ParsedOrigin("https", "a.com", 65535)),
        ("https://a.com:80", ParsedOrigin("https", "a.com", 80)),
        ("chrome-extension://abcdef", ParsedOrigin("chrome-extension", "abcdef", None)),
    ],
)
def test_parse_request_origin(origin: str, parsed: ParsedOrigin) -> None:
    assert parse_request_origin(origin) == parsed


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "null",
        "https://",
        "https:/a.com",
        "//a.com",
        "a.com",
        "1https://a.com",
        "HTTPS://a.com",
        "https://A.com",
        "https://a.com/",
        "https://a.com/path",
        "https://a.com?q",
        "https://a.com#f",
        "https://user@a.com",
        "https://a.com:443",
        "http://a.com:80",
        "wss://a.com:443",
        "https://a.com:0",
        "https://a.com:08080",
        "https://a.com:65536",
        "https://a.com:123456",
        "https://a.com:",
        "https://a.com:-1",
        "https://a.com.",
        "https://a..com",
        "https://.a.com",
        "https://" + "a" * 64 + ".com",
        "https://" + "a." * 127 + "com",
        "https://bücher.example",
        "https://a.com, https://b.com",
        " https://a.com",
        "https://a.com ",
        "https://a.com\r\nX: y",
        "https://[::1",
        "https://[]",
        "https://[::1]x",
        "https://[::1]:",
        "https://[::g]",
        "https://::1",
    ],
)
def test_parse_request_origin_refuses_what_browsers_never_send(origin: str) -> None:
    assert parse_request_origin(origin) is None


def test_hostname_length_limit_is_inclusive() -> None:
    host = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(host) == 253
    assert parse_request_origin(f"https://{host}") is not None
    assert parse_request_origin(f"https://{host}b") is None


# --- parse_config_origin: strict, normalising, explaining ---------------------------------


def parse_ok(entry: object) -> OriginEntry:
    problems: list[Problem] = []
    parsed = parse_config_origin(entry, problems)
    assert problems == []
    assert parsed is not None
    return parsed


def parse_bad(entry: object) -> Problem:
    problems: list[Problem] = []
    assert parse_config_origin(entry, problems) is None
    (problem,) = problems
    assert problem.option == "allow_origins"
    assert problem.value == entry
    assert problem.fix
    return problem


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("https://a.com", ExactOrigin("https://a.com")),
        ("HTTPS://App.Example.COM", ExactOrigin("https://app.example.com")),
        ("https://a.com:443", ExactOrigin("https://a.com")),
        ("http://a.com:80", ExactOrigin("http://a.com")),
        ("https://a.com:80", ExactOrigin("https://a.com:80")),
        ("wss://a.com:443", ExactOrigin("wss://a.com")),
        ("http://localhost:8080", ExactOrigin("http://localhost:8080")),
        ("http://[::1]:8080", ExactOrigin("http://[::1]:8080")),
        ("http://[::ABCD]", ExactOrigin("http://[::abcd]")),
        ("https://*.example.com", SubdomainPattern("https", "example.com", None, False)),
        ("https://*.Example.com:443", SubdomainPattern("https", "example.com", None, False)),
        ("https://*.example.com:8443", SubdomainPattern("https", "example.com", 8443, False)),
        ("https://*.example.com:*", SubdomainPattern("https", "example.com", None, True)),
        ("http://*.localhost", SubdomainPattern("http", "localhost", None, False)),
        ("https://*.app.github.io", SubdomainPattern("https", "app.github.io", None, False)),
        ("http://localhost:*", PortWildcard("http", "localhost")),
        ("http://127.0.0.1:*", PortWildcard("http", "127.0.0.1")),
        ("http://[::1]:*", PortWildcard("http", "[::1]")),
    ],
)
def test_parse_config_origin(entry: str, parsed: OriginEntry) -> None:
    assert parse_ok(entry) == parsed


@pytest.mark.parametrize(
    ("entry", "message", "fix"),
    [
        (5, "must be a string", "as strings"),
        (b"https://a.com", "must be a string", "as strings"),
        (" https://a.com", "whitespace", "'https://a.com'"),
        ("https://a.com\n", "whitespace", "'https://a.com'"),
        ("https://a .com", "whitespace", "without whitespace"),
        ("https://bücher.example", "punycode", "'https://xn--bcher-kva.example'"),
        ("https://bücher.example:8443", "punycode", "'https://xn--bcher-kva.example:8443'"),
        ("https://BÜCHER.example", "punycode", "'https://xn--bcher-kva.example'"),
        ("a.com", "no scheme", "'https://a.com'"),
        ("localhost:3000", "no scheme", "'https://localhost:3000'"),
        ("://a.com", "invalid scheme", "scheme like"),
        ("1http://a.com", "invalid scheme", "scheme like"),
        ("https://a.com/", "ends with a slash", "'https://a.com'"),
        ("https://a.com/app", "a path", "'https://a.com'"),
        ("https://a.com:8080/app/", "a path", "'https://a.com:8080'"),
        ("https://a.com?x=1", "a query", "'https://a.com'"),
        ("https://a.com#top", "a fragment", "'https://a.com'"),
        ("https://user@a.com", "userinfo", "'https://a.com'"),
        ("https://user:pw@a.com:8443", "userinfo", "'https://a.com:8443'"),
        ("https://", "malformed host", "scheme://host"),
        ("https://:8080", "malformed host", "scheme://host"),
        ("http://::1", "malformed host", "brackets"),
        ("http://[::1", "malformed host", "brackets"),
        ("http://[::1]8080", "malformed host", "brackets"),
        ("http://[zz]", "malformed IPv6", "[::1]"),
        ("https://a.com:0", "invalid port", "between 1 and 65535"),
        ("https://a.com:65536", "invalid port", "between 1 and 65535"),
        ("https://a.com:abc", "invalid port", "between 1 and 65535"),
        ("https://a.com:", "invalid port", "between 1 and 65535"),
        ("https://a.com:-1", "invalid port", "between 1 and 65535"),
        ("https://a.com.", "invalid host name", "trailing dot"),
        ("https://a..com", "invalid host name", "trailing dot"),
        ("https://a$b.com", "invalid host name", "letters, digits"),
        ("https://*", "every host", "'https://*.example.com'"),
        ("https://*:*", "every host", "'https://*.example.com'"),
        ("https://*.com", "top-level domain", "'https://*.example.com'"),
        ("https://*.dev", "top-level domain", "'https://*.example.dev'"),
        ("https://a.*.com", "leftmost label", "'https://*.example.com'"),
        ("https://*a.example.com", "leftmost label", "'https://*.example.com'"),
        ("https://*.*.example.com", "leftmost label", "'https://*.example.com'"),
        ("https://app.*", "leftmost label", "'https://*.example.com'"),
        ("https://*.github.io", "public suffix", "'https://yourapp.github.io'"),
        ("https://*.co.uk", "public suffix", "'https://yourapp.co.uk'"),
        ("https://*.herokuapp.com", "public suffix", "'https://yourapp.herokuapp.com'"),
        ("https://*.vercel.app:*", "public suffix", "'https://yourapp.vercel.app'"),
        ("https://*.10.0.0", "IP addresses", "exact origins"),
        ("https://*..com", "invalid domain", "'https://*.example.com'"),
        ("https://*.example.com.", "invalid domain", "'https://*.example.com'"),
    ],
)
def test_parse_config_origin_problems(entry: object, message: str, fix: str) -> None:
    problem = parse_bad(entry)
    assert message in problem.message
    assert fix in problem.fix


@pytest.mark.parametrize(
    ("entry", "kind", "suggested"),
    [
        ("https://a.com?x/y", "a query", "https://a.com"),
        ("https://a.com#f/x", "a fragment", "https://a.com"),
        ("https://a.com#f?x", "a fragment", "https://a.com"),
        ("https://user@a.com/", "slash", "https://a.com"),
        ("https://user:pw@a.com:8443/app", "a path", "https://a.com:8443"),
    ],
)
def test_fix_for_a_url_names_the_origin_before_the_first_delimiter(
    entry: str, kind: str, suggested: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(allow_origins=[entry])
    (problem,) = caught.value.problems
    assert kind in problem.message
    assert problem.fix == f"write {suggested!r}"
    assert CORSPolicy(allow_origins=[suggested]).is_origin_allowed(suggested)


@pytest.mark.parametrize(
    "entry",
    ["https://a.com\x00", "https://\u00fc.com\x7f", "https://a\u00a0b.com", "https://\u00fc.com/"],
)
def test_no_punycode_hint_that_would_itself_be_refused(entry: str) -> None:
    problem = parse_bad(entry)
    assert "non-ASCII or control" in problem.message
    assert problem.fix == "write the ASCII (punycode) form of the origin"


def test_serialize() -> None:
    assert serialize("https", "a.com", None) == "https://a.com"
    assert serialize("http", "[::1]", 8080) == "http://[::1]:8080"


# --- OriginMatcher ---------------------------------------------------------------------------

EXAMPLE = SubdomainPattern("https", "example.com", None, False)


@pytest.mark.parametrize(
    ("origin", "matches"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://x-1.example.com", True),
        ("https://example.com", False),  # the bare domain is not a subdomain
        ("https://.example.com", False),
        ("http://a.example.com", False),  # another scheme
        ("https://a.example.com:8443", False),  # another port
        ("https://a.example.com:443", False),  # browsers never send the default port
        ("https://aexample.com", False),
        ("https://evil-example.com", False),
        ("https://a.example.com.evil.com", False),
        ("https://a.example.co", False),
        ("https://A.example.com", False),
        ("https://a.example.com/", False),
        ("https://a.example.com.", False),
        ("https://[::1]", False),
        ("null", False),
    ],
)
def test_subdomain_pattern(origin: str, matches: bool) -> None:
    assert OriginMatcher([EXAMPLE], [], None).matches(origin) is matches


def test_subdomain_pattern_with_port() -> None:
    matcher = OriginMatcher([SubdomainPattern("https", "example.com", 8443, False)], [], None)
    assert matcher.matches("https://a.example.com:8443")
    assert not matcher.matches("https://a.example.com")
    assert not matcher.matches("https://a.example.com:8444")


def test_subdomain_pattern_with_any_port_includes_the_default_one() -> None:
    matcher = OriginMatcher([SubdomainPattern("https", "example.com", None, True)], [], None)
    assert matcher.matches("https://a.example.com")
    assert matcher.matches("https://a.example.com:8443")
    assert not matcher.matches("http://a.example.com:8443")
    assert not matcher.matches("https://example.com:8443")


def test_patterns_for_different_schemes_and_ports_stay_apart() -> None:
    matcher = OriginMatcher(
        [EXAMPLE, SubdomainPattern("http", "example.org", 8080, False)], [], None
    )
    assert matcher.matches("http://a.example.org:8080")
    assert not matcher.matches("http://a.example.com:8080")
    assert not matcher.matches("https://a.example.org")


@pytest.mark.parametrize(
    ("origin", "matches"),
    [
        ("http://localhost", True),
        ("http://localhost:3000", True),
        ("http://localhost:65535", True),
        ("https://localhost:3000", False),
        ("http://localhost.evil.com:3000", False),
        ("http://a.localhost:3000", False),
        ("http://localhost:0", False),
        ("http://localhost:80", False),
        ("http://localhost:3000/", False),
    ],
)
def test_port_wildcard(origin: str, matches: bool) -> None:
    assert OriginMatcher([], [PortWildcard("http", "localhost")], None).matches(origin) is matches


@pytest.mark.parametrize(
    ("pattern", "origin", "matches"),
    [
        (r"https://[a-z]+\.example\.com", "https://a.example.com", True),
        (r"https://[a-z]+\.example\.com", "https://a.example.com.evil.com", False),
        (r"https://.*\.example\.com", "https://a.example.com.evil.com", False),
        (r"https://.*\.example\.com", "https://evil.com.a.example.com", True),
        (r"example\.com", "https://example.com", False),  # full match, not search
        (r"https://example\.com", "https://example.com:8080", False),
        # The regex only ever sees well-formed origins.
        (r"https://.*", "https://a.com/path", False),
        (r"https://.*", "https://A.com", False),
        (r"https://.*", "https://a.com\n", False),
        (r"null|https://.*", "null", False),
    ],
)
def test_regex_is_full_match_over_well_formed_origins(
    pattern: str, origin: str, matches: bool
) -> None:
    assert OriginMatcher([], [], re.compile(pattern)).matches(origin) is matches


def test_search_semantics_would_have_matched() -> None:
    # Guards the test above: the refused cases really are ones `search` would accept.
    assert re.search(r"https://[a-z]+\.example\.com", "https://a.example.com.evil.com")
    assert re.search(r"example\.com", "https://example.com")


def test_empty_matcher() -> None:
    assert OriginMatcher([], [], None).is_empty
    assert not OriginMatcher([], [], None).matches("https://a.com")
    assert not OriginMatcher([EXAMPLE], [], None).is_empty
