"""The requests every contender answers, and what a correct answer looks like."""

from __future__ import annotations

from .harness import (
    CREDENTIALED,
    ORIGIN_ALLOWED,
    ORIGIN_REFUSED,
    Request,
    Scenario,
)

# What a real browser request carries besides the CORS headers: a middleware that scans
# the header list pays for these too.
BASE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Host", "api.example.com"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) crossorigin-bench/1.0"),
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-GB,en;q=0.9"),
)

ACRH_COMMAS = "," * 1_000_000
ACRH_NAMES = ", ".join(f"x-custom-{index}" for index in range(10_000))


def _get(*extra: tuple[str, str]) -> Request:
    return Request("GET", BASE_HEADERS + extra)


def _preflight(origin: str, request_headers: str) -> Request:
    return Request(
        "OPTIONS",
        (
            *BASE_HEADERS,
            ("Origin", origin),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", request_headers),
        ),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("no-origin", "no Origin", _get(), "not-cors"),
    Scenario("simple-get", "allowed simple GET", _get(("Origin", ORIGIN_ALLOWED)), "allowed"),
    Scenario(
        "credentialed-get",
        "allowed credentialed GET",
        _get(("Origin", ORIGIN_ALLOWED), ("Cookie", "session=0123456789abcdef")),
        "allowed",
        config=CREDENTIALED,
    ),
    Scenario(
        "preflight",
        "allowed preflight",
        _preflight(ORIGIN_ALLOWED, "content-type, x-request-id"),
        "preflight-allowed",
        crossorigin_status=204,
    ),
    Scenario("refused-get", "refused origin GET", _get(("Origin", ORIGIN_REFUSED)), "refused"),
    Scenario(
        "refused-preflight",
        "refused preflight",
        _preflight(ORIGIN_REFUSED, "content-type"),
        "preflight-refused",
        crossorigin_status=403,
    ),
    Scenario(
        "acrh-commas",
        "ACRH flood: 1 MB of commas",
        _preflight(ORIGIN_ALLOWED, ACRH_COMMAS),
        # An empty list asks for nothing; libraries disagree on whether that passes, and
        # either is harmless. What matters: an answer, fast, with nothing reflected.
        "robust",
        crossorigin_expect="preflight-allowed",
        crossorigin_status=204,
    ),
    Scenario(
        "acrh-names",
        "ACRH flood: 10 000 names",
        _preflight(ORIGIN_ALLOWED, ACRH_NAMES),
        "preflight-refused",
        crossorigin_status=403,
    ),
)

SCENARIO_KEYS = tuple(scenario.key for scenario in SCENARIOS)
