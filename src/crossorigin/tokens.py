"""HTTP tokens and the Fetch standard's name lists (methods, request and response headers).

Everything here is a constant or a small pure function over strings; the policy uses these
both to validate configuration and to read ``Access-Control-Request-Headers``.
"""

from __future__ import annotations

# RFC 9110 section 5.6.2: token = 1*tchar.
TCHARS: frozenset[str] = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

# Optional whitespace (RFC 9110 section 5.6.3) around list elements.
OWS = " \t"

# Fetch: CORS-safelisted methods. Browsers never consult Access-Control-Allow-Methods for them.
SAFELISTED_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST"})

# Fetch: methods a page can never send.
FORBIDDEN_METHODS: frozenset[str] = frozenset({"CONNECT", "TRACE", "TRACK"})

# Fetch "normalize a method": fetch() upper-cases these six, so a configuration that spells
# one of them in another case can never match what a browser sends.
NORMALIZED_METHODS: frozenset[str] = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})

# Fetch: forbidden request-header names (lowercase) and prefixes; scripts cannot set these,
# so listing them in allow_headers is always a mistake.
FORBIDDEN_REQUEST_HEADERS: frozenset[str] = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "access-control-request-private-network",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
FORBIDDEN_REQUEST_HEADER_PREFIXES: tuple[str, ...] = ("proxy-", "sec-")

# Fetch: forbidden response-header names; browsers never expose them to script.
FORBIDDEN_RESPONSE_HEADERS: frozenset[str] = frozenset({"set-cookie", "set-cookie2"})

# Fetch: CORS-safelisted response-header names; always readable, listing them is harmless.
SAFELISTED_RESPONSE_HEADERS: frozenset[str] = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


def is_token(value: str) -> bool:
    """True when ``value`` is a non-empty RFC 9110 token."""
    return bool(value) and TCHARS.issuperset(value)


def is_forbidden_request_header(name: str) -> bool:
    """True for a header name (any case) that a script can never set on a request."""
    lowered = name.lower()
    return lowered in FORBIDDEN_REQUEST_HEADERS or lowered.startswith(
        FORBIDDEN_REQUEST_HEADER_PREFIXES
    )


def split_header_list(value: str) -> list[str]:
    """Split an HTTP list (``#token``) into its non-empty, whitespace-trimmed elements.

    RFC 9110 section 5.6.1: recipients accept empty elements and optional whitespace, so
    ``" X-A ,, x-b,"`` is ``["X-A", "x-b"]``. Case is kept; callers lowercase names.
    """
    return [element for element in (part.strip(OWS) for part in value.split(",")) if element]
