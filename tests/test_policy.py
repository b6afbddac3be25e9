"""CORSPolicy: validation, normalisation, value semantics and every decision rule."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossorigin import ConfigError, CORSPolicy, Problem, Reason, Refusal, RequestKind
from crossorigin.decision import sanitize
from crossorigin.policy import ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACMA, VARY, policy_from_options


def header_names(pairs: tuple[tuple[bytes, bytes], ...]) -> set[bytes]:
    return {name for name, _ in pairs}


# --- regressions -----------------------------------------------------------------------------


def test_public_policy_with_listed_origins_grants_star_to_everyone() -> None:
    # A listed origin used to get its own ACAO without Vary: Origin, so a shared cache could
    # serve https://a.com's grant to https://b.com.
    policy = CORSPolicy(allow_origins=["*", "https://a.com", "null"])
    for origin in ("https://a.com", "null", "https://b.com"):
        actual = policy.decide("GET", origin)
        assert actual.headers[0] == (ACAO, b"*")
        preflight = policy.decide("OPTIONS", origin, "GET")
        assert preflight.allowed
        assert (ACAO, b"*") in preflight.headers


@pytest.mark.parametrize(
    "regex",
    ["(" * 5000 + ")" * 5000, "a{4294967296}", "x{1,99999999999999999999}"],
)
def test_regex_that_python_cannot_compile_is_a_config_error(regex: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(allow_origin_regex=regex)
    assert caught.value.problems[0].option == "allow_origin_regex"


def test_acrh_with_unicode_case_folding_to_an_allowed_name_is_refused() -> None:
    # "\u212a" (KELVIN SIGN) lowercases to ASCII "k": not a token, so never a listed name.
    policy = CORSPolicy(allow_origins=["https://a.com"], allow_headers=["X-Key"])
    decision = policy.decide("OPTIONS", "https://a.com", "POST", "x-\u212aey")
    assert not decision.allowed
    assert policy.decide("OPTIONS", "https://a.com", "POST", "X-KEY").allowed


def test_regex_flags_survive_replace_and_count_in_equality() -> None:
    verbose = re.compile(r"https:// [a-z]+ \.example\.com", re.VERBOSE)
    policy = CORSPolicy(allow_origin_regex=verbose)
    assert policy.is_origin_allowed("https://a.example.com")
    assert policy.replace(max_age=5).is_origin_allowed("https://a.example.com")
    assert policy != CORSPolicy(allow_origin_regex=verbose.pattern)
    assert policy == CORSPolicy(allow_origin_regex=re.compile(verbose.pattern, re.VERBOSE))
    assert hash(policy) == hash(CORSPolicy(allow_origin_regex=verbose))


# --- validation: every ConfigError case ------------------------------------------------------

ORIGIN = "https://app.example.com"


def problems_of(**options: Any) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(**options)
    for problem in caught.value.problems:
        assert problem.fix, problem
        assert str(problem) in str(caught.value)
    return caught.value.problems


def only_problem(**options: Any) -> Problem:
    (problem,) = problems_of(**options)
    return problem


def test_star_expose_headers_with_credentials_is_refused() -> None:
    # Exposed headers cannot be echoed (the server does not know what a script will read),
    # and browsers read '*' literally there for credentialed requests.
    problem = only_problem(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["*"])
    assert problem.option == "expose_headers"
    assert "credentialed" in problem.message
    CORSPolicy(allow_origins=[ORIGIN], expose_headers=["*"])  # fine without credentials


@pytest.mark.parametrize("credentials", [False, True])
def test_star_methods_and_headers_are_accepted_with_or_without_credentials(
    credentials: bool,
) -> None:
    # FastAPI's tutorial configuration: the origins are restricted, so letting them use any
    # method or header is what the user wrote (it used to be refused with credentials).
    policy = CORSPolicy(
        allow_origins=[ORIGIN],
        allow_credentials=credentials,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    assert policy.allow_methods == ("*",)
    assert policy.allow_headers == ("*",)
    decision = policy.decide("OPTIONS", ORIGIN, "PURGE", "authorization,x-custom")
    assert decision.allowed
    assert (ACAM, b"PURGE") in decision.headers
    assert (ACAH, b"authorization, x-custom") in decision.headers
    assert ((ACAC, b"true") in decision.headers) is credentials


def test_star_origin_with_credentials_is_refused() -> None:
    problem = only_problem(allow_origins="*", allow_credentials=True)
    assert problem.option == "allow_origins"
    assert "allow_credentials" in problem.message


def test_star_origin_alongside_others_with_credentials_is_refused() -> None:
    problem = only_problem(allow_origins=[ORIGIN, "*"], allow_credentials=True)
    assert problem.value == "*"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("https://a.com/api", "a path"),
        ("https://a.com?x=1", "a query"),
        ("https://a.com#x", "a fragment"),
        ("https://me@a.com", "userinfo"),
        ("https://a.com/", "slash"),
        ("a.com", "no scheme"),
        (" https://a.com", "whitespace"),
        ("https://bücher.example", "punycode"),
        ("https://a.com:99999", "invalid port"),
        ("https://*", "every host"),
        ("https://*.com", "top-level domain"),
        ("https://api.*.example.com", "leftmost"),
        ("https://*.github.io", "public suffix"),
    ],
)
def test_malformed_or_unsafe_origin_is_refused(entry: str, message: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN, entry])
    assert problem.option == "allow_origins"
    assert problem.value == entry
    assert message in problem.message


@pytest.mark.parametrize("option", ["allow_methods", "allow_headers", "expose_headers"])
@pytest.mark.parametrize("value", ["X Y", "", "X-A,X-B", "Ä", 5, None, b"X-A"])
def test_invalid_tokens_are_refused(option: str, value: object) -> None:
    problem = only_problem(allow_origins=[ORIGIN], **{option: [value]})
    assert problem.option == option
    assert problem.value == value
    assert "valid HTTP" in problem.message


@pytest.mark.parametrize("method", ["CONNECT", "TRACE", "TRACK", "connect", "Trace"])
def test_forbidden_methods_are_refused(method: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN], allow_methods=["GET", method])
    assert "forbidden method" in problem.message
    assert problem.fix == f"remove {method!r}"


@pytest.mark.parametrize("method", ["get", "Post", "delete", "put", "options", "head"])
def test_methods_browsers_uppercase_must_be_uppercase(method: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN], allow_methods=[method])
    assert "case-sensitively" in problem.message
    assert problem.fix == f"write {method.upper()!r}"


def test_other_methods_keep_their_case() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["patch", "PATCH", "Purge"])
    assert policy.allow_methods == ("patch", "PATCH", "Purge")


@pytest.mark.parametrize(
    "name",
    [
        "Cookie",
        "cookie",
        "Host",
        "Origin",
        "Content-Length",
        "Sec-Fetch-Site",
        "Proxy-Authorization",
    ],
)
def test_forbidden_request_headers_are_refused_in_allow_headers(name: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN], allow_headers=["X-A", name])
    assert problem.option == "allow_headers"
    assert "forbidden request header" in problem.message
    # The same names are fine to expose: they are response headers there.
    CORSPolicy(allow_origins=[ORIGIN], expose_headers=[name])


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "Set-Cookie2"])
def test_set_cookie_is_never_exposed(name: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN], expose_headers=["X-A", name])
    assert problem.option == "expose_headers"
    assert "never expose" in problem.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "negative"),
        (86401, "exceeds"),
        (10**12, "exceeds"),
        ("600", "whole number"),
        (1.5, "whole number"),
        (600.0, "whole number"),
        (True, "whole number"),
    ],
)
def test_bad_max_age(value: object, message: str) -> None:
    problem = only_problem(allow_origins=[ORIGIN], max_age=value)
    assert problem.option == "max_age"
    assert message in problem.message


@pytest.mark.parametrize("value", [0, 1, 7200, 86400, None])
def test_good_max_age(value: int | None) -> None:
    assert CORSPolicy(allow_origins=[ORIGIN], max_age=value).max_age == value


@pytest.mark.parametrize("value", [199, 300, 301, 403, 500, "204", 204.0, True, None])
def test_bad_preflight_status(value: object) -> None:
    problem = only_problem(allow_origins=[ORIGIN], preflight_status=value)
    assert problem.option == "preflight_status"
    assert "non-2xx" in problem.message


@pytest.mark.parametrize("value", [200, 204, 299])
def test_good_preflight_status(value: int) -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], preflight_status=value)
    assert policy.decide("OPTIONS", ORIGIN, "GET").status == value


@pytest.mark.parametrize("option", ["allow_credentials", "allow_private_network"])
@pytest.mark.parametrize("value", [1, "true", None, "False"])
def test_flags_must_be_bool(option: str, value: object) -> None:
    problem = only_problem(allow_origins=[ORIGIN], **{option: value})
    assert problem.option == option


@pytest.mark.parametrize(
    "options",
    [{}, {"allow_origins": []}, {"allow_origins": ()}, {"allow_origin_regex": None}],
)
def test_a_policy_allowing_no_origin_is_refused(options: dict[str, Any]) -> None:
    problem = only_problem(**options)
    assert problem.option == "allow_origins"
    assert "allows no origin" in problem.message


def test_regex_alone_is_enough() -> None:
    CORSPolicy(allow_origin_regex=r"https://[a-z]+\.example\.com")


def test_invalid_origins_do_not_add_an_allows_no_origin_problem() -> None:
    problem = only_problem(allow_origins=["https://a.com/"])
    assert "slash" in problem.message


@pytest.mark.parametrize(
    ("regex", "message"),
    [
        ("(", "not a valid regular expression"),
        (5, "not a valid regular expression"),
        (b"https://a\\.com", "str pattern"),
        (re.compile(b"https://a\\.com"), "str pattern"),
        (".*", "names no registrable domain"),
        ("https://.*", "names no registrable domain"),
        (r"https?://.+", "over-matches"),
        (r"https://[^/]+", "over-matches"),
    ],
)
def test_bad_regex(regex: object, message: str) -> None:
    problem = only_problem(allow_origin_regex=regex)
    assert problem.option == "allow_origin_regex"
    assert message in problem.message


def test_every_problem_is_reported_at_once_with_its_fix() -> None:
    problems = problems_of(
        allow_origins=["https://a.com/", "*", "https://*.com"],
        allow_credentials=True,
        allow_methods=["get", "TRACE"],
        allow_headers=["Cookie", "X Y"],
        expose_headers=["Set-Cookie"],
        max_age=-1,
        preflight_status=500,
    )
    assert [p.option for p in problems] == [
        "allow_origins",
        "allow_origins",
        "allow_origins",
        "allow_methods",
        "allow_methods",
        "allow_headers",
        "allow_headers",
        "expose_headers",
        "max_age",
        "preflight_status",
    ]
    with pytest.raises(ConfigError, match=r"\(10 problems\)"):
        CORSPolicy(allow_origins=["https://a.com/"] * 10)


def test_config_error_is_a_value_error_with_one_line_per_problem() -> None:
    with pytest.raises(ValueError, match="invalid CORS configuration") as caught:
        CORSPolicy(allow_origins=["https://a.com/"], max_age=-1)
    assert isinstance(caught.value, ConfigError)
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid CORS configuration (2 problems):"
    assert lines[1].startswith("  - allow_origins='https://a.com/': ends with a slash")
    assert "Fix: write 'https://a.com'." in lines[1]
    assert lines[2].startswith("  - max_age=-1: is negative")


# --- policy_from_options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("allow_origin", "did you mean 'allow_origins'?"),
        ("allowed_origins", "did you mean 'allow_origins'?"),
        ("allow_header", "did you mean 'allow_headers'?"),
        ("max_ages", "did you mean 'max_age'?"),
        ("supports_credentials", "did you mean 'allow_credentials'?"),
        ("zzz", "valid options are allow_origins, allow_origin_regex, "),
    ],
)
def test_unknown_option_names_get_a_suggestion(name: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_options(None, {"allow_origins": [ORIGIN], name: True})
    (problem,) = caught.value.problems
    assert problem.option == name
    assert problem.fix.startswith(suggestion)


def test_every_unknown_option_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_options(None, {"origin": 1, "method": 2})
    assert [p.option for p in caught.value.problems] == ["origin", "method"]


def test_policy_and_options_together_are_refused() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    with pytest.raises(ConfigError) as caught:
        policy_from_options(policy, {"max_age": 5, "allow_credentials": True})
    (problem,) = caught.value.problems
    assert problem.option == "policy"
    assert "allow_credentials, max_age" in problem.message


def test_policy_must_be_a_cors_policy() -> None:
    with pytest.raises(ConfigError, match="is not a CORSPolicy"):
        policy_from_options({"allow_origins": [ORIGIN]}, {})  # type: ignore[arg-type]


def test_policy_from_options_returns_the_policy_or_builds_one() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    assert policy_from_options(policy, {}) is policy
    assert policy_from_options(None, {"allow_origins": [ORIGIN]}) == policy


# --- normalisation ---------------------------------------------------------------------------


def test_origins_are_normalised_grouped_and_deduplicated() -> None:
    policy = CORSPolicy(
        allow_origins=[
            "http://localhost:*",
            "HTTPS://*.Example.org:443",
            "HTTPS://App.Example.COM:443",
            "https://app.example.com",
            "http://a.com:80",
            "https://a.com:8443",
            "NULL",
            "null",
        ]
    )
    assert policy.allow_origins == (
        "null",
        "https://app.example.com",
        "http://a.com",
        "https://a.com:8443",
        "https://*.example.org",
        "http://localhost:*",
    )
    for origin in ("https://app.example.com", "http://a.com", "https://a.com:8443", "null"):
        assert policy.is_origin_allowed(origin)
    assert not policy.is_origin_allowed("https://a.com")


def test_single_strings_are_one_entry() -> None:
    policy = CORSPolicy(
        allow_origins=ORIGIN, allow_methods="PUT", allow_headers="X-A", expose_headers="X-B"
    )
    assert policy.allow_origins == (ORIGIN,)
    assert policy.allow_methods == ("PUT",)
    assert policy.allow_headers == ("X-A",)
    assert policy.expose_headers == ("X-B",)


def test_names_deduplicated_keeping_first_spelling_and_order() -> None:
    policy = CORSPolicy(
        allow_origins=[ORIGIN],
        allow_methods=["PUT", "DELETE", "PUT"],
        allow_headers=["X-B", "x-a", "X-A", "x-b"],
        expose_headers=("X-Total", "x-total"),
    )
    assert policy.allow_methods == ("PUT", "DELETE")
    assert policy.allow_headers == ("X-B", "x-a")
    assert policy.expose_headers == ("X-Total",)


def test_defaults() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    assert policy.allow_origin_regex is None
    assert policy.allow_methods == ("GET", "HEAD", "POST")
    assert policy.allow_headers == ()
    assert policy.expose_headers == ()
    assert policy.allow_credentials is False
    assert policy.max_age is None
    assert policy.allow_private_network is False
    assert policy.preflight_status == 204


def test_regex_is_readable_as_its_pattern() -> None:
    compiled = re.compile(r"https://[a-z]+\.example\.com")
    assert CORSPolicy(allow_origin_regex=compiled).allow_origin_regex == compiled.pattern
    assert CORSPolicy(allow_origin_regex=compiled.pattern).allow_origin_regex == compiled.pattern


# --- value semantics ------------------------------------------------------------------------


def test_policies_are_immutable() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    with pytest.raises(AttributeError, match="immutable"):
        policy.allow_credentials = True
    with pytest.raises(AttributeError, match="immutable"):
        policy.brand_new = 1
    with pytest.raises(AttributeError, match="immutable"):
        del policy.max_age
    assert not hasattr(policy, "__dict__")
    assert policy.allow_credentials is False


def test_equality_and_hash_follow_the_normalised_configuration() -> None:
    one = CORSPolicy(allow_origins=["https://a.com:443"], allow_methods=["PUT"])
    two = CORSPolicy(allow_origins="HTTPS://A.COM", allow_methods="PUT")
    three = CORSPolicy(allow_origins=["https://a.com"], allow_methods=["PUT"], max_age=5)
    assert one == two
    assert hash(one) == hash(two)
    assert one != three
    assert len({one, two, three}) == 2
    assert one != "CORSPolicy(allow_origins=('https://a.com',))"
    assert one.__eq__(object()) is NotImplemented


def test_repr_shows_only_what_differs_from_the_defaults() -> None:
    assert repr(CORSPolicy(allow_origins=["https://a.com"])) == (
        "CORSPolicy(allow_origins=('https://a.com',))"
    )
    assert repr(CORSPolicy(allow_origins="*", max_age=600, allow_methods=["PUT"])) == (
        "CORSPolicy(allow_origins=('*',), allow_methods=('PUT',), max_age=600)"
    )


def test_replace_builds_a_new_validated_policy() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN, "https://*.example.org"], max_age=5)
    changed = policy.replace(allow_credentials=True, max_age=None)
    assert changed.allow_credentials is True
    assert changed.max_age is None
    assert changed.allow_origins == policy.allow_origins
    assert policy.allow_credentials is False
    assert policy.max_age == 5
    assert policy.replace() == policy
    with pytest.raises(ConfigError, match="allow_credentials"):
        CORSPolicy(allow_origins="*").replace(allow_credentials=True)
    with pytest.raises(ConfigError, match="did you mean 'max_age'"):
        policy.replace(maxage=5)


# --- decisions: not CORS ---------------------------------------------------------------------


def test_no_origin_is_not_cors_and_varies_on_origin() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["X-A"])
    for decision in (
        policy.decide("GET", None),
        policy.decide("OPTIONS", None, "PUT", "x-a"),
        policy.decide("POST", None),
    ):
        assert decision.kind is RequestKind.NOT_CORS
        assert decision.allowed
        assert decision.headers == ()
        assert decision.vary == b"Origin"
        assert decision.status == 0
        assert decision.refusals == ()


def test_no_origin_on_a_public_policy_gets_the_constant_grant_and_no_vary() -> None:
    policy = CORSPolicy(allow_origins="*", expose_headers=["X-A"], max_age=60)
    decision = policy.decide("GET", None)
    assert decision.kind is RequestKind.NOT_CORS
    assert decision.headers == ((ACAO, b"*"), (ACEH, b"X-A"))
    assert decision.vary == b""


# --- decisions: actual requests --------------------------------------------------------------


def test_allowed_exact_origin() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN, "https://b.com"])
    decision = policy.decide("GET", ORIGIN)
    assert decision.kind is RequestKind.ACTUAL
    assert decision.allowed
    assert decision.headers == ((ACAO, ORIGIN.encode()),)
    assert decision.vary == b"Origin"
    assert decision.status == 0
    assert decision.refusals == ()
    assert policy.decide("DELETE", "https://b.com").headers == ((ACAO, b"https://b.com"),)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://app.example.com/",
        "http://app.example.com",
        "https://app.example.com.",
        "https://app.example.com ",
        "https://app.example.com, https://app.example.com",  # a repeated Origin header
        "",
        "null",
        "*",
    ],
)
def test_refused_origin_gets_no_grant_but_still_varies(origin: str) -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_credentials=True, expose_headers=["X-A"])
    decision = policy.decide("GET", origin)
    assert decision.kind is RequestKind.ACTUAL
    assert not decision.allowed
    assert decision.headers == ()
    assert decision.vary == b"Origin"
    assert decision.status == 0
    assert decision.refusals == (Refusal(Reason.ORIGIN, origin),)


def test_public_policy_grants_star_to_any_origin() -> None:
    policy = CORSPolicy(allow_origins="*")
    for origin in ("https://a.com", "null", "garbage\r\n"):
        decision = policy.decide("PUT", origin)
        assert decision.allowed
        assert decision.headers == ((ACAO, b"*"),)
        assert decision.vary == b""


def test_null_only_when_listed() -> None:
    assert not CORSPolicy(allow_origins=[ORIGIN]).is_origin_allowed("null")
    assert not CORSPolicy(allow_origin_regex=r"null|https://a\.com").is_origin_allowed("null")
    policy = CORSPolicy(allow_origins=[ORIGIN, "null"])
    assert policy.decide("GET", "null").headers == ((ACAO, b"null"),)
    assert not policy.is_origin_allowed("NULL")
    assert not policy.is_origin_allowed("null ")


def test_options_without_request_method_is_an_actual_request() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], max_age=60, expose_headers=["X-A"])
    decision = policy.decide("OPTIONS", ORIGIN, None, "x-b")
    assert decision.kind is RequestKind.ACTUAL
    assert decision.headers == ((ACAO, ORIGIN.encode()), (ACEH, b"X-A"))


def test_request_method_on_a_non_options_request_is_an_actual_request() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    decision = policy.decide("PUT", ORIGIN, "DELETE", "x-not-allowed")
    assert decision.kind is RequestKind.ACTUAL
    assert decision.allowed
    assert policy.decide("options", ORIGIN, "GET").kind is RequestKind.ACTUAL


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com", False),
        ("http://a.example.com", False),
        ("https://a.example.com:8443", False),
        ("https://a.example.com.evil.com", False),
        ("https://evilexample.com", False),
        ("https://a.example.org", True),
        ("https://a.example.org:9000", True),
        ("https://example.org:9000", False),
        ("http://localhost", True),
        ("http://localhost:5173", True),
        ("https://localhost:5173", False),
        ("http://localhost.evil.com:5173", False),
    ],
)
def test_patterns(origin: str, allowed: bool) -> None:
    policy = CORSPolicy(
        allow_origins=["https://*.example.com", "https://*.example.org:*", "http://localhost:*"]
    )
    decision = policy.decide("GET", origin)
    assert decision.allowed is allowed
    assert decision.headers == (((ACAO, origin.encode()),) if allowed else ())
    assert decision.vary == b"Origin"
    assert policy.decide("GET", origin).headers == decision.headers  # memoised alike


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://shop.example.com.evil.com", False),
        ("https://evil.com/https://shop.example.com", False),
        ("https://shop.example.com:8443", False),
        ("https://SHOP.example.com", False),
    ],
)
def test_regex_is_a_full_match(origin: str, allowed: bool) -> None:
    policy = CORSPolicy(allow_origin_regex=r"https://.*\.example\.com")
    assert policy.is_origin_allowed(origin) is allowed


def test_pattern_memo_is_bounded_and_does_not_change_answers() -> None:
    policy = CORSPolicy(allow_origins=["https://*.example.com"])
    origins = [f"https://t{i}.example.com" for i in range(1500)]
    for origin in origins:
        assert policy.decide("GET", origin).headers == ((ACAO, origin.encode()),)
    assert all(policy.is_origin_allowed(origin) for origin in origins)
    assert len(policy._pattern_memo) <= 1024


def test_credentials_header_only_when_configured_and_granted() -> None:
    with_credentials = CORSPolicy(allow_origins=[ORIGIN], allow_credentials=True)
    without = CORSPolicy(allow_origins=[ORIGIN])
    assert (ACAC, b"true") in with_credentials.decide("GET", ORIGIN).headers
    assert (ACAC, b"true") in with_credentials.decide("OPTIONS", ORIGIN, "GET").headers
    assert ACAC not in header_names(without.decide("GET", ORIGIN).headers)
    assert ACAC not in header_names(without.decide("OPTIONS", ORIGIN, "GET").headers)
    assert with_credentials.decide("GET", "https://evil.com").headers == ()
    assert ACAC not in header_names(with_credentials.decide("GET", None).headers)


def test_expose_headers_only_on_actual_responses() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], expose_headers=["X-Total", "ETag"])
    assert (ACEH, b"X-Total, ETag") in policy.decide("GET", ORIGIN).headers
    assert ACEH not in header_names(policy.decide("OPTIONS", ORIGIN, "GET").headers)


@pytest.mark.parametrize("max_age", [0, 600])
def test_max_age_only_on_preflights(max_age: int) -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], max_age=max_age)
    assert (ACMA, str(max_age).encode()) in policy.decide("OPTIONS", ORIGIN, "GET").headers
    assert ACMA not in header_names(policy.decide("GET", ORIGIN).headers)
    assert ACMA not in header_names(
        CORSPolicy(allow_origins=[ORIGIN]).decide("OPTIONS", ORIGIN, "GET").headers
    )


# --- decisions: preflights -------------------------------------------------------------------


def test_allowed_preflight_carries_the_whole_answer() -> None:
    policy = CORSPolicy(
        allow_origins=[ORIGIN],
        allow_methods=["GET", "PUT", "DELETE"],
        allow_headers=["Content-Type", "X-Api-Key"],
        allow_credentials=True,
        max_age=600,
    )
    decision = policy.decide("OPTIONS", ORIGIN, "PUT", "content-type,x-api-key")
    assert decision.kind is RequestKind.PREFLIGHT
    assert decision.allowed
    assert decision.status == 204
    assert decision.headers == (
        (ACAO, ORIGIN.encode()),
        (ACAC, b"true"),
        (ACAM, b"GET, PUT, DELETE"),
        (ACAH, b"Content-Type, X-Api-Key"),
        (ACMA, b"600"),
        (VARY, b"Origin"),
    )
    assert decision.vary == b""
    assert decision.refusals == ()


def test_public_preflight_has_no_vary() -> None:
    policy = CORSPolicy(allow_origins="*", allow_methods=["PUT"], allow_headers=["X-A"])
    decision = policy.decide("OPTIONS", "https://any.site", "PUT", "x-a")
    assert decision.allowed
    assert decision.headers == ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"X-A"))


def test_public_star_preflight_echoes_and_varies_on_what_it_echoes() -> None:
    # It used to answer a literal '*', which never covers Authorization; the echo works in
    # every browser, so '*' means the same with and without credentials.
    policy = CORSPolicy(allow_origins="*", allow_methods="*", allow_headers="*")
    decision = policy.decide("OPTIONS", "https://any.site", "PURGE", "x-anything")
    assert decision.allowed
    assert decision.headers == (
        (ACAO, b"*"),
        (ACAM, b"PURGE"),
        (ACAH, b"x-anything"),
        (VARY, b"Access-Control-Request-Method, Access-Control-Request-Headers"),
    )


@pytest.mark.parametrize(
    ("origin", "method", "headers", "private_network", "refusals"),
    [
        ("https://evil.com", "GET", None, None, [(Reason.ORIGIN, "https://evil.com")]),
        (ORIGIN, "PATCH", None, None, [(Reason.METHOD, "PATCH")]),
        (ORIGIN, "GET", "x-other", None, [(Reason.HEADERS, "x-other")]),
        (ORIGIN, "GET", None, "true", [(Reason.PRIVATE_NETWORK, "true")]),
        (
            "https://evil.com",
            "DELETE",
            "X-B, x-api-key, x-a",
            "true",
            [
                (Reason.ORIGIN, "https://evil.com"),
                (Reason.METHOD, "DELETE"),
                (Reason.HEADERS, "x-a, x-b"),
                (Reason.PRIVATE_NETWORK, "true"),
            ],
        ),
    ],
)
def test_refused_preflight_is_403_with_no_grant_and_every_reason(
    origin: str,
    method: str,
    headers: str | None,
    private_network: str | None,
    refusals: list[tuple[Reason, str]],
) -> None:
    policy = CORSPolicy(
        allow_origins=[ORIGIN],
        allow_methods=["PUT"],
        allow_headers=["X-Api-Key"],
        allow_credentials=True,
        max_age=600,
    )
    decision = policy.decide("OPTIONS", origin, method, headers, private_network)
    assert decision.kind is RequestKind.PREFLIGHT
    assert not decision.allowed
    assert decision.status == 403
    assert decision.headers == ((VARY, b"Origin"),)
    assert [(r.reason, r.value) for r in decision.refusals] == refusals


def test_refused_public_preflight_has_no_headers_at_all() -> None:
    decision = CORSPolicy(allow_origins="*").decide("OPTIONS", "https://a.com", "PUT")
    assert decision.status == 403
    assert decision.headers == ()


def test_safelisted_methods_need_no_listing() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["PUT"])
    for method in ("GET", "HEAD", "POST", "PUT"):
        assert policy.decide("OPTIONS", ORIGIN, method).allowed, method
    assert not policy.decide("OPTIONS", ORIGIN, "DELETE").allowed


def test_methods_compare_case_sensitively() -> None:
    upper = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["PATCH"])
    lower = CORSPolicy(allow_origins=[ORIGIN], allow_methods=["patch"])
    assert upper.decide("OPTIONS", ORIGIN, "PATCH").allowed
    assert not upper.decide("OPTIONS", ORIGIN, "patch").allowed
    assert lower.decide("OPTIONS", ORIGIN, "patch").allowed
    assert not lower.decide("OPTIONS", ORIGIN, "PATCH").allowed
    assert not upper.decide("OPTIONS", ORIGIN, "get").allowed


def test_star_methods_allow_any_method_token_and_echo_it() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_methods="*", max_age=60)
    for method in ("PURGE", "patch", "DELETE", "GET", "X" * 64):
        decision = policy.decide("OPTIONS", ORIGIN, method)
        assert decision.allowed, method
        assert decision.headers == (
            (ACAO, ORIGIN.encode()),
            (ACAM, method.encode()),
            (ACMA, b"60"),
            (VARY, b"Origin, Access-Control-Request-Method"),
        )
    for method in ("", "GET POST", "PUT\r\n", "DÉLÉTE", "X" * 65, "PUT,DELETE"):
        decision = policy.decide("OPTIONS", ORIGIN, method)
        assert not decision.allowed, method
        assert decision.refusals == (Refusal(Reason.METHOD, method),)
        assert decision.headers == ((VARY, b"Origin, Access-Control-Request-Method"),)


@pytest.mark.parametrize(
    "request_headers",
    [
        "content-type,x-api-key",
        "x-api-key,content-type",
        "Content-Type, X-API-KEY",
        " x-api-key ,, content-type ,",
        "\tx-api-key\t,\tcontent-type\t",
        "x-api-key,x-api-key",
        "x-api-key",
        "",
        ",,,",
        " ",
    ],
)
def test_request_headers_in_any_order_case_and_spacing(request_headers: str) -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_headers=["X-Api-Key", "Content-Type"])
    assert policy.decide("OPTIONS", ORIGIN, "GET", request_headers).allowed


@pytest.mark.parametrize(
    ("request_headers", "refused"),
    [
        ("x-api-key,x-other", "x-other"),
        ("X-Other, X-API-KEY", "x-other"),
        ("x-api-key x-other", "x-api-key x-other"),
        ("x-api-key;q=1", "x-api-key;q=1"),
        ("x-api-key\r\n", "x-api-key\r\n"),
        ("authorization", "authorization"),
    ],
)
def test_unlisted_request_headers_are_refused(request_headers: str, refused: str) -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_headers=["X-Api-Key", "Content-Type"])
    decision = policy.decide("OPTIONS", ORIGIN, "GET", request_headers)
    assert decision.refusals == (Refusal(Reason.HEADERS, refused),)


@pytest.mark.parametrize(
    ("requested", "echoed"),
    [
        ("x-anything,content-type", b"content-type, x-anything"),
        ("authorization", b"authorization"),
        ("Authorization", b"authorization"),
        ("x-a, AUTHORIZATION", b"authorization, x-a"),
        (" x-b ,, x-a,x-b ,", b"x-a, x-b"),
    ],
)
def test_star_headers_cover_every_token_authorization_included(
    requested: str, echoed: bytes
) -> None:
    # '*' in Access-Control-Allow-Headers never covers Authorization in browsers; an echo
    # does, so the policy's '*' keeps its plain meaning: every requested name.
    star = CORSPolicy(allow_origins=[ORIGIN], allow_headers="*", allow_credentials=True)
    decision = star.decide("OPTIONS", ORIGIN, "GET", requested)
    assert decision.allowed
    assert decision.headers == (
        (ACAO, ORIGIN.encode()),
        (ACAC, b"true"),
        (ACAM, b"GET, HEAD, POST"),
        (ACAH, echoed),
        (VARY, b"Origin, Access-Control-Request-Headers"),
    )


@pytest.mark.parametrize("requested", ["x a", "x-a;q=1", "x-a\r\nset-cookie: a", "x-é"])
def test_star_headers_never_echo_a_non_token(requested: str) -> None:
    star = CORSPolicy(allow_origins=[ORIGIN], allow_headers="*")
    decision = star.decide("OPTIONS", ORIGIN, "GET", requested)
    assert not decision.allowed
    assert decision.headers == ((VARY, b"Origin, Access-Control-Request-Headers"),)
    (refusal,) = decision.refusals
    assert refusal.reason is Reason.HEADERS


def test_star_headers_echo_is_bounded() -> None:
    star = CORSPolicy(allow_origins=[ORIGIN], allow_headers="*")
    too_many = ",".join(f"x-{i:04}" for i in range(600))  # 4798 chars to echo: refused
    assert not star.decide("OPTIONS", ORIGIN, "GET", too_many).allowed
    small = ",".join(f"x-{i:04}" for i in range(400))  # 3198 chars echoed
    decision = star.decide("OPTIONS", ORIGIN, "GET", small)
    assert decision.allowed
    assert (ACAH, ", ".join(sorted(small.split(","))).encode()) in decision.headers


def test_star_headers_without_requested_headers_send_only_listed_names() -> None:
    star = CORSPolicy(allow_origins=[ORIGIN], allow_headers="*")
    assert ACAH not in header_names(star.decide("OPTIONS", ORIGIN, "PUT", None).headers)
    both = CORSPolicy(allow_origins=[ORIGIN], allow_headers=["*", "X-Listed"])
    assert (ACAH, b"X-Listed") in both.decide("OPTIONS", ORIGIN, "GET").headers
    assert (ACAH, b"x-listed, x-other") in both.decide(
        "OPTIONS", ORIGIN, "GET", "x-other,x-listed"
    ).headers


def test_header_memo_does_not_change_answers() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_headers=["X-A"])
    for _ in range(2):
        assert policy.decide("OPTIONS", ORIGIN, "GET", "x-a").allowed
        assert not policy.decide("OPTIONS", ORIGIN, "GET", "x-b").allowed
    long_value = "x-a," * 2000
    assert policy.decide("OPTIONS", ORIGIN, "GET", long_value).allowed


def test_private_network_preflight() -> None:
    allowed = CORSPolicy(allow_origins=[ORIGIN], allow_private_network=True)
    granted = allowed.decide("OPTIONS", ORIGIN, "GET", None, "true")
    assert granted.allowed
    assert granted.headers[-1] == (ACAPN, b"true")
    # Only when asked for, and never on actual requests.
    assert ACAPN not in header_names(allowed.decide("OPTIONS", ORIGIN, "GET").headers)
    assert ACAPN not in header_names(
        allowed.decide("OPTIONS", ORIGIN, "GET", None, "false").headers
    )
    assert ACAPN not in header_names(allowed.decide("GET", ORIGIN, None, None, "true").headers)
    refused = CORSPolicy(allow_origins=[ORIGIN])
    decision = refused.decide("OPTIONS", ORIGIN, "GET", None, "true")
    assert decision.status == 403
    assert decision.refusals == (Refusal(Reason.PRIVATE_NETWORK, "true"),)
    assert refused.decide("OPTIONS", ORIGIN, "GET", None, "false").allowed


def test_preflight_for_pattern_origins_reflects_the_origin() -> None:
    policy = CORSPolicy(allow_origins=["https://*.example.com"], allow_methods=["PUT"])
    decision = policy.decide("OPTIONS", "https://a.example.com", "PUT")
    assert decision.headers == (
        (ACAO, b"https://a.example.com"),
        (ACAM, b"PUT"),
        (VARY, b"Origin"),
    )


# --- refusal reasons and messages ------------------------------------------------------------


def test_refusal_messages_are_sanitised_and_truncated() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    hostile = "https://evil.com\r\nSet-Cookie: a=b\x00\u202e"
    (refusal,) = policy.decide("GET", hostile).refusals
    assert refusal.value == hostile  # raw, for programs
    assert refusal.message == (
        "origin 'https://evil.com\\r\\nSet-Cookie: a=b\\x00\\u202e' is not allowed"
    )
    (long_refusal,) = policy.decide("GET", "x" * 5000).refusals
    assert long_refusal.message == f"origin '{'x' * 120}'... (5000 chars) is not allowed"


def test_decision_repr_and_str_headers() -> None:
    policy = CORSPolicy(allow_origins=[ORIGIN])
    allowed = policy.decide("GET", ORIGIN)
    assert allowed.str_headers == (("access-control-allow-origin", ORIGIN),)
    assert allowed.str_headers is allowed.str_headers  # computed once
    assert "kind=ACTUAL" in repr(allowed)
    refused = policy.decide("OPTIONS", "https://evil.com", "GET")
    assert repr(refused) == (
        "Decision(kind=PREFLIGHT, allowed=False, status=403, "
        "headers=[(b'vary', b'Origin')], refusals=[\"origin 'https://evil.com' is not allowed\"])"
    )


def test_sanitize() -> None:
    assert sanitize("plain") == "'plain'"
    assert sanitize("a\nb") == "'a\\nb'"
    assert sanitize("é") == "'\\xe9'"
    assert sanitize("abcdef", limit=3) == "'abc'... (6 chars)"
    assert sanitize("it's") == "'it\\'s'"
    assert sanitize("a\\b") == "'a\\\\b'"
    assert sanitize("\U0001f600\u202e") == "'\\U0001f600\\u202e'"


QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")


def test_a_value_can_never_close_its_quote_in_a_refusal_message() -> None:
    # CVE-2024-1681 class: a crafted Origin that, logged naively, reads like a second,
    # different refusal for a trusted origin.
    forged = "x' is not allowed; origin 'https://trusted.example.com"
    (refusal,) = CORSPolicy(allow_origins=[ORIGIN]).decide("GET", forged).refusals
    message = refusal.message
    assert (
        message
        == "origin 'x\\' is not allowed; origin \\'https://trusted.example.com' is not allowed"
    )
    # Exactly one quoted value, and it spans the whole forged text.
    assert [m.group() for m in QUOTED.finditer(message)] == [message[7:-15]]
    assert re.fullmatch(r"origin '(?:[^'\\]|\\.)*' is not allowed", message)


@given(value=st.text(max_size=300))
def test_sanitize_is_always_one_closed_quote_of_printable_ascii(value: str) -> None:
    shown = sanitize(value, 120)
    assert shown.isascii()
    assert shown.isprintable()
    quoted = QUOTED.match(shown)
    assert quoted is not None
    rest = shown[quoted.end() :]
    assert rest == ("" if len(value) <= 120 else f"... ({len(value)} chars)")
    # Unescaping gives the value back (repr-style escapes, always single-quoted).
    assert ast.literal_eval(quoted.group()) == value[:120]


# --- null, the dangerous reflect option, header regexes ------------------------------------


def test_null_with_credentials_is_refused_with_both_fixes() -> None:
    problem = only_problem(allow_origins=[ORIGIN, "null"], allow_credentials=True)
    assert problem.option == "allow_origins"
    assert problem.value == "null"
    assert "sandboxed" in problem.message
    assert "exact origins" in problem.fix
    assert "dangerously_reflect_any_origin=True" in problem.fix
    # Without credentials, 'null' only exposes what any page could read anyway.
    assert CORSPolicy(allow_origins=["null"]).is_origin_allowed("null")


@pytest.mark.parametrize("credentials", [False, True])
def test_reflect_any_origin_grants_every_well_formed_origin_and_null(
    credentials: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="crossorigin"):
        policy = CORSPolicy(dangerously_reflect_any_origin=True, allow_credentials=credentials)
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert "every website" in record.getMessage()
    assert ("cookies" in record.getMessage()) is credentials
    assert policy.dangerously_reflect_any_origin is True
    assert "dangerously_reflect_any_origin=True" in repr(policy)
    credential_pairs = ((ACAC, b"true"),) if credentials else ()
    for origin in ("https://evil.example", "http://localhost:1234", "null", "http://[::1]:8"):
        decision = policy.decide("GET", origin)
        assert decision.headers == ((ACAO, origin.encode()), *credential_pairs)
        assert decision.vary == b"Origin"
        preflight = policy.decide("OPTIONS", origin, "GET")
        assert preflight.allowed
        assert (VARY, b"Origin") in preflight.headers
    # Malformed values are never reflected, and requests without Origin still vary.
    for origin in ("https://EVIL.example", "https://a.com/", "x\r\ny", "*", "https://a.com:443"):
        assert policy.decide("GET", origin).headers == ()
    assert policy.decide("GET", None).vary == b"Origin"


def test_reflect_any_origin_conflicts_are_refused() -> None:
    problem = only_problem(allow_origins="*", dangerously_reflect_any_origin=True)
    assert problem.option == "dangerously_reflect_any_origin"
    problem = only_problem(dangerously_reflect_any_origin=True, origin_resolver=lambda origin: True)
    assert problem.option == "origin_resolver"
    problem = only_problem(allow_origins=[ORIGIN], dangerously_reflect_any_origin="yes")
    assert problem.option == "dangerously_reflect_any_origin"


def test_reflect_any_origin_is_the_escape_hatch_for_null_with_credentials() -> None:
    policy = CORSPolicy(
        allow_origins=["null"], allow_credentials=True, dangerously_reflect_any_origin=True
    )
    assert policy.decide("GET", "null").headers == ((ACAO, b"null"), (ACAC, b"true"))


def test_header_regex_allows_and_echoes_matching_names_case_insensitively() -> None:
    policy = CORSPolicy(
        allow_origins=[ORIGIN], allow_headers=["Content-Type"], allow_header_regex=r"X-COMPANY-.*"
    )
    assert policy.allow_header_regex == "X-COMPANY-.*"
    decision = policy.decide("OPTIONS", ORIGIN, "GET", "x-company-trace,content-type")
    assert decision.allowed
    assert (ACAH, b"content-type, x-company-trace") in decision.headers
    assert (VARY, b"Origin, Access-Control-Request-Headers") in decision.headers
    # Full match only, and never a non-token.
    for refused in ("x-other", "x-company", "pre-x-company-a", "x-company-a b"):
        decision = policy.decide("OPTIONS", ORIGIN, "GET", refused)
        assert decision.refusals == (Refusal(Reason.HEADERS, refused),), refused
    # No requested header: the listed names, as for any policy.
    assert (ACAH, b"Content-Type") in policy.decide("OPTIONS", ORIGIN, "GET").headers


def test_header_regex_value_semantics() -> None:
    compiled = re.compile(r"x-a|x-b")
    policy = CORSPolicy(allow_origins=[ORIGIN], allow_header_regex=compiled)
    assert policy == CORSPolicy(allow_origins=[ORIGIN], allow_header_regex=r"x-a|x-b")
    assert policy.replace(max_age=5).decide("OPTIONS", ORIGIN, "GET", "X-B").allowed
    assert policy != CORSPolicy(allow_origins=[ORIGIN])
    assert hash(policy) == hash(CORSPolicy(allow_origins=[ORIGIN], allow_header_regex=compiled))


@pytest.mark.parametrize("value", ["(", 5, b"x-a", re.compile(b"x-a")])
def test_invalid_header_regex_is_refused(value: object) -> None:
    problem = only_problem(allow_origins=[ORIGIN], allow_header_regex=value)
    assert problem.option == "allow_header_regex"
