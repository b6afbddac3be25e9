"""CORSPolicy: validation, normalisation, value semantics and every decision rule."""

from __future__ import annotations

from crossorigin import CORSPolicy

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
