"""The browser side of the protocol (crossorigin.browser), rule by rule against PROTOCOL.md.

Responses are built by hand, or produced by the real policy core (``policy_sender``) so the
two mirror images are checked against each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossorigin import CORSPolicy, RequestKind
from crossorigin.browser import (
    CHROMIUM,
    FIREFOX,
    SPEC,
    WEBKIT,
    Check,
    HTTPRequest,
    HTTPResponse,
    Profile,
    Request,
    build_preflight,
    combine_headers,
    cors_check,
    fetch,
    mime_essence,
    normalize_method,
    parse_single_range,
    preflight_advice,
    preflight_checks,
    preflight_max_age,
    preflight_reasons,
    readable_headers,
    reflection_advice,
    response_advice,
    sent_preflight_checks,
    unsafe_header_reason,
    unsafe_header_reasons,
    unsafe_request_header_names,
    url_origin,
    validate_request,
)

ORIGIN = "https://app.example"
URL = "http://api.test/items"


def failed(checks: Iterable[Check]) -> list[str]:
    return [c.code for c in checks if not c.ok]


def response(status: int = 200, /, **headers: str) -> HTTPResponse:
    return HTTPResponse(status, tuple((k.replace("_", "-"), v) for k, v in headers.items()))


# --- request side ----------------------------------------------------------------------------


def test_fetch_upper_cases_only_the_six_normalized_methods() -> None:
    assert normalize_method("delete") == "DELETE"
    assert normalize_method("put") == "PUT"
    assert normalize_method("patch") == "patch"
    assert normalize_method("Patch") == "Patch"


@pytest.mark.parametrize(
    ("value", "essence"),
    [
        ("text/plain", "text/plain"),
        (" Text/Plain ; charset=utf-8", "text/plain"),
        ("multipart/form-data; boundary=x", "multipart/form-data"),
        ("application/json", "application/json"),
        ("text", None),
        ("/plain", None),
        ("text/", None),
        ("text/pl ain", None),
        ("te(xt/plain", None),
    ],
)
def test_mime_essence(value: str, essence: str | None) -> None:
    assert mime_essence(value) == essence


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=5-", (5, None)),
        ("bytes=-5", (None, 5)),
        ("bytes=5-1", None),
        ("bytes=0-1,3-4", None),
        ("bytes = 0-1", None),
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_single_range(value: str, parsed: tuple[int | None, int | None] | None) -> None:
    assert parse_single_range(value) == parsed


@pytest.mark.parametrize(
    ("name", "value", "safe"),
    [
        ("Accept", "application/json", True),
        ("accept", "text/html(", False),
        ("Accept-Language", "en-US,fr;q=0.5", True),
        ("Accept-Language", "en_US", False),
        ("Content-Language", "de", True),
        ("Content-Type", "text/plain;charset=UTF-8", True),
        ("Content-Type", "application/x-www-form-urlencoded", True),
        ("Content-Type", "multipart/form-data; boundary=abc", True),
        ("Content-Type", "application/json", False),
        ("Content-Type", 'text/plain; charset="utf-8"', False),  # '"' is an unsafe byte
        ("Content-Type", "text/plain; x=" + "a" * 120, False),  # over 128 bytes
        ("Range", "bytes=0-99", True),
        ("Range", "bytes=-99", False),
        ("Authorization", "Bearer x", False),
        ("X-Requested-With", "XMLHttpRequest", False),
        ("Accept", "a" * 128, True),
        ("Accept", "a" * 129, False),
    ],
)
def test_safelisted_request_headers(name: str, value: str, safe: bool) -> None:
    assert (unsafe_header_reason(name, value) is None) is safe


@pytest.mark.parametrize(
    ("name", "value", "chromium_safe"),
    [
        ("DPR", "1.5", True),
        ("DPR", "2.", False),
        ("DPR", ".5", False),
        ("Device-Memory", "8", True),
        ("Downlink", "x", False),
        ("Width", "100", True),
        ("Viewport-Width", "1.5", False),
        ("RTT", "50", True),
        ("ECT", "slow-2g", True),
        ("ECT", "5g", False),
        ("Save-Data", "On", True),
        ("Save-Data", "off", False),
        ("Intervention", "<anything>", True),
        ("Width", "1" * 129, False),
        ("Viewport-Height", "1", False),
    ],
)
def test_chromium_safelists_client_hints(name: str, value: str, chromium_safe: bool) -> None:
    assert (unsafe_header_reason(name, value, CHROMIUM) is None) is chromium_safe
    assert unsafe_header_reason(name, value, FIREFOX) is not None
    assert unsafe_header_reason(name, value, SPEC) is not None
    assert unsafe_header_reason(name, value) is not None


def test_safelisted_values_over_1024_bytes_in_total_become_unsafe() -> None:
    assert unsafe_request_header_names([("Accept", "a" * 128)] * 8) == []  # exactly 1024
    headers = [("Accept", "a" * 128)] * 8 + [("Content-Language", "de"), ("X-A", "1")]
    assert unsafe_request_header_names(headers) == ["accept", "content-language", "x-a"]
    assert "1024" in unsafe_header_reasons(headers)["accept"]


def test_headers_object_combines_repeats_and_trims() -> None:
    assert combine_headers([("X-A", " 1 "), ("x-a", "2"), ("B", "3")]) == (
        ("X-A", "1, 2"),
        ("B", "3"),
    )


def test_preflight_reasons() -> None:
    assert preflight_reasons("GET", []) == []
    assert preflight_reasons("POST", [("Content-Type", "text/plain")]) == []
    assert preflight_reasons("POST", [("Content-Type", "application/json")]) != []
    assert preflight_reasons("PUT", []) == ["method PUT is not GET, HEAD or POST"]
    assert preflight_reasons("get", []) != []  # a non-normalized method is not safelisted
    assert preflight_reasons("GET", [], private_network=True) != []


def test_preflight_is_built_as_chromium_builds_it() -> None:
    pre = build_preflight(
        URL,
        ORIGIN,
        "patch",
        [("X-B", "1"), ("Authorization", "x"), ("Accept", "text/html"), ("x-a", "2")],
    )
    assert pre.method == "OPTIONS"
    assert pre.url == URL
    assert dict(pre.headers) == {
        "Accept": "*/*",
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "patch",
        "Access-Control-Request-Headers": "authorization,x-a,x-b",
    }
    simple = build_preflight(URL, ORIGIN, "PUT", [], private_network=True)
    assert "Access-Control-Request-Headers" not in dict(simple.headers)
    assert dict(simple.headers)["Access-Control-Request-Private-Network"] == "true"


def test_validate_request() -> None:
    assert validate_request(Request(URL, ORIGIN)) == []
    assert validate_request(Request(URL, "null")) == []
    assert validate_request(Request("ftp://x/", ORIGIN))
    assert validate_request(Request(URL, "https://app.example/"))
    assert validate_request(Request(URL, "HTTPS://App.example"))
    assert validate_request(Request(URL, ORIGIN, method="TRACE"))
    assert validate_request(Request(URL, ORIGIN, method="GE T"))
    cookie = validate_request(Request(URL, ORIGIN, headers=(("Cookie", "a=b"),)))
    assert "--credentials" in cookie[0]
    assert validate_request(Request(URL, ORIGIN, headers=(("Sec-Fetch-Mode", "x"),)))
    assert validate_request(Request(URL, ORIGIN, headers=(("X-A", "a\r\nb"),)))


def test_url_origin() -> None:
    assert url_origin("HTTPS://API.Example:443/x?y") == "https://api.example"
    assert url_origin("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert url_origin("http://[::1]:80/") == "http://[::1]"


# --- the CORS check --------------------------------------------------------------------------


def test_cors_check_exact_origin_passes() -> None:
    assert failed(cors_check(response(access_control_allow_origin=ORIGIN), ORIGIN, False)) == []


def test_cors_check_missing_acao_fails_with_the_header_and_option_to_fix() -> None:
    # A CORS layer that refuses still says 'Vary: Origin': then the origin is what is missing.
    (check,) = cors_check(response(vary="Origin"), ORIGIN, False)
    assert not check.ok
    assert check.fix == f"Access-Control-Allow-Origin: {ORIGIN}"
    assert check.option == f"add {ORIGIN!r} to allow_origins"


def test_cors_check_on_a_path_no_cors_layer_covers_says_so() -> None:
    (check,) = cors_check(response(), ORIGIN, False)
    assert not check.ok
    assert "nothing on this path answers CORS" in check.cause
    assert "allow_origins" not in check.option
    assert "CORS_URLS_REGEX" in check.option
    (other,) = cors_check(response(access_control_allow_methods="GET"), ORIGIN, False)
    assert other.option == f"add {ORIGIN!r} to allow_origins"


def test_cors_check_two_acao_headers_fail() -> None:
    two = HTTPResponse(
        200, (("Access-Control-Allow-Origin", ORIGIN), ("access-control-allow-origin", ORIGIN))
    )
    (check,) = cors_check(two, ORIGIN, False)
    assert not check.ok
    assert "exactly one" in check.cause


def test_cors_check_comma_list_fails() -> None:
    (check,) = cors_check(
        response(access_control_allow_origin=f"{ORIGIN}, https://b.example"), ORIGIN, False
    )
    assert not check.ok
    assert "list" in check.cause


@pytest.mark.parametrize(
    ("acao", "cause"),
    [
        ("http://a.test:8001, http://a.test:8001", "a list"),
        ("http://a.test:99999", "a different origin"),
        ("http://a.test:x", "a different origin"),
    ],
)
def test_cors_check_explains_values_with_unparsable_ports(acao: str, cause: str) -> None:
    # urlsplit() raises on these ports; the check must still explain, not crash.
    (check,) = cors_check(response(access_control_allow_origin=acao), "http://a.test:8001", False)
    assert not check.ok
    assert cause in check.cause


def test_cors_check_star() -> None:
    assert failed(cors_check(response(access_control_allow_origin="*"), ORIGIN, False)) == []
    checks = cors_check(
        response(access_control_allow_origin="*", access_control_allow_credentials="true"),
        ORIGIN,
        True,
    )
    assert failed(checks) == ["allow-origin"]
    assert "allow_credentials=True" in checks[0].option


@pytest.mark.parametrize(
    ("acao", "cause"),
    [
        (ORIGIN + "/", "trailing slash"),
        ("https://App.example", "case"),
        (ORIGIN + ":443", "default port"),
        ("http://app.example", "scheme"),
        ("null", "opaque"),
        ("https://other.example", "different origin"),
    ],
)
def test_cors_check_is_byte_equality_and_explains_near_misses(acao: str, cause: str) -> None:
    (check,) = cors_check(response(access_control_allow_origin=acao), ORIGIN, False)
    assert not check.ok
    assert cause in check.cause


@pytest.mark.parametrize(
    ("acac", "ok"), [(None, False), ("true", True), ("True", False), ("1", False)]
)
def test_credentials_need_acac_exactly_true(acac: str | None, ok: bool) -> None:
    headers = {"access_control_allow_origin": ORIGIN}
    if acac is not None:
        headers["access_control_allow_credentials"] = acac
    checks = cors_check(response(**headers), ORIGIN, True)
    assert failed(checks) == ([] if ok else ["allow-credentials"])
    # Without credentials, Allow-Credentials is not consulted.
    assert failed(cors_check(response(**headers), ORIGIN, False)) == []


# --- preflight checks ------------------------------------------------------------------------


def preflight(
    resp: HTTPResponse,
    method: str = "PUT",
    headers: Iterable[tuple[str, str]] = (),
    credentials: bool = False,
    private_network: bool = False,
    profile: Profile = SPEC,
) -> list[Check]:
    return preflight_checks(
        resp, ORIGIN, method, tuple(headers), credentials, private_network, profile
    )


def granted(status: int = 204, /, **headers: str) -> HTTPResponse:
    return response(status, access_control_allow_origin=ORIGIN, **headers)


@pytest.mark.parametrize("status", [200, 204, 299])
def test_preflight_2xx_passes(status: int) -> None:
    assert failed(preflight(granted(status, access_control_allow_methods="PUT"))) == []


def test_preflight_redirect_fails() -> None:
    checks = preflight(granted(307, access_control_allow_methods="PUT", location="/items/"))
    assert failed(checks) == ["preflight-status"]
    assert "redirect" in checks[0].cause


def test_preflight_answered_405_by_the_app_is_recognised() -> None:
    checks = preflight(response(405, allow="GET"))
    assert failed(checks) == ["preflight-status", "allow-origin"]
    assert "no OPTIONS handler" in checks[0].cause


def test_preflight_answered_401_points_at_authentication() -> None:
    checks = preflight(response(401))
    assert "authentication" in checks[0].cause


def test_preflight_methods_compare_case_sensitively() -> None:
    assert failed(preflight(granted(access_control_allow_methods="GET, PUT"))) == []
    checks = preflight(granted(access_control_allow_methods="PATCH"), method="patch")
    assert failed(checks) == ["allow-methods"]
    assert "case-sensitively" in checks[-1].cause
    assert failed(preflight(granted(access_control_allow_methods="put"))) == ["allow-methods"]


def test_safelisted_methods_need_no_listing() -> None:
    assert failed(preflight(granted(), method="POST", headers=[("X-A", "1")])) == ["allow-headers"]
    assert failed(preflight(granted(), method="GET")) == []


def test_method_wildcard_only_without_credentials() -> None:
    assert failed(preflight(granted(access_control_allow_methods="*"))) == []
    creds = granted(access_control_allow_methods="*", access_control_allow_credentials="true")
    checks = preflight(creds, credentials=True)
    assert failed(checks) == ["allow-methods"]
    assert "'*'" in checks[-1].cause


def test_malformed_allow_methods_fails_the_preflight() -> None:
    assert failed(preflight(granted(access_control_allow_methods="PUT;"))) == ["preflight-syntax"]


def test_headers_compare_case_insensitively() -> None:
    resp = granted(access_control_allow_methods="PUT", access_control_allow_headers="X-API-KEY")
    assert failed(preflight(resp, headers=[("x-api-key", "1")])) == []
    checks = preflight(resp, headers=[("x-api-key", "1"), ("Authorization", "x")])
    assert failed(checks) == ["allow-headers"]
    (bad,) = (c for c in checks if not c.ok)
    assert bad.option == "add 'Authorization' to allow_headers"
    assert bad.fix == "Access-Control-Allow-Headers: X-API-KEY, Authorization"


def test_header_wildcard_only_without_credentials() -> None:
    resp = granted(access_control_allow_methods="PUT", access_control_allow_headers="*")
    assert failed(preflight(resp, headers=[("X-A", "1")])) == []
    creds = granted(
        access_control_allow_methods="PUT",
        access_control_allow_headers="*",
        access_control_allow_credentials="true",
    )
    assert failed(preflight(creds, headers=[("X-A", "1")], credentials=True)) == ["allow-headers"]


@pytest.mark.parametrize(
    ("profile", "ok"), [(SPEC, False), (FIREFOX, True), (WEBKIT, True), (CHROMIUM, True)]
)
def test_header_wildcard_and_authorization_per_browser(profile: Profile, ok: bool) -> None:
    resp = granted(access_control_allow_methods="PUT", access_control_allow_headers="*")
    checks = preflight(resp, headers=[("Authorization", "x")], profile=profile)
    assert failed(checks) == ([] if ok else ["allow-headers"])
    named = granted(
        access_control_allow_methods="PUT", access_control_allow_headers="*, authorization"
    )
    assert failed(preflight(named, headers=[("Authorization", "x")], profile=profile)) == []


def test_chromium_warns_when_authorization_relies_on_the_wildcard() -> None:
    resp = granted(access_control_allow_headers="*")
    advice = preflight_advice(resp, [("Authorization", "x")], False, CHROMIUM)
    assert [a.code for a in advice] == ["wildcard-authorization"]
    assert preflight_advice(resp, [("X-A", "x")], False, CHROMIUM) == []


def test_private_network_preflight() -> None:
    resp = granted(access_control_allow_methods="PUT")
    assert failed(preflight(resp, private_network=True)) == ["allow-private-network"]
    ok = granted(access_control_allow_methods="PUT", access_control_allow_private_network="true")
    assert failed(preflight(ok, private_network=True)) == []


def wire_preflight(*headers: tuple[str, str], method: str = "OPTIONS") -> HTTPRequest:
    return HTTPRequest(method, URL, (("Origin", ORIGIN), *headers))


def test_preflight_as_sent_is_checked_like_the_request_it_is_for() -> None:
    asked = wire_preflight(
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "authorization,x-a"),
    )
    listed = granted(access_control_allow_methods="PUT", access_control_allow_headers="X-A")
    request_headers = [("Authorization", "x"), ("X-A", "1")]
    for credentials in (False, True):
        for profile in (SPEC, CHROMIUM):
            for resp in (listed, granted(access_control_allow_headers="*")):
                expected = preflight(
                    resp, headers=request_headers, credentials=credentials, profile=profile
                )
                found = sent_preflight_checks(asked, resp, credentials, profile)
                assert [(c.code, c.ok) for c in found] == [(c.code, c.ok) for c in expected]
    (bad,) = (c for c in sent_preflight_checks(asked, listed, False, SPEC) if not c.ok)
    assert bad.summary == "header 'authorization' is not allowed"
    assert bad.fix == "Access-Control-Allow-Headers: X-A, authorization"


def test_preflight_as_sent_reads_its_own_headers() -> None:
    # Any case, spacing and order in the request headers; the method stays case-sensitive.
    asked = wire_preflight(
        ("access-control-request-method", "patch"),
        ("Access-Control-Request-Headers", " X-A ,x-a, X-B"),
        ("Access-Control-Request-Private-Network", "true"),
    )
    resp = granted(
        access_control_allow_methods="PATCH",
        access_control_allow_headers="x-a",
        access_control_allow_private_network="true",
    )
    checks = sent_preflight_checks(asked, resp, False, SPEC)
    assert [c.code for c in checks if c.code == "allow-headers"] == ["allow-headers"] * 2
    assert failed(checks) == ["allow-methods", "allow-headers"]
    assert [c.summary for c in checks if not c.ok] == [
        "method patch is not allowed",
        "header 'x-b' is not allowed",
    ]
    no_pna = granted(access_control_allow_methods="patch", access_control_allow_headers="x-a, x-b")
    assert failed(sent_preflight_checks(asked, no_pna, False, SPEC)) == ["allow-private-network"]
    simple = wire_preflight(("Access-Control-Request-Method", "GET"))
    assert failed(sent_preflight_checks(simple, granted(), False, SPEC)) == []


@pytest.mark.parametrize(
    "not_a_preflight",
    [
        wire_preflight(("Access-Control-Request-Method", "PUT"), method="GET"),
        wire_preflight(),
        HTTPRequest("OPTIONS", URL, (("Access-Control-Request-Method", "PUT"),)),
    ],
)
def test_preflight_as_sent_must_be_a_preflight(not_a_preflight: HTTPRequest) -> None:
    with pytest.raises(ValueError, match="not a CORS preflight"):
        sent_preflight_checks(not_a_preflight, granted(), False, SPEC)


@pytest.mark.parametrize(
    ("value", "profile", "seconds"),
    [
        (None, CHROMIUM, 5),
        ("600", CHROMIUM, 600),
        ("86400", CHROMIUM, 7200),
        ("100000", FIREFOX, 86400),
        ("100000", SPEC, 100000),
        ("ten", FIREFOX, 5),
        ("-1", SPEC, 5),
    ],
)
def test_max_age(value: str | None, profile: Profile, seconds: int) -> None:
    resp = granted() if value is None else granted(access_control_max_age=value)
    assert preflight_max_age(resp, profile) == seconds


def test_max_age_advice() -> None:
    assert [
        a.code for a in preflight_advice(granted(access_control_max_age="86400"), [], False, SPEC)
    ] == ["max-age-cap"]
    assert preflight_advice(granted(access_control_max_age="7200"), [], False, SPEC) == []
    # Above Chromium's cap, whichever browser is being checked.
    over = preflight_advice(granted(access_control_max_age="10000"), [], False, FIREFOX)
    assert [a.code for a in over] == ["max-age-cap"]
    assert [
        a.code for a in preflight_advice(granted(access_control_max_age="1h"), [], False, SPEC)
    ] == ["max-age-invalid"]


# --- readable headers and advice -------------------------------------------------------------


def actual(**extra: str) -> HTTPResponse:
    return HTTPResponse(
        200,
        (
            ("Content-Type", "application/json"),
            ("Content-Length", "2"),
            ("X-Request-Id", "42"),
            ("X-Secret", "s"),
            ("Set-Cookie", "a=b"),
            *((k.replace("_", "-"), v) for k, v in extra.items()),
        ),
    )


def test_only_safelisted_and_exposed_headers_are_readable() -> None:
    assert [n for n, _ in readable_headers(actual(), False)] == ["content-length", "content-type"]
    exposed = actual(access_control_expose_headers="x-request-id, Set-Cookie")
    assert [n for n, _ in readable_headers(exposed, False)] == [
        "content-length",
        "content-type",
        "x-request-id",
    ]


def test_expose_wildcard_only_without_credentials_and_never_set_cookie() -> None:
    star = actual(access_control_expose_headers="*")
    names = [n for n, _ in readable_headers(star, False)]
    assert "x-secret" in names
    assert "set-cookie" not in names
    assert [n for n, _ in readable_headers(star, True)] == ["content-length", "content-type"]


def test_vary_origin_advice() -> None:
    assert [
        a.code for a in response_advice(actual(access_control_allow_origin=ORIGIN), ORIGIN, False)
    ] == ["vary-origin"]
    assert (
        response_advice(
            actual(access_control_allow_origin=ORIGIN, vary="Accept, origin"), ORIGIN, False
        )
        == []
    )
    assert response_advice(actual(access_control_allow_origin="*"), ORIGIN, False) == []


def test_null_and_reflection_advice() -> None:
    null = actual(access_control_allow_origin="null", vary="Origin")
    assert [a.code for a in response_advice(null, "null", False)] == ["null-allowed"]
    probe = "https://evil.example"
    reflected = response(access_control_allow_origin=probe, access_control_allow_credentials="true")
    (advice,) = reflection_advice(probe, reflected)
    assert advice.code == "reflects-any-origin"
    assert "WITH credentials" in advice.message
    assert reflection_advice(probe, response(access_control_allow_origin="*")) == []


# --- the whole fetch, through a fake network ----------------------------------------------------


Handler = Callable[[HTTPRequest], HTTPResponse]


class Network:
    """Canned answers per (method, url); records what was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[HTTPRequest] = []

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        self.sent.append(request)
        return self.handler(request)


def policy_sender(policy: CORSPolicy, **app_headers: str) -> Network:
    """The real core answering, as its middleware would (an app returning 200)."""

    def handle(request: HTTPRequest) -> HTTPResponse:
        h = {n.lower(): v for n, v in request.headers}
        decision = policy.decide(
            request.method,
            h.get("origin"),
            h.get("access-control-request-method"),
            h.get("access-control-request-headers"),
            h.get("access-control-request-private-network"),
        )
        if decision.kind is RequestKind.PREFLIGHT:
            return HTTPResponse(decision.status, decision.str_headers)
        vary = (("Vary", decision.vary.decode()),) if decision.vary else ()
        app = tuple((k.replace("_", "-"), v) for k, v in app_headers.items())
        return HTTPResponse(200, (*app, *decision.str_headers, *vary))

    return Network(handle)


def test_simple_request_sends_no_preflight() -> None:
    net = policy_sender(CORSPolicy(allow_origins=[ORIGIN]), x_request_id="1")
    outcome = fetch(Request(URL, ORIGIN), net)
    assert outcome.allowed
    assert [r.method for r in net.sent] == ["GET"]
    assert dict(net.sent[0].headers)["Origin"] == ORIGIN
    assert outcome.readable_header_names == ()
    assert outcome.advice == ()


def test_preflight_then_request() -> None:
    policy = CORSPolicy(
        allow_origins=[ORIGIN],
        allow_methods=["PUT"],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-Id"],
        max_age=600,
    )
    net = policy_sender(policy, x_request_id="1")
    outcome = fetch(Request(URL, ORIGIN, "put", (("Authorization", "x"),)), net)
    assert outcome.allowed
    assert [r.method for r in net.sent] == ["OPTIONS", "PUT"]
    assert outcome.readable_headers == (("x-request-id", "1"),)
    assert outcome.preflight_cache_seconds == 600


def test_failed_preflight_stops_and_is_diagnosed() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["PUT"], allow_headers=["X-A"])
    net = policy_sender(policy)
    outcome = fetch(Request(URL, ORIGIN, "PUT", (("X-A", "1"), ("Authorization", "x"))), net)
    assert not outcome.allowed
    assert "PUT" not in [r.method for r in net.sent]  # the request itself is never sent
    assert [(c.code, c.ok) for c in outcome.diagnosis] == [
        ("allow-origin", True),
        ("allow-methods", True),
        ("allow-headers", True),
        ("allow-headers", False),
    ]
    assert [c.option for c in outcome.failures] == ["add 'Authorization' to allow_headers"]


def test_diagnosis_of_a_refused_origin() -> None:
    net = policy_sender(CORSPolicy(allow_origins=["https://other.example"], allow_methods=["PUT"]))
    outcome = fetch(Request(URL, ORIGIN, "PUT"), net)
    assert [c.option for c in outcome.failures] == [f"add {ORIGIN!r} to allow_origins"]


def test_diagnosis_of_a_refused_method_and_private_network() -> None:
    net = policy_sender(CORSPolicy(allow_origins=[ORIGIN]))
    outcome = fetch(Request(URL, ORIGIN, "DELETE", private_network=True), net)
    assert [c.code for c in outcome.failures] == ["allow-methods", "allow-private-network"]


def test_refused_simple_request_is_blocked() -> None:
    net = policy_sender(CORSPolicy(allow_origins=["https://other.example"]))
    outcome = fetch(Request(URL, ORIGIN), net)
    assert not outcome.allowed
    assert [c.code for c in outcome.failures] == ["allow-origin"]


def test_same_origin_request_is_not_cors() -> None:
    net = Network(lambda r: response(200, x_secret="1", set_cookie="a"))
    outcome = fetch(Request("https://app.example/api", ORIGIN, "DELETE"), net)
    assert outcome.allowed
    assert [r.method for r in net.sent] == ["DELETE"]
    assert outcome.readable_header_names == ("x-secret",)


def redirecting(routes: dict[tuple[str, str], HTTPResponse]) -> Network:
    return Network(lambda r: routes[(r.method, r.url)])


def test_preflight_must_not_redirect() -> None:
    net = redirecting(
        {("OPTIONS", URL): granted(308, location=URL + "/", access_control_allow_methods="PUT")}
    )
    outcome = fetch(Request(URL, ORIGIN, "PUT"), net)
    assert not outcome.allowed
    assert [c.code for c in outcome.failures] == ["preflight-status"]


def test_cross_origin_redirect_makes_the_origin_null_and_drops_authorization() -> None:
    other = "http://cdn.test/items"
    net = redirecting(
        {
            ("GET", URL): response(302, location=other, access_control_allow_origin=ORIGIN),
            ("OPTIONS", URL): granted(access_control_allow_headers="X-A, Authorization"),
            ("OPTIONS", other): response(
                204, access_control_allow_origin="null", access_control_allow_headers="X-A"
            ),
            ("GET", other): response(200, access_control_allow_origin="null"),
        }
    )
    outcome = fetch(Request(URL, ORIGIN, headers=(("X-A", "1"), ("Authorization", "x"))), net)
    origins = [dict(r.headers)["Origin"] for r in net.sent]
    assert origins == [ORIGIN, ORIGIN, "null", "null"]
    assert "authorization" not in dict(net.sent[2].headers)["Access-Control-Request-Headers"]
    assert outcome.allowed
    assert "origin-null-after-redirect" in [a.code for a in outcome.advice]


def test_same_origin_redirect_keeps_the_origin() -> None:
    net = redirecting(
        {
            ("GET", URL): response(301, location="/v2", access_control_allow_origin=ORIGIN),
            ("GET", "http://api.test/v2"): response(200, access_control_allow_origin=ORIGIN),
        }
    )
    outcome = fetch(Request(URL, ORIGIN), net)
    assert outcome.allowed
    assert [dict(r.headers)["Origin"] for r in net.sent] == [ORIGIN, ORIGIN]


def test_redirect_response_itself_must_pass_the_cors_check() -> None:
    net = redirecting({("GET", URL): response(302, location="/v2")})
    outcome = fetch(Request(URL, ORIGIN), net)
    assert not outcome.allowed
    assert len(net.sent) == 1


def test_303_turns_post_into_get_and_drops_body_headers() -> None:
    net = redirecting(
        {
            ("POST", URL): response(303, location="/done", access_control_allow_origin=ORIGIN),
            ("GET", "http://api.test/done"): response(200, access_control_allow_origin=ORIGIN),
        }
    )
    outcome = fetch(Request(URL, ORIGIN, "POST", (("Content-Type", "text/plain"),)), net)
    assert outcome.allowed
    assert net.sent[1].method == "GET"
    assert "Content-Type" not in dict(net.sent[1].headers)


def test_redirect_loops_are_capped() -> None:
    net = Network(lambda r: response(302, location=r.url, access_control_allow_origin=ORIGIN))
    outcome = fetch(Request(URL, ORIGIN), net, max_redirects=3)
    assert not outcome.allowed
    assert len(net.sent) == 4
    assert [c.code for c in outcome.failures] == ["redirect"]


def test_redirect_to_a_non_http_url_fails() -> None:
    net = redirecting(
        {("GET", URL): response(302, location="data:,x", access_control_allow_origin=ORIGIN)}
    )
    assert [c.code for c in fetch(Request(URL, ORIGIN), net).failures] == ["redirect"]


# --- the mirror property: the core's grants pass the browser's checks ---------------------------

_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "patch"])
_HEADERS = st.sampled_from(["X-A", "X-B", "Authorization", "Content-Type"])


@settings(max_examples=200, deadline=None)
@given(
    allowed_methods=st.lists(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "*"]), max_size=3
    ),
    allowed_headers=st.lists(
        st.sampled_from(["X-A", "X-B", "Authorization", "Content-Type", "*"]), max_size=3
    ),
    method=_METHODS,
    headers=st.lists(_HEADERS, max_size=3, unique=True),
    credentials=st.booleans(),
    grant=st.sampled_from(["listed", "other", "*"]),
    profile=st.sampled_from([SPEC, CHROMIUM, FIREFOX]),
)
def test_core_and_browser_agree(
    allowed_methods: list[str],
    allowed_headers: list[str],
    method: str,
    headers: list[str],
    credentials: bool,
    grant: str,
    profile: Profile,
) -> None:
    """Whatever the policy, a browser reads the response exactly when the policy means to
    grant it: the core's answers pass the browser's checks, its refusals fail them."""
    if credentials:  # '*' origins with credentials is a ConfigError by design
        grant = "listed" if grant == "*" else grant
    origins = {"listed": [ORIGIN], "other": ["https://other.example"], "*": ["*"]}[grant]
    policy = CORSPolicy(
        allow_origins=origins,
        allow_methods=allowed_methods,
        allow_headers=allowed_headers,
        allow_credentials=credentials,
    )
    request = Request(
        URL,
        ORIGIN,
        method,
        tuple((h, "application/json" if h == "Content-Type" else "1") for h in headers),
        credentials=credentials,
    )
    outcome = fetch(request, policy_sender(policy), profile)
    norm = normalize_method(method)
    allowed_lower = {h.lower() for h in allowed_headers}
    expected = (
        grant != "other"
        and (norm in ("GET", "HEAD", "POST") or norm in allowed_methods or "*" in allowed_methods)
        # The policy's '*' covers every header, Authorization included: it is answered by
        # echoing the requested names, which every browser accepts, credentials or not.
        and all(h.lower() in allowed_lower or "*" in allowed_lower for h in headers)
    )
    assert outcome.allowed is expected
