"""Property tests: hostile configuration and request values.

Configuration: arbitrary values raise nothing but ConfigError. Requests: ``decide`` never
raises, reflects only origins the policy allows (checked against a reference model written
here independently, with regular expressions), and never emits a control or non-ASCII
character in any header.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crossorigin import ConfigError, CORSPolicy, Decision, Reason, RequestKind
from crossorigin.decision import sanitize
from crossorigin.policy import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACMA,
    OPTION_NAMES,
    VARY,
    policy_from_options,
)
from crossorigin.response import merge_response_headers

# 200 examples keep the suite fast; CROSSORIGIN_EXAMPLES=5000 runs a deeper search locally.
FAST = settings(
    max_examples=int(os.environ.get("CROSSORIGIN_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- value strategies ------------------------------------------------------------------------

# Every code point, surrogates included: configuration can come from anywhere.
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
# What an ASGI/WSGI server hands over: raw header bytes decoded as latin-1.
latin1 = st.binary(max_size=80).map(lambda raw: raw.decode("latin-1"))
huge = st.builds(lambda part, n: part * n, st.text(min_size=1, max_size=4), st.integers(1, 20_000))

SCHEMES = ["https", "http", "HTTPS", "wss", "ftp", "", "ht tp", "chrome-extension", "1x"]
LABELS = [
    "app",
    "shop",
    "admin",
    "a",
    "example",
    "com",
    "org",
    "net",
    "io",
    "dev",
    "evil",
    "localhost",
    "xn--bcher-kva",
    "bücher",
    "A",
    "a_b",
    "-",
    "1",
    "",
    "*",
    "[::1]",
    "[::ABC]",
    "a" * 64,
]
PORTS = [
    "",
    "",
    ":80",
    ":443",
    ":3000",
    ":8080",
    ":8443",
    ":9000",
    ":0",
    ":080",
    ":65535",
    ":65536",
    ":",
    ":*",
    ":x",
]
TAILS = ["", "", "", "", "/", "/x", "?q", "#f", ".", " ", "\r\n", ", https://a.com", "\x00"]
origin_like = st.builds(
    lambda scheme, user, labels, port, tail: f"{scheme}://{user}{'.'.join(labels)}{port}{tail}",
    st.sampled_from(SCHEMES),
    st.sampled_from(["", "", "", "u@", "u:p@"]),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=4),
    st.sampled_from(PORTS),
    st.sampled_from(TAILS),
)
# Origins the generated policies may grant, so the allowed paths are exercised as often as
# the refused ones.
LIKELY_ORIGINS = [
    "https://app.example.com",
    "https://shop.example.com",
    "http://localhost:8080",
    "http://[::1]:3000",
    "https://a.example.com",
    "https://a.b.example.com",
    "https://x.example.org:9000",
    "https://x.example.org",
    "http://a.example.net:8443",
    "https://a.localhost",
    "http://localhost:5173",
    "http://localhost",
    "https://zz.example.io",
    "https://admin.example.dev:8080",
    "null",
]
# Near misses of LIKELY_ORIGINS: what a lax parser or a search-not-match regex would grant.
NEAR_MISSES = [
    "https://zz.example.io.evil.com",
    "https://app.example.com.evil.com",
    "https://evil.com.example.org.evil",
    "https://admin.example.dev.evil.com:8080",
    "https://evilexample.com",
    "https://example.com",
    "https://bücher.example.com",
    "https://A.example.com",
    "https://a..example.com",
    "https://.example.com",
    "https://a b.example.com",
    "https://a.example.com:443",
    "https://a.example.com:0443",
    "https://a.example.com/",
    "https://a.example.com.",
    "https://a.example.com\r\nx: y",
    "http://localhost:80",
    "http://localhost:0",
    "http://localhost:65536",
    "http://localhost.:8080",
    "https://app.example.com, https://app.example.com",
    "http://[::1]:3000/",
    "http://[::1]:03000",
    "Null",
    "null ",
]
likely_origins = st.sampled_from(LIKELY_ORIGINS)
origins = st.one_of(
    st.none(),
    st.sampled_from(["NULL", "*", ""]),
    likely_origins,
    likely_origins,
    st.sampled_from(NEAR_MISSES),
    origin_like,
    latin1,
    any_text,
    huge,
)

HEADER_NAMES = [
    "x-api-key",
    "X-Api-Key",
    "content-type",
    "authorization",
    "Authorization",
    "x-requested-with",
    "x-other",
    "x other",
    "x-\u212aey",
    "",
    " ",
    "\t",
]
header_lists = st.lists(st.sampled_from(HEADER_NAMES), max_size=6).map(",".join)
request_headers = st.one_of(
    st.none(), st.none(), header_lists, header_lists, latin1, any_text, huge
)
request_methods = st.one_of(
    st.none(),
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "patch", "DELETE", "PURGE", ""]),
    latin1,
)
methods = st.one_of(
    st.just("OPTIONS"), st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "options"]), latin1
)
private_network = st.one_of(
    st.none(), st.none(), st.sampled_from(["true", "false", " TRUE\t"]), latin1
)

# --- policies and the reference model --------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One allow_origins entry as the reference model reads it."""

    scheme: str
    host: str  # for "sub": the suffix without the leading dot
    kind: str  # "exact", "sub", "ports"
    port: int | None = None
    any_port: bool = False


ENTRIES: dict[str, Rule | None] = {
    "https://app.example.com": Rule("https", "app.example.com", "exact"),
    "HTTPS://Shop.Example.com:443": Rule("https", "shop.example.com", "exact"),
    "http://localhost:8080": Rule("http", "localhost", "exact", 8080),
    "http://[::1]:3000": Rule("http", "[::1]", "exact", 3000),
    "https://*.example.com": Rule("https", "example.com", "sub"),
    "https://*.example.org:*": Rule("https", "example.org", "sub", any_port=True),
    "http://*.example.net:8443": Rule("http", "example.net", "sub", 8443),
    "https://*.localhost": Rule("https", "localhost", "sub"),
    "http://localhost:*": Rule("http", "localhost", "ports"),
    "null": None,
}
REGEXES = [
    None,
    r"https://[a-z0-9-]{1,20}\.example\.io",
    r"https://(app|admin)\.example\.dev(:[0-9]+)?",
]
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
BROWSER_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://"
    r"(?P<host>[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*|\[[0-9a-f:.]{2,}\])"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
)
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def browser_form(origin: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) when ``origin`` is exactly what a browser could send."""
    match = BROWSER_ORIGIN.fullmatch(origin)
    if match is None:
        return None
    scheme, host = match["scheme"], match["host"]
    port = int(match["port"]) if match["port"] else None
    if not host.startswith("[") and len(host) > 253:
        return None
    if port is not None and (port > 65535 or port == DEFAULT_PORTS.get(scheme)):
        return None
    return scheme, host, port


@dataclass(frozen=True)
class Spec:
    options: dict[str, Any]
    policy: CORSPolicy

    @property
    def public(self) -> bool:
        return "*" in self.options["allow_origins"]

    def allows_origin(self, origin: str) -> bool:
        """The reference model: does this configuration grant ``origin``?"""
        if self.public:
            return True
        entries = self.options["allow_origins"]
        if origin == "null":
            return "null" in entries
        parsed = browser_form(origin)
        if parsed is None:
            return False
        scheme, host, port = parsed
        for entry in entries:
            rule = ENTRIES[entry]
            if rule is None or rule.scheme != scheme:
                continue
            if rule.kind == "exact" and (rule.host, rule.port) == (host, port):
                return True
            if rule.kind == "ports" and rule.host == host:
                return True
            if (
                rule.kind == "sub"
                and host.endswith("." + rule.host)
                and (rule.any_port or rule.port == port)
            ):
                return True
        regex = self.options["allow_origin_regex"]
        return regex is not None and re.fullmatch(regex, origin) is not None

    def allows_method(self, method: str) -> bool:
        listed = self.options["allow_methods"]
        return (
            method in {"GET", "HEAD", "POST"}
            or method in listed
            or ("*" in listed and len(method) <= 64 and TOKEN.fullmatch(method) is not None)
        )

    def refused_headers(self, value: str | None) -> set[str]:
        listed = self.options["allow_headers"]
        lowered = {name.lower() for name in listed}
        refused = set()
        names = set()
        for element in (value or "").split(","):
            name = element.strip(" \t")
            if name.isascii():
                name = name.lower()
            if not name:
                continue
            names.add(name)
            if name in lowered:
                continue
            # '*' covers every token, Authorization included (the answer echoes the names).
            if "*" in listed and TOKEN.fullmatch(name):
                continue
            refused.add(name)
        if not refused and "*" in listed and len(", ".join(names)) > 4096:
            return names  # too long to echo
        return refused


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    public = draw(st.integers(0, 5)) == 0
    credentials = not public and draw(st.booleans())
    star = [] if credentials else ["*"]
    entries = draw(st.lists(st.sampled_from(list(ENTRIES)), unique=True, max_size=4))
    if credentials and "null" in entries:  # refused: every site can send Origin: null
        entries.remove("null")
    regex = draw(st.sampled_from(REGEXES))
    if public:
        entries.append("*")
    elif not entries and regex is None:
        entries = ["https://app.example.com"]
    options: dict[str, Any] = {
        "allow_origins": entries,
        "allow_origin_regex": regex,
        "allow_methods": draw(
            st.lists(
                st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "patch", "PURGE", "*"]),
                max_size=4,
            )
        ),
        "allow_headers": draw(
            st.lists(
                st.sampled_from(["X-Api-Key", "Content-Type", "Authorization", "*"]),
                max_size=3,
            )
        ),
        "expose_headers": draw(st.lists(st.sampled_from(["X-Total", "ETag", *star]), max_size=2)),
        "allow_credentials": credentials,
        "max_age": draw(st.one_of(st.none(), st.integers(0, 86400))),
        "allow_private_network": draw(st.booleans()),
        "preflight_status": draw(st.sampled_from([200, 204])),
    }
    return Spec(options, CORSPolicy(**options))


# --- configuration ---------------------------------------------------------------------------

config_values = st.one_of(
    any_text,
    latin1,
    huge,
    st.lists(st.one_of(any_text, origin_like, st.sampled_from(["*", "null", "GET", "X-A"]))),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
)


def check_config_error(error: ConfigError) -> None:
    assert error.problems
    for problem in error.problems:
        assert isinstance(problem.option, str)
        assert problem.message
        assert problem.fix
    assert str(error).startswith("invalid CORS configuration")


@FAST
@given(option=st.sampled_from(OPTION_NAMES), value=config_values, base=st.booleans())
def test_any_config_value_raises_only_config_error(option: str, value: object, base: bool) -> None:
    options: dict[str, Any] = {"allow_origins": ["https://app.example.com"]} if base else {}
    options[option] = value
    try:
        policy = CORSPolicy(**options)
    except ConfigError as error:
        check_config_error(error)
        return
    assert policy == policy.replace()
    policy.decide("GET", "https://app.example.com")


@FAST
@given(
    options=st.dictionaries(
        st.one_of(st.sampled_from(OPTION_NAMES), any_text), config_values, max_size=4
    )
)
def test_any_set_of_options_raises_only_config_error(options: dict[str, Any]) -> None:
    try:
        policy_from_options(None, options)
    except ConfigError as error:
        check_config_error(error)


@FAST
@given(entry=st.one_of(origin_like, any_text))
def test_accepted_origin_entries_normalise_idempotently(entry: str) -> None:
    try:
        policy = CORSPolicy(allow_origins=[entry])
    except ConfigError as error:
        check_config_error(error)
        return
    assert CORSPolicy(allow_origins=policy.allow_origins) == policy
    (normalised,) = policy.allow_origins
    if "*" not in normalised:
        # An accepted exact origin is one a browser can send, and is granted.
        # ("file://" is the literal Cordova/Ionic webviews send, accepted as written.)
        assert normalised in ("null", "file://") or browser_form(normalised) is not None
        assert policy.is_origin_allowed(normalised)


# --- requests --------------------------------------------------------------------------------


def printable_ascii(value: bytes) -> bool:
    return all(0x20 <= byte < 0x7F for byte in value)


def check_decision_shape(spec: Spec, decision: Decision) -> None:
    names = [name for name, _ in decision.headers]
    for name, value in decision.headers:
        assert isinstance(name, bytes)
        assert isinstance(value, bytes)
        assert name == name.lower()
        assert printable_ascii(name)
        assert printable_ascii(value)
    assert names.count(ACAO) <= 1
    assert len(names) == len(set(names))
    if not decision.allowed:
        assert not any(name.startswith(b"access-control-") for name in names)
    credentialed = decision.allowed and decision.kind is not RequestKind.NOT_CORS
    assert (ACAC in names) == (credentialed and spec.options["allow_credentials"])
    for refusal in decision.refusals:
        message = refusal.message
        assert message.isascii()
        assert message.isprintable()
        assert len(message) < 1400


@FAST
@given(
    spec=specs(),
    method=methods,
    origin=origins,
    request_method=request_methods,
    request_headers_value=request_headers,
    private=private_network,
)
def test_decide_never_raises_and_reflects_only_allowed_origins(
    spec: Spec,
    method: str,
    origin: str | None,
    request_method: str | None,
    request_headers_value: str | None,
    private: str | None,
) -> None:
    policy = spec.policy
    decision = policy.decide(method, origin, request_method, request_headers_value, private)
    check_decision_shape(spec, decision)
    event(f"{decision.kind.name} allowed={decision.allowed} acao={ACAO in dict(decision.headers)}")
    again = policy.decide(method, origin, request_method, request_headers_value, private)
    assert (again.allowed, again.headers, again.vary, again.status) == (
        decision.allowed,
        decision.headers,
        decision.vary,
        decision.status,
    )
    headers = dict(decision.headers)

    acao = headers.get(ACAO)
    if acao is not None:
        if spec.public:
            assert acao == b"*"
        else:
            assert origin is not None
            assert acao == origin.encode("ascii")
            assert spec.allows_origin(origin)

    if origin is None:
        assert decision.kind is RequestKind.NOT_CORS
        assert decision.allowed
        assert decision.vary == (b"" if spec.public else b"Origin")
        assert set(headers) <= {ACAO, ACEH}
        return

    origin_ok = spec.allows_origin(origin)
    if method == "OPTIONS" and request_method is not None:
        assert decision.kind is RequestKind.PREFLIGHT
        refused_headers = spec.refused_headers(request_headers_value)
        private_asked = private is not None and private.strip(" \t").lower() == "true"
        expected = {
            Reason.ORIGIN: not origin_ok,
            Reason.METHOD: not spec.allows_method(request_method),
            Reason.HEADERS: bool(refused_headers),
            Reason.PRIVATE_NETWORK: private_asked and not spec.options["allow_private_network"],
        }
        assert {r.reason for r in decision.refusals} == {r for r, bad in expected.items() if bad}
        assert decision.allowed is not any(expected.values())
        for refusal in decision.refusals:
            if refusal.reason is Reason.HEADERS:
                assert set(refusal.value.split(", ")) == refused_headers
        if decision.allowed:
            assert decision.status == spec.options["preflight_status"]
            assert (ACAPN in headers) == private_asked
        else:
            assert decision.status == 403
        assert ACEH not in headers
        assert decision.vary == b""
        vary = [] if spec.public else ["Origin"]
        if "*" in spec.options["allow_methods"]:
            vary.append("Access-Control-Request-Method")
        if "*" in spec.options["allow_headers"]:
            vary.append("Access-Control-Request-Headers")
        assert headers.get(VARY) == (", ".join(vary).encode() if vary else None)
        # Whatever is echoed is a bounded token list, never raw request bytes.
        for name in (ACAM, ACAH):
            if name in headers:
                assert len(headers[name]) <= 4096
                assert all(TOKEN.fullmatch(part) for part in headers[name].decode().split(", "))
    else:
        assert decision.kind is RequestKind.ACTUAL
        assert decision.allowed is origin_ok
        assert decision.status == 0
        assert not {ACAM, ACAH, ACMA, ACAPN, VARY} & set(headers)
        assert decision.vary == (b"" if spec.public else b"Origin")
        if not origin_ok:
            assert [r.reason for r in decision.refusals] == [Reason.ORIGIN]


@FAST
@given(spec=specs(), data=st.data())
def test_request_header_spelling_never_changes_the_verdict(spec: Spec, data: st.DataObject) -> None:
    names = data.draw(
        st.lists(
            st.sampled_from(["x-api-key", "content-type", "authorization", "x-other", "x-b"]),
            min_size=1,
            max_size=5,
        )
    )
    canonical = ",".join(sorted(set(names)))  # what a browser sends
    shuffled = data.draw(st.permutations(names))
    spelled = []
    for name in shuffled:
        flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        cased = "".join(c.upper() if flip else c for c, flip in zip(name, flips, strict=True))
        before = data.draw(st.sampled_from(["", " ", "\t", "  \t"]))
        after = data.draw(st.sampled_from(["", " ", "\t"]))
        empties = data.draw(st.sampled_from(["", ",", ", ,"]))
        spelled.append(f"{before}{cased}{after}{empties}")
    variant = ",".join(spelled)
    origin = "https://app.example.com"
    policy = spec.policy
    one = policy.decide("OPTIONS", origin, "GET", canonical)
    two = policy.decide("OPTIONS", origin, "GET", variant)
    assert one.allowed is two.allowed
    assert one.headers == two.headers
    assert [r.reason for r in one.refusals] == [r.reason for r in two.refusals]
    header_refusals = [r.value for r in one.refusals if r.reason is Reason.HEADERS]
    assert header_refusals == [r.value for r in two.refusals if r.reason is Reason.HEADERS]


def first_spellings(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


@FAST
@given(spec=specs(), data=st.data())
def test_allowed_preflight_carries_exactly_the_configured_grant(
    spec: Spec, data: st.DataObject
) -> None:
    options = spec.options
    granted_origins = [o for o in LIKELY_ORIGINS if spec.allows_origin(o)]
    assert granted_origins, "every generated policy grants one of LIKELY_ORIGINS"
    origin = data.draw(st.sampled_from(granted_origins))
    listed_methods = [m for m in options["allow_methods"] if m != "*"]
    method = data.draw(st.sampled_from(["GET", "HEAD", "POST", *listed_methods]))
    listed_headers = [h for h in options["allow_headers"] if h != "*"]
    pool = listed_headers + (
        ["x-anything", "X-Trace-Id"] if "*" in options["allow_headers"] else []
    )
    requested = data.draw(st.lists(st.sampled_from(pool), max_size=4)) if pool else []
    private = "true" if options["allow_private_network"] and data.draw(st.booleans()) else None

    decision = spec.policy.decide("OPTIONS", origin, method, ", ".join(requested) or None, private)

    expected: list[tuple[bytes, bytes]] = [(ACAO, b"*" if spec.public else origin.encode())]
    if options["allow_credentials"]:
        expected.append((ACAC, b"true"))
    any_method = "*" in options["allow_methods"]
    any_header = "*" in options["allow_headers"]
    if any_method:
        expected.append((ACAM, method.encode()))
    elif options["allow_methods"]:
        expected.append((ACAM, ", ".join(dict.fromkeys(options["allow_methods"])).encode()))
    if any_header and requested:
        echoed = ", ".join(sorted({name.lower() for name in requested}))
        expected.append((ACAH, echoed.encode()))
    elif listed_headers:
        expected.append((ACAH, ", ".join(first_spellings(listed_headers)).encode()))
    if options["max_age"] is not None:
        expected.append((ACMA, str(options["max_age"]).encode()))
    vary = [] if spec.public else ["Origin"]
    if any_method:
        vary.append("Access-Control-Request-Method")
    if any_header:
        vary.append("Access-Control-Request-Headers")
    if vary:
        expected.append((VARY, ", ".join(vary).encode()))
    if private:
        expected.append((ACAPN, b"true"))
    assert decision.allowed, decision
    assert decision.status == options["preflight_status"]
    assert list(decision.headers) == expected


@FAST
@given(
    spec=specs(),
    origin=st.one_of(likely_origins, st.sampled_from(NEAR_MISSES), origin_like),
    method=st.sampled_from(["GET", "OPTIONS"]),
)
def test_origin_verdict_matches_the_reference(spec: Spec, origin: str, method: str) -> None:
    decision = spec.policy.decide(method, origin, "GET" if method == "OPTIONS" else None)
    allowed = spec.allows_origin(origin)
    assert decision.allowed is allowed
    acao = dict(decision.headers).get(ACAO)
    if not allowed:
        assert acao is None
    else:
        assert acao == (b"*" if spec.public else origin.encode())


@FAST
@given(spec=specs(), value=st.one_of(header_lists, latin1))
def test_request_headers_verdict_matches_the_reference(spec: Spec, value: str) -> None:
    origin = next(o for o in LIKELY_ORIGINS if spec.allows_origin(o))
    decision = spec.policy.decide("OPTIONS", origin, "GET", value)
    refused = spec.refused_headers(value)
    assert decision.allowed == (not refused)
    if refused:
        (refusal,) = decision.refusals
        assert refusal.reason is Reason.HEADERS
        assert refusal.value == ", ".join(sorted(refused))


# --- response headers ------------------------------------------------------------------------

APP_HEADER_NAMES = [
    "Content-Type",
    "X-Thing",
    "Vary",
    "vary",
    "VARY",
    "Access-Control-Allow-Origin",
    "access-control-allow-credentials",
    "ACCESS-CONTROL-EXPOSE-HEADERS",
    "Access-Control-Max-Age",
    "Set-Cookie",
]
VARY_VALUES = [
    "Accept-Encoding",
    "origin",
    "Origin",
    "Cookie, Accept",
    "*",
    "",
    " , ",
    "User-Agent",
]


@FAST
@given(
    app=st.lists(
        st.tuples(
            st.sampled_from(APP_HEADER_NAMES),
            st.one_of(st.sampled_from(VARY_VALUES), st.text("abc *,", max_size=8)),
        ),
        max_size=8,
    ),
    ours=st.sampled_from(
        [
            [],
            [("access-control-allow-origin", "https://a.com")],
            [("access-control-allow-origin", "*"), ("access-control-expose-headers", "X-A")],
        ]
    ),
    vary=st.sampled_from(["", "Origin"]),
    as_bytes=st.booleans(),
)
def test_merge_response_headers(
    app: list[tuple[str, str]], ours: list[tuple[str, str]], vary: str, as_bytes: bool
) -> None:
    def enc(text: str) -> Any:
        return text.encode("latin-1") if as_bytes else text

    merged = [
        (name.decode("latin-1"), value.decode("latin-1")) if as_bytes else (name, value)
        for name, value in merge_response_headers(
            [(enc(n), enc(v)) for n, v in app], [(enc(n), enc(v)) for n, v in ours], enc(vary)
        )
    ]
    assert [p for p in merged if p[0].lower().startswith("access-control-")] == ours
    others = [p for p in app if p[0].lower() != "vary" and not p[0].lower().startswith("access-")]
    assert [p for p in merged if p[0].lower() != "vary" and p not in ours] == others
    app_vary = [v for n, v in app if n.lower() == "vary"]
    merged_vary = [v for n, v in merged if n.lower() == "vary"]
    if not vary:
        assert merged_vary == app_vary
        return
    (value,) = merged_vary
    app_tokens = [t.strip() for v in app_vary for t in v.split(",") if t.strip()]
    if "*" in app_tokens:
        assert value == "*"
        return
    tokens = [t.strip() for t in value.split(",")]
    assert len({t.lower() for t in tokens}) == len(tokens)
    assert {t.lower() for t in tokens} == {t.lower() for t in [*app_tokens, vary]}


@FAST
@given(value=st.one_of(any_text, latin1, huge), limit=st.integers(1, 200))
def test_sanitize_output_is_always_safe_to_log(value: str, limit: int) -> None:
    shown = sanitize(value, limit)
    assert shown.isascii()
    assert shown.isprintable()
    if len(value) <= limit and value.isascii() and value.isprintable():
        # Printable ASCII is shown as it is, except the two characters that could end the
        # quote early or fake an escape: those are backslash-escaped.
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        assert shown == f"'{escaped}'"
    # Whatever the value, the quoted part contains no unescaped quote: it cannot be closed.
    body = shown[1 : shown.rindex("'")]
    assert "'" not in body.replace("\\\\", "").replace("\\'", "")
