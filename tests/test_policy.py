"""CORSPolicy: validation, normalisation, value semantics and every decision rule."""

from __future__ import annotations

import re

import pytest

from crossorigin import ConfigError, CORSPolicy

ACAO = b"access-control-allow-origin"


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
