"""The browser's side of the CORS protocol: the mirror image of the policy core.

Where :class:`~crossorigin.CORSPolicy` decides what a server sends, this module decides what
a browser does with it, following the Fetch standard: whether a request needs a preflight,
what that preflight looks like, whether a response passes the CORS check and the preflight
checks, and which response headers script may read. Every failed check carries its cause in
plain words and its fix (the header the server must send, and the crossorigin option that
produces it).

Pure: no I/O. :func:`fetch` drives the whole exchange (preflight, request, redirects)
through a ``send`` callable supplied by the caller, so ``crossorigin check`` plugs in an
HTTP client and tests plug in canned responses.

Browsers differ in a few places; a :class:`Profile` names them (``spec``, ``chromium``,
``firefox``, ``webkit``), each measured in that engine by the browser suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from .origins import DEFAULT_PORTS, parse_request_origin
from .tokens import (
    FORBIDDEN_METHODS,
    FORBIDDEN_RESPONSE_HEADERS,
    NORMALIZED_METHODS,
    SAFELISTED_METHODS,
    SAFELISTED_RESPONSE_HEADERS,
    TCHARS,
    is_forbidden_request_header,
    is_token,
    split_header_list,
)

Headers = tuple[tuple[str, str], ...]

# --- browser profiles ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """The points where browsers differ from each other or from the standard."""

    name: str
    title: str
    max_age_cap: int | None
    """Longest time (s) a preflight result is cached; None: the standard sets no cap."""
    wildcard_covers_authorization: bool
    """Whether ``Access-Control-Allow-Headers: *`` lets ``Authorization`` through."""
    safelists_client_hints: bool = False
    """Whether client-hint headers (``DPR``, ``Save-Data``...) with well-formed values are
    treated as safelisted (Chromium), so they trigger no preflight."""
    default_max_age: int = 5


SPEC = Profile("spec", "the Fetch standard", None, False)
# Chromium still lets '*' cover Authorization (the standard's non-wildcard rule sits behind
# the CorsNonWildcardRequestHeadersSupport feature) and caps max-age at two hours.
# It also safelists client-hint request headers the standard does not (observed in
# Chromium 156: a page setting `DPR: 2` sends no preflight).
CHROMIUM = Profile("chromium", "Chromium", 7200, True, safelists_client_hints=True)
# Measured in Firefox 153 ESR and WebKitGTK 2.50 (tests/browser/deviations.py): both let '*'
# cover Authorization too (Firefox logs that it will stop). Max-Age caps: Firefox 24 h, WebKit
# 10 min (their sources; hours of waiting are not measured).
FIREFOX = Profile("firefox", "Firefox", 86400, True)
WEBKIT = Profile("webkit", "WebKit (Safari)", 600, True)
PROFILES: dict[str, Profile] = {p.name: p for p in (SPEC, CHROMIUM, FIREFOX, WEBKIT)}

# Above this, Chromium too silently caches for less (WebKit already caps at 600 s: a
# ten-minute cache is no surprise, so only the advice's text names it).
STRICTEST_MAX_AGE_CAP = 7200

# --- request side: safelists and the preflight ------------------------------------------------

SAFELISTED_REQUEST_HEADERS: frozenset[str] = frozenset(
    {"accept", "accept-language", "content-language", "content-type", "range"}
)
SAFELISTED_CONTENT_TYPES: frozenset[str] = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
# Fetch: names a '*' in Access-Control-Allow-Headers never covers.
NON_WILDCARD_REQUEST_HEADERS: frozenset[str] = frozenset({"authorization"})
# Fetch: headers describing a body; dropped when a redirect turns the request into a GET.
REQUEST_BODY_HEADERS: frozenset[str] = frozenset(
    {"content-encoding", "content-language", "content-location", "content-type"}
)
MAX_SAFELISTED_VALUE = 128
MAX_SAFELISTED_TOTAL = 1024
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20
# Statuses an application without CORS handling typically gives an OPTIONS request.
APP_ANSWERED_STATUSES: frozenset[int] = frozenset({404, 405, 501})

_HTTP_WHITESPACE = " \t\r\n"
# Fetch: "CORS-unsafe request-header byte".
_UNSAFE_BYTES: frozenset[str] = frozenset(chr(b) for b in range(0x20) if b != 0x09) | frozenset(
    '"():<>?@[\\]{}\x7f'
)
_LANGUAGE_CHARS: frozenset[str] = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;="
)
_DIGITS = frozenset("0123456789")


def normalize_method(method: str) -> str:
    """Fetch "normalize a method": ``fetch()`` upper-cases only six well-known methods."""
    upper = method.upper()
    return upper if upper in NORMALIZED_METHODS else method


def is_safelisted_method(method: str) -> bool:
    """GET, HEAD and POST (case-sensitive: pass the normalized method)."""
    return method in SAFELISTED_METHODS


def mime_essence(value: str) -> str | None:
    """The lowercase ``type/subtype`` of a MIME type (WHATWG "parse a MIME type"), or None."""
    text = value.strip(_HTTP_WHITESPACE)
    type_, slash, rest = text.partition("/")
    if not slash or not type_ or not TCHARS.issuperset(type_):
        return None
    subtype = rest.partition(";")[0].rstrip(_HTTP_WHITESPACE)
    if not subtype or not TCHARS.issuperset(subtype):
        return None
    return f"{type_}/{subtype}".lower()


def parse_single_range(value: str) -> tuple[int | None, int | None] | None:
    """Fetch "parse a single range header value" (no whitespace allowed), or None.

    ``bytes=0-99`` is ``(0, 99)``; ``bytes=5-`` is ``(5, None)``; ``bytes=-5`` is
    ``(None, 5)``. Several ranges, other units or ``start > end`` are failures.
    """
    if not value.startswith("bytes="):
        return None
    start_text, dash, end_text = value[6:].partition("-")
    if not dash or not _DIGITS.issuperset(start_text) or not _DIGITS.issuperset(end_text):
        return None
    start = int(start_text) if start_text else None
    end = int(end_text) if end_text else None
    if start is None and end is None:
        return None
    if start is not None and end is not None and start > end:
        return None
    return start, end


def _decimal(value: str) -> bool:
    whole, dot, fraction = value.partition(".")
    return (
        bool(whole)
        and _DIGITS.issuperset(whole)
        and (not dot or (bool(fraction) and _DIGITS.issuperset(fraction)))
    )


def _integer(value: str) -> bool:
    return bool(value) and _DIGITS.issuperset(value)


# Chromium's extra safelist: client hints a page may set itself, each with the value shape
# Chromium accepts (checked against Chromium 156 from a page, one header at a time).
CHROMIUM_CLIENT_HINTS: dict[str, Callable[[str], bool]] = {
    "device-memory": _decimal,
    "downlink": _decimal,
    "dpr": _decimal,
    "ect": lambda v: v in ("slow-2g", "2g", "3g", "4g"),
    "intervention": lambda v: True,
    "rtt": _integer,
    "save-data": lambda v: v.lower() == "on",
    "viewport-width": _integer,
    "width": _integer,
}


def unsafe_header_reason(name: str, value: str, profile: Profile | None = None) -> str | None:
    """Why one request header is not CORS-safelisted, or None when it is.

    Fetch "CORS-safelisted request-header", taken one header at a time; the 1024-byte total
    over all safelisted values is applied by :func:`unsafe_request_header_names`. Without a
    profile, the standard's rules.
    """
    lowered = name.lower()
    if lowered not in SAFELISTED_REQUEST_HEADERS:
        hint = CHROMIUM_CLIENT_HINTS.get(lowered)
        if (
            hint is not None
            and profile is not None
            and profile.safelists_client_hints
            and len(value) <= MAX_SAFELISTED_VALUE
            and hint(value)
        ):
            return None
        return f"{name} is not a CORS-safelisted header"
    if len(value) > MAX_SAFELISTED_VALUE:
        return f"{name} is {len(value)} bytes long (safelisted values are at most 128)"
    if lowered in ("accept", "content-type") and not _UNSAFE_BYTES.isdisjoint(value):
        return f'{name} contains a byte browsers consider unsafe (one of "():<>?@[\\]{{}})'
    if lowered in ("accept-language", "content-language") and not _LANGUAGE_CHARS.issuperset(value):
        return f"{name} contains characters other than letters, digits and ' *,-.;='"
    if lowered == "content-type":
        essence = mime_essence(value)
        if essence not in SAFELISTED_CONTENT_TYPES:
            return (
                f"Content-Type {essence or value!r} is not one of "
                "application/x-www-form-urlencoded, multipart/form-data, text/plain"
            )
    if lowered == "range":
        parsed = parse_single_range(value)
        if parsed is None:
            return "Range is not a single 'bytes=start-end' range"
        if parsed[0] is None:
            return "Range is a suffix range ('bytes=-N'), which is not safelisted"
    return None


def is_safelisted_request_header(name: str, value: str, profile: Profile | None = None) -> bool:
    return unsafe_header_reason(name, value, profile) is None


def combine_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """Headers as a ``Headers`` object holds them: values trimmed, repeats comma-joined."""
    combined: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        value = value.strip(_HTTP_WHITESPACE)
        key = name.lower()
        if key in combined:
            first_name, first_value = combined[key]
            combined[key] = (first_name, f"{first_value}, {value}")
        else:
            combined[key] = (name, value)
    return tuple(combined.values())


def unsafe_header_reasons(
    headers: Iterable[tuple[str, str]], profile: Profile | None = None
) -> dict[str, str]:
    """Fetch "CORS-unsafe request-header names", each with its reason (lowercase, sorted)."""
    reasons: dict[str, str] = {}
    safelisted: list[str] = []
    total = 0
    for name, value in headers:
        reason = unsafe_header_reason(name, value, profile)
        if reason is None:
            safelisted.append(name.lower())
            total += len(value)
        else:
            reasons[name.lower()] = reason
    if total > MAX_SAFELISTED_TOTAL:
        for name in safelisted:
            reasons.setdefault(
                name, f"safelisted header values total {total} bytes (at most 1024 allowed)"
            )
    return dict(sorted(reasons.items()))


def unsafe_request_header_names(
    headers: Iterable[tuple[str, str]], profile: Profile | None = None
) -> list[str]:
    """The names a preflight lists in ``Access-Control-Request-Headers``."""
    return list(unsafe_header_reasons(headers, profile))


def preflight_reasons(
    method: str,
    headers: Iterable[tuple[str, str]],
    private_network: bool = False,
    profile: Profile | None = None,
) -> list[str]:
    """Why a cross-origin request needs a preflight (empty: it is a simple request).

    ``method`` must already be normalized (see :func:`normalize_method`).
    """
    reasons = []
    if not is_safelisted_method(method):
        reasons.append(f"method {method} is not GET, HEAD or POST")
    reasons.extend(unsafe_header_reasons(headers, profile).values())
    if private_network:
        reasons.append("the request targets a more private network (Private Network Access)")
    return reasons


# --- HTTP messages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """One request on the wire."""

    method: str
    url: str
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class HTTPResponse:
    """One response as received: status and raw header pairs, repeats kept apart."""

    status: int
    headers: Headers = ()

    def values(self, name: str) -> list[str]:
        """Every value of one header, in order (name compared case-insensitively)."""
        lowered = name.lower()
        return [v.strip(_HTTP_WHITESPACE) for k, v in self.headers if k.lower() == lowered]

    def get(self, name: str) -> str | None:
        """Fetch "get": repeated values joined with ', ', None when absent."""
        values = self.values(name)
        return ", ".join(values) if values else None


class TransportError(Exception):
    """The request could not be sent or no response came back (not a CORS failure)."""


Send = Callable[[HTTPRequest], HTTPResponse]


def build_preflight(
    url: str,
    origin: str,
    method: str,
    headers: Iterable[tuple[str, str]],
    private_network: bool = False,
    profile: Profile | None = None,
) -> HTTPRequest:
    """The preflight as Chromium sends it: no cookies, no page headers, ACRH sorted."""
    pairs: list[tuple[str, str]] = [
        ("Accept", "*/*"),
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
    ]
    names = unsafe_request_header_names(headers, profile)
    if names:
        pairs.append(("Access-Control-Request-Headers", ",".join(names)))
    if private_network:
        pairs.append(("Access-Control-Request-Private-Network", "true"))
    return HTTPRequest("OPTIONS", url, tuple(pairs))


# --- response side: checks ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """One check the browser applies, passed or failed.

    A failed check says why in plain words (``cause``) and how to fix it: ``fix`` is the
    header (or behaviour) the server needs, ``option`` the crossorigin setting producing it.
    """

    code: str
    ok: bool
    summary: str
    cause: str = ""
    fix: str = ""
    option: str = ""


@dataclass(frozen=True, slots=True)
class Advice:
    """Something that works today but is wrong, fragile or dangerous."""

    code: str
    message: str
    fix: str = ""
    severity: str = "warning"
    """``"warning"``, or ``"critical"`` when another site can read users' data."""


def _listed(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _diagnose_mismatch(value: str, origin: str) -> str:
    """Plain-words reason why an Access-Control-Allow-Origin value is not the origin."""
    if value.rstrip("/") == origin:
        return (
            f"it is {value!r}, the origin with a trailing slash; an origin never ends with "
            "'/', and browsers compare byte for byte"
        )
    if value.lower() == origin:
        return f"it is {value!r}: browsers compare origins byte for byte, case included"
    parsed = urlsplit(value)
    try:
        port = parsed.port
    except ValueError:  # a list of origins, or no number after the colon: explained below
        port = None
    if (
        port is not None
        and DEFAULT_PORTS.get(parsed.scheme) == port
        and value.rsplit(":", 1)[0] == origin
    ):
        return f"it is {value!r}: browsers omit the default port from the Origin they send"
    if value.partition("://")[2] == origin.partition("://")[2] and value != origin:
        return f"it is {value!r}: the scheme differs (http and https are different origins)"
    if value == "null":
        return "it is 'null', which only matches opaque origins (sandboxed pages, file:)"
    if "," in value or " " in value.strip():
        return (
            f"it is {value!r}, a list; the header holds exactly one origin, so the server "
            "must answer with the one that matches the request"
        )
    return f"it is {value!r}, a different origin"


def cors_check(response: HTTPResponse, origin: str, credentials: bool) -> list[Check]:
    """Fetch "CORS check" with every failing step explained (not just the first)."""
    checks: list[Check] = []
    values = response.values("Access-Control-Allow-Origin")
    grant_fix = f"Access-Control-Allow-Origin: {origin}"
    grant_option = (
        "add 'null' to allow_origins (only if you must: any sandboxed page or file: "
        "document sends 'null')"
        if origin == "null"
        else f"add {origin!r} to allow_origins"
    )
    if not values and not has_cors_layer(response):
        checks.append(
            Check(
                "allow-origin",
                False,
                "no Access-Control-Allow-Origin header",
                "nothing on this path answers CORS: no Access-Control-* header and no "
                "'Vary: Origin' (a CORS layer sends 'Vary: Origin' even to origins it refuses)",
                grant_fix,
                "make sure a CORS layer covers this path: a path rule that misses it (routes=, "
                "Flask-CORS resources, CORS_URLS_REGEX), a middleware added to another app or "
                "mounted below the route, or a proxy stripping the headers",
            )
        )
    elif not values:
        checks.append(
            Check(
                "allow-origin",
                False,
                "no Access-Control-Allow-Origin header",
                "the response does not grant access to any origin, so the browser hides it "
                "from the page",
                grant_fix,
                grant_option,
            )
        )
    elif len(values) > 1:
        checks.append(
            Check(
                "allow-origin",
                False,
                f"{len(values)} Access-Control-Allow-Origin headers ({_listed(values)})",
                "the browser accepts exactly one; CORS headers are probably added twice "
                "(two middlewares, or a proxy and the app)",
                f"send one header: {grant_fix}",
                "keep a single CORS layer: crossorigin replaces any Access-Control-* header "
                "the app set, but not ones a proxy adds after it",
            )
        )
    elif values[0] == "*":
        if credentials:
            checks.append(
                Check(
                    "allow-origin",
                    False,
                    "Access-Control-Allow-Origin is '*' but the request is credentialed",
                    "with credentials, '*' is not a wildcard: the exact origin must be named",
                    f"{grant_fix} (with Access-Control-Allow-Credentials: true)",
                    f"list {origin!r} in allow_origins instead of '*' and set "
                    "allow_credentials=True",
                )
            )
        else:
            checks.append(Check("allow-origin", True, "Access-Control-Allow-Origin: * (public)"))
    elif values[0] != origin:
        checks.append(
            Check(
                "allow-origin",
                False,
                f"Access-Control-Allow-Origin does not match the origin {origin!r}",
                _diagnose_mismatch(values[0], origin),
                grant_fix,
                grant_option,
            )
        )
    else:
        checks.append(
            Check("allow-origin", True, f"Access-Control-Allow-Origin matches {origin!r}")
        )
    if credentials:
        acac = response.get("Access-Control-Allow-Credentials")
        if acac == "true":
            checks.append(
                Check("allow-credentials", True, "Access-Control-Allow-Credentials: true")
            )
        else:
            checks.append(
                Check(
                    "allow-credentials",
                    False,
                    "no Access-Control-Allow-Credentials: true"
                    if acac is None
                    else f"Access-Control-Allow-Credentials is {acac!r}, not 'true'",
                    "a credentialed request (cookies, HTTP auth) is only readable when the "
                    "server opts in with exactly 'true' (lowercase)",
                    "Access-Control-Allow-Credentials: true",
                    "set allow_credentials=True",
                )
            )
    return checks


def has_cors_layer(response: HTTPResponse) -> bool:
    """Whether anything on the path speaks CORS: an Access-Control-* header or Vary: Origin."""
    return any(name.lower().startswith("access-control-") for name, _ in response.headers) or bool(
        {"origin", "*"} & vary_tokens(response)
    )


def extract_list(response: HTTPResponse, name: str) -> list[str] | None:
    """Fetch "extract header list values" for a ``#token`` header.

    None when the header is absent; raises ValueError when an element is not a token.
    """
    value = response.get(name)
    if value is None:
        return None
    items = split_header_list(value)
    bad = [item for item in items if not is_token(item)]
    if bad:
        raise ValueError(f"{name} is malformed: {_listed(bad)} is not a token")
    return items


def preflight_checks(
    response: HTTPResponse,
    origin: str,
    method: str,
    headers: Iterable[tuple[str, str]],
    credentials: bool,
    private_network: bool,
    profile: Profile,
) -> list[Check]:
    """Every check of Fetch "CORS-preflight fetch" on a preflight response.

    ``headers`` are the page's request headers; the preflight asked for the unsafe ones.
    """
    headers = tuple(headers)
    original_names = {name.lower(): name for name, _ in headers}
    requested = [original_names.get(n, n) for n in unsafe_request_header_names(headers, profile)]
    return _preflight_response_checks(
        response, origin, method, requested, credentials, private_network, profile
    )


def sent_preflight_checks(
    preflight: HTTPRequest, response: HTTPResponse, credentials: bool, profile: Profile
) -> list[Check]:
    """:func:`preflight_checks` for a preflight known only as sent on the wire.

    Origin, method, header names and Private Network Access come from the preflight's own
    ``Origin`` and ``Access-Control-Request-*`` headers, for callers that send preflights
    themselves rather than through :func:`fetch`. ``credentials`` is the mode of the request
    the preflight is for (preflights themselves never carry credentials). Raises ValueError
    when ``preflight`` is not a CORS preflight.
    """
    sent = {name.lower(): value for name, value in combine_headers(preflight.headers)}
    origin = sent.get("origin")
    method = sent.get("access-control-request-method")
    if preflight.method != "OPTIONS" or origin is None or method is None:
        raise ValueError(
            "not a CORS preflight: it needs OPTIONS, Origin and Access-Control-Request-Method"
        )
    requested = split_header_list(sent.get("access-control-request-headers", ""))
    private_network = sent.get("access-control-request-private-network") == "true"
    return _preflight_response_checks(
        response,
        origin,
        method,
        list(dict.fromkeys(name.lower() for name in requested)),
        credentials,
        private_network,
        profile,
    )


def _preflight_response_checks(
    response: HTTPResponse,
    origin: str,
    method: str,
    requested: Sequence[str],
    credentials: bool,
    private_network: bool,
    profile: Profile,
) -> list[Check]:
    """The preflight checks, given the unsafe header names asked for (as the page wrote them)."""
    checks: list[Check] = []
    status = response.status
    if 200 <= status <= 299:
        checks.append(Check("preflight-status", True, f"status {status} is a 2xx"))
    elif status in REDIRECT_STATUSES:
        location = response.get("Location") or "(no Location)"
        checks.append(
            Check(
                "preflight-status",
                False,
                f"the preflight was redirected ({status} to {location})",
                "browsers never follow a redirect in answer to a preflight (a common cause: "
                "a trailing-slash or http-to-https redirect ahead of the CORS layer)",
                "answer OPTIONS at this exact URL with a 2xx; call the final URL directly",
                "place crossorigin's middleware outermost, before anything that redirects: "
                "it answers preflights itself",
            )
        )
    else:
        granted = bool(response.values("Access-Control-Allow-Origin"))
        if status in APP_ANSWERED_STATUSES and not granted:
            cause = (
                f"the preflight got {status}: it reached the application, which has no "
                "OPTIONS handler, instead of a CORS layer"
            )
            option = (
                "wrap the application in crossorigin's middleware: it answers preflights "
                "itself, before routing"
            )
        elif status == 401:
            cause = (
                "the preflight got 401: an authentication layer answered it, but preflights "
                "never carry credentials or Authorization"
            )
            option = (
                "let OPTIONS through authentication: put crossorigin's middleware outside "
                "(before) the authentication layer"
            )
        elif status == 403 and not granted:
            cause = (
                "the server refused the preflight (403, no CORS headers), without saying "
                "which part it refuses; see the diagnosis below"
            )
            option = (
                "a 403 from crossorigin means the origin, the method or a header is not allowed"
            )
        else:
            cause = f"the preflight got {status}; browsers require a 2xx status"
            option = "crossorigin's middleware answers allowed preflights with 204"
        checks.append(
            Check(
                "preflight-status",
                False,
                f"status {status} is not a 2xx",
                cause,
                "answer the preflight (OPTIONS) with 204 or 200",
                option,
            )
        )
    checks.extend(cors_check(response, origin, credentials))
    if not 200 <= status <= 299 and not response.values("Access-Control-Allow-Origin"):
        # Nothing was granted, so the method and header checks would only repeat the
        # refusal; diagnose_refusal() asks the server one question at a time instead.
        return [check for check in checks if check.code != "allow-credentials"]

    try:
        methods = extract_list(response, "Access-Control-Allow-Methods")
        allowed_headers = extract_list(response, "Access-Control-Allow-Headers")
    except ValueError as error:
        checks.append(
            Check(
                "preflight-syntax",
                False,
                "malformed Access-Control-Allow-Methods or -Headers",
                f"{error}; browsers fail the whole preflight",
                "send comma-separated tokens only, e.g. 'GET, PUT, DELETE'",
                "crossorigin validates allow_methods and allow_headers at startup",
            )
        )
        return checks

    methods = methods or []
    if is_safelisted_method(method):
        checks.append(Check("allow-methods", True, f"method {method} is safelisted"))
    elif method in methods:
        checks.append(Check("allow-methods", True, f"method {method} is allowed"))
    elif "*" in methods and not credentials:
        checks.append(Check("allow-methods", True, f"method {method} is allowed by '*'"))
    else:
        same_name = [m for m in methods if m.upper() == method.upper()]
        if same_name:
            cause = (
                f"method names compare case-sensitively: the page sends {method!r} but the "
                f"server allows {same_name[0]!r}; "
                "fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT"
            )
        elif "*" in methods:
            cause = (
                "for a credentialed request '*' is not a wildcard but a method named '*' "
                "(crossorigin's allow_methods=['*'] answers with the requested method "
                "instead, which works with credentials)"
            )
        elif not methods:
            cause = "the preflight response has no Access-Control-Allow-Methods"
        else:
            cause = f"Access-Control-Allow-Methods lists only {', '.join(methods)}"
        kept = [m for m in methods if m != "*" and m not in same_name]
        checks.append(
            Check(
                "allow-methods",
                False,
                f"method {method} is not allowed",
                cause,
                "Access-Control-Allow-Methods: " + ", ".join([*kept, method]),
                f"add {method!r} to allow_methods",
            )
        )

    allowed_lower = {h.lower() for h in allowed_headers or []}
    wildcard = "*" in allowed_lower
    for shown in requested:
        name = shown.lower()
        if name in allowed_lower:
            checks.append(Check("allow-headers", True, f"header {name!r} is allowed"))
            continue
        authorization = name in NON_WILDCARD_REQUEST_HEADERS
        if (
            wildcard
            and not credentials
            and (not authorization or profile.wildcard_covers_authorization)
        ):
            summary = f"header {name!r} is allowed by '*'"
            if authorization:
                summary += " (as Chromium, Firefox and WebKit do; the standard refuses it)"
            checks.append(Check("allow-headers", True, summary))
            continue
        if wildcard and authorization and not credentials:
            cause = (
                f"'*' in Access-Control-Allow-Headers never covers Authorization in "
                f"{profile.title} (Chromium, Firefox and WebKit still accept it; the standard "
                "does not)"
            )
        elif wildcard:
            cause = (
                "for a credentialed request '*' is not a wildcard but a header named '*' "
                "(crossorigin's allow_headers=['*'] answers with the requested names "
                "instead, which works with credentials)"
            )
        elif allowed_headers:
            cause = f"Access-Control-Allow-Headers lists only {', '.join(allowed_headers)}"
        else:
            cause = "the preflight response has no Access-Control-Allow-Headers"
        listed = [h for h in allowed_headers or [] if h != "*"] + [shown]
        checks.append(
            Check(
                "allow-headers",
                False,
                f"header {name!r} is not allowed",
                cause,
                f"Access-Control-Allow-Headers: {', '.join(listed)}",
                f"add {shown!r} to allow_headers",
            )
        )

    if private_network:
        value = response.get("Access-Control-Allow-Private-Network")
        if value == "true":
            checks.append(
                Check("allow-private-network", True, "Access-Control-Allow-Private-Network: true")
            )
        else:
            checks.append(
                Check(
                    "allow-private-network",
                    False,
                    "no Access-Control-Allow-Private-Network: true",
                    "a public page may reach a private-network server only when that server "
                    "opts in",
                    "Access-Control-Allow-Private-Network: true",
                    "set allow_private_network=True",
                )
            )
    return checks


def needs_diagnosis(response: HTTPResponse) -> bool:
    """A refused preflight that grants nothing and says nothing (e.g. crossorigin's 403)."""
    return (
        not 200 <= response.status <= 299
        and response.status not in REDIRECT_STATUSES
        and response.status not in APP_ANSWERED_STATUSES
        and response.status != 401
        and not response.values("Access-Control-Allow-Origin")
    )


def diagnose_refusal(
    request: Request, url: str, origin: str, send: Send, profile: Profile
) -> list[Check]:
    """Find which part of a silently refused preflight the server objects to.

    Asks with one preflight per question (preflights have no side effects): the origin
    alone, then the method alone, then each unsafe header alone, then private network.
    """
    method = normalize_method(request.method)
    headers = combine_headers(request.headers)
    credentials = request.credentials

    def refused(ask_method: str, ask_headers: Headers, private_network: bool, code: str) -> bool:
        preflight = build_preflight(url, origin, ask_method, ask_headers, private_network, profile)
        response = send(preflight)
        checks = preflight_checks(
            response, origin, ask_method, ask_headers, credentials, private_network, profile
        )
        # Only the question asked counts (a missing Allow-Credentials is not a refusal of
        # the header being asked about).
        relevant = {"preflight-status", "allow-origin", code}
        return any(not check.ok and check.code in relevant for check in checks)

    results: list[Check] = []
    if refused("GET", (), False, "allow-origin"):
        # A CORS layer is known to be there (it refused): ask for the grant, not for a layer.
        origin_fix = cors_check(HTTPResponse(200, (("Vary", "Origin"),)), origin, False)[0]
        return [
            Check(
                "allow-origin",
                False,
                f"origin {origin!r} is refused",
                "even a preflight asking for nothing but GET from this origin is refused",
                origin_fix.fix,
                origin_fix.option,
            )
        ]
    results.append(Check("allow-origin", True, f"origin {origin!r} is granted"))
    if not is_safelisted_method(method):
        if refused(method, (), False, "allow-methods"):
            results.append(
                Check(
                    "allow-methods",
                    False,
                    f"method {method} is refused",
                    f"asked alone, the method {method} is refused",
                    f"list {method} in Access-Control-Allow-Methods",
                    f"add {method!r} to allow_methods",
                )
            )
        else:
            results.append(Check("allow-methods", True, f"method {method} is allowed"))
    for name, value in headers:
        if unsafe_header_reason(name, value, profile) is None:
            continue
        if refused("GET", ((name, value),), False, "allow-headers"):
            results.append(
                Check(
                    "allow-headers",
                    False,
                    f"header {name.lower()!r} is refused",
                    f"asked alone, the header {name!r} is refused",
                    f"list {name} in Access-Control-Allow-Headers",
                    f"add {name!r} to allow_headers",
                )
            )
        else:
            results.append(Check("allow-headers", True, f"header {name.lower()!r} is allowed"))
    if request.private_network:
        if refused("GET", (), True, "allow-private-network"):
            results.append(
                Check(
                    "allow-private-network",
                    False,
                    "private network access is refused",
                    "asked alone, a Private Network Access preflight is refused",
                    "Access-Control-Allow-Private-Network: true",
                    "set allow_private_network=True",
                )
            )
        else:
            results.append(Check("allow-private-network", True, "private network access allowed"))
    return results


def preflight_max_age(response: HTTPResponse, profile: Profile) -> int:
    """How long (s) this browser caches a preflight result: the header, defaulted and capped."""
    raw = response.get("Access-Control-Max-Age")
    if raw is None or not raw or not _DIGITS.issuperset(raw):
        return profile.default_max_age
    seconds = int(raw)
    return seconds if profile.max_age_cap is None else min(seconds, profile.max_age_cap)


def readable_headers(response: HTTPResponse, credentials: bool) -> Headers:
    """The response headers script can read (Fetch "CORS-filtered response").

    As iterating ``response.headers`` shows them: names lowercased and sorted, repeats
    joined with ', '.
    """
    try:
        exposed = extract_list(response, "Access-Control-Expose-Headers") or []
    except ValueError:
        exposed = []
    exposed_lower = {name.lower() for name in exposed}
    everything = "*" in exposed_lower and not credentials
    combined: dict[str, str] = {}
    for name, value in response.headers:
        lowered = name.lower()
        if lowered in FORBIDDEN_RESPONSE_HEADERS:
            continue
        if lowered in SAFELISTED_RESPONSE_HEADERS or everything or lowered in exposed_lower:
            value = value.strip(_HTTP_WHITESPACE)
            combined[lowered] = f"{combined[lowered]}, {value}" if lowered in combined else value
    return tuple(sorted(combined.items()))


# --- advice: works, but wrong -----------------------------------------------------------------


def vary_tokens(response: HTTPResponse) -> set[str]:
    return {token.lower() for token in split_header_list(response.get("Vary") or "")}


def response_advice(response: HTTPResponse, origin: str, credentials: bool) -> list[Advice]:
    """Warnings about an allowed actual response."""
    advice: list[Advice] = []
    acao = response.get("Access-Control-Allow-Origin")
    tokens = vary_tokens(response)
    if acao is not None and acao != "*" and not ({"origin", "*"} & tokens):
        advice.append(
            Advice(
                "vary-origin",
                f"Access-Control-Allow-Origin is {acao!r} (it depends on the request) but the "
                "response lacks 'Vary: Origin': a shared cache (CDN, proxy) can hand one "
                "origin's answer to another, causing spurious CORS errors or leaks",
                "send 'Vary: Origin' on every response of the route (crossorigin does)",
            )
        )
    if origin == "null" and acao == "null":
        advice.append(_null_advice(credentials))
    return advice


def _null_advice(credentials: bool) -> Advice:
    return Advice(
        "null-allowed",
        ("CRITICAL: " if credentials else "")
        + "the server grants the origin 'null'"
        + (" with credentials" if credentials else "")
        + ": any sandboxed iframe, data: or file: document on any site sends 'null', so "
        "this is as open as '*'" + (", and with the users' cookies" if credentials else ""),
        "remove 'null' from allow_origins unless you really serve sandboxed pages"
        + (
            " (crossorigin refuses 'null' with credentials; only "
            "dangerously_reflect_any_origin=True grants it)"
            if credentials
            else ""
        ),
        "critical" if credentials else "warning",
    )


def preflight_advice(
    response: HTTPResponse,
    headers: Iterable[tuple[str, str]],
    credentials: bool,
    profile: Profile,
) -> list[Advice]:
    """Warnings about a passed preflight response."""
    advice: list[Advice] = []
    raw = response.get("Access-Control-Max-Age")
    if raw is not None:
        if not raw or not _DIGITS.issuperset(raw):
            advice.append(
                Advice(
                    "max-age-invalid",
                    f"Access-Control-Max-Age {raw!r} is not a number of seconds; browsers "
                    "ignore it and cache the preflight for 5 s",
                    "send a whole number of seconds, e.g. 'Access-Control-Max-Age: 600' "
                    "(crossorigin: max_age=600)",
                )
            )
        else:
            # Warned above the strictest cap whatever the profile: the server serves all
            # browsers, and they would cache the result for different times.
            if int(raw) > STRICTEST_MAX_AGE_CAP:
                advice.append(
                    Advice(
                        "max-age-cap",
                        f"Access-Control-Max-Age is {raw} s but Chromium caps it at 7200 s, "
                        "Firefox at 86400 s and WebKit (Safari) at 600 s, so browsers disagree "
                        "on how long the preflight is cached",
                        "send at most 7200 (crossorigin: max_age=7200; it refuses values "
                        "above 86400)",
                    )
                )
    allowed = {
        h.lower() for h in split_header_list(response.get("Access-Control-Allow-Headers") or "")
    }
    names = unsafe_request_header_names(headers, profile)
    if (
        not credentials
        and "*" in allowed
        and "authorization" in names
        and "authorization" not in allowed
        and profile.wildcard_covers_authorization
    ):
        advice.append(
            Advice(
                "wildcard-authorization",
                "Authorization passes only through 'Access-Control-Allow-Headers: *': "
                "Chromium, Firefox and WebKit accept that today, but the Fetch standard does "
                "not and Firefox already warns that it will stop, so the request will fail",
                "add 'Authorization' to allow_headers (list it by name), or use crossorigin's "
                "allow_headers=['*'], which answers with the requested names, Authorization "
                "included",
            )
        )
    return advice


def reflection_advice(
    probe_origin: str, response: HTTPResponse, probe_kind: str = "request"
) -> list[Advice]:
    """Warnings when a response grants a foreign (probe) origin it should not know."""
    acao = response.values("Access-Control-Allow-Origin")
    if len(acao) != 1 or acao[0] != probe_origin:
        return []
    credentialed = response.get("Access-Control-Allow-Credentials") == "true"
    if probe_origin == "null":
        return [_null_advice(credentialed)]
    if credentialed:
        return [
            Advice(
                "reflects-any-origin",
                f"CRITICAL: the server reflects an arbitrary origin ({probe_origin!r} was "
                "granted) WITH credentials: any website can read your users' data through "
                "their cookies",
                "list the trusted origins in allow_origins; crossorigin reflects only with "
                "dangerously_reflect_any_origin=True, which grants this to every site: remove it",
                "critical",
            )
        ]
    return [
        Advice(
            "reflects-any-origin",
            f"the server reflects an arbitrary origin ({probe_origin!r} was granted, "
            f"{probe_kind}); if the data is public send '*' instead, otherwise list the "
            "allowed origins",
            "list the trusted origins in allow_origins (crossorigin reflects only with "
            "dangerously_reflect_any_origin=True)",
        )
    ]


# --- the fetch algorithm -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What the page asks ``fetch()`` to do."""

    url: str
    origin: str
    method: str = "GET"
    headers: Headers = ()
    credentials: bool = False
    """``credentials: "include"`` (cookies, HTTP auth) rather than the default."""
    private_network: bool = False
    """The page is public and the target private (Private Network Access)."""


def url_origin(url: str) -> str:
    """The serialized origin of an absolute http(s) URL (``scheme://host[:port]``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def url_credentials_check(url: str) -> Check | None:
    """``fetch()`` throws a TypeError for a URL with user:password@, before sending anything."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None and parts.password is None:
        return None
    return Check(
        "url-credentials",
        False,
        "fetch() throws before sending: the URL contains credentials (user:password@)",
        "TypeError: Failed to execute 'fetch': Request cannot be constructed from a URL that "
        "includes credentials (every browser refuses, whatever the server sends)",
        "remove user:password@ from the URL; send credentials in an Authorization header "
        "(and list Authorization in Access-Control-Allow-Headers)",
        "add 'Authorization' to allow_headers",
    )


def validate_request(request: Request) -> list[str]:
    """Problems that make ``fetch()`` throw or make the request meaningless (empty: fine)."""
    problems: list[str] = []
    try:
        parts = urlsplit(request.url)
        hostname = parts.hostname
    except ValueError as error:  # 'http://[::1', 'http://[zz]/': fetch() throws a TypeError
        problems.append(f"URL {request.url!r} is malformed ({error})")
    else:
        if parts.scheme not in ("http", "https") or not hostname:
            problems.append(f"URL {request.url!r} is not an absolute http:// or https:// URL")
        else:
            try:
                _ = parts.port
            except ValueError:
                problems.append(f"URL {request.url!r} has an invalid port")
    if request.origin != "null" and parse_request_origin(request.origin) is None:
        problems.append(
            f"origin {request.origin!r} is not a serialized origin: write it as a browser "
            "sends it, scheme://host[:port], lowercase, without path or trailing slash "
            "(or 'null')"
        )
    if not is_token(request.method):
        problems.append(f"method {request.method!r} is not a valid HTTP method")
    elif request.method.upper() in FORBIDDEN_METHODS:
        problems.append(f"fetch() refuses the method {request.method!r}")
    for name, value in request.headers:
        if not is_token(name):
            problems.append(f"header name {name!r} is not a valid HTTP token")
        elif is_forbidden_request_header(name):
            problems.append(
                f"scripts cannot set the header {name!r} (a forbidden header name); "
                "browsers drop it"
                + (
                    "; use --credentials to check a request with cookies"
                    if name.lower() == "cookie"
                    else ""
                )
            )
        if any(ch in value for ch in "\r\n\0"):
            problems.append(f"header {name!r} has a value with CR, LF or NUL")
        elif any(ord(ch) > 0xFF for ch in value):
            problems.append(
                f"header {name!r} has a character outside ISO-8859-1 in its value: fetch() "
                "throws a TypeError (encode it, e.g. percent-encoding or base64)"
            )
    return problems


@dataclass(frozen=True, slots=True)
class Step:
    """One exchange: a preflight, or the request itself (one per redirect hop)."""

    kind: str
    """``"preflight"`` or ``"request"``."""
    request: HTTPRequest
    response: HTTPResponse
    checks: tuple[Check, ...] = ()
    note: str = ""

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The browser's verdict on one ``fetch()``, with everything needed to explain it."""

    request: Request
    profile: Profile
    allowed: bool
    steps: tuple[Step, ...]
    preflight_reasons: tuple[str, ...]
    readable_headers: Headers
    advice: tuple[Advice, ...]
    preflight_cache_seconds: int | None = None
    diagnosis: tuple[Check, ...] = ()
    """For a preflight refused without explanation: the answers to one question at a time."""
    thrown: Check | None = None
    """``fetch()`` threw before sending anything (e.g. a URL with user:password@)."""
    unsent: str = ""
    """Why the request itself was not sent although nothing failed (see ``send_unsafe``)."""

    @property
    def failures(self) -> tuple[Check, ...]:
        """What must change: the diagnosis when it found the cause, else the failed checks."""
        if self.thrown is not None:
            return (self.thrown,)
        found = tuple(c for c in self.diagnosis if not c.ok)
        return found or tuple(c for step in self.steps for c in step.checks if not c.ok)

    @property
    def readable_header_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.readable_headers)


def fetch(
    request: Request,
    send: Send,
    profile: Profile = CHROMIUM,
    *,
    max_redirects: int = MAX_REDIRECTS,
    send_unsafe: bool = True,
) -> Outcome:
    """Play the browser's side of one ``fetch(url, {mode: "cors"})`` through ``send``.

    Sends a preflight when needed, then the request; follows redirects as fetch does (a
    preflight must not redirect; after a cross-origin redirect the origin becomes 'null';
    Authorization is dropped across origins; 301/302 POST and 303 become GET). Stops at the
    first failing step, as the browser does. ``send`` may raise :class:`TransportError`,
    which propagates.

    With ``send_unsafe=False`` a request whose method is not GET or HEAD is never sent (it
    may change data on the server): the outcome stops after the preflight, if any, with
    ``unsent`` saying so.
    """
    method = normalize_method(request.method)
    headers = combine_headers(request.headers)
    url = request.url
    credentials = request.credentials
    cors = False
    tainted = False
    steps: list[Step] = []
    advice: list[Advice] = []
    reasons: list[str] = []
    cache_seconds: int | None = None
    diagnosis: list[Check] = []

    def outcome(allowed: bool, readable: Headers = ()) -> Outcome:
        return Outcome(
            request,
            profile,
            allowed,
            tuple(steps),
            tuple(reasons),
            readable,
            tuple(dict.fromkeys(advice)),
            cache_seconds,
            tuple(diagnosis),
            unsent=unsent,
        )

    unsent = ""
    thrown = url_credentials_check(request.url)
    if thrown is not None:
        return Outcome(request, profile, False, (), (), (), (), thrown=thrown)
    for hop in range(max_redirects + 1):
        current = url_origin(url)
        if not cors and current != request.origin:
            cors = True
        origin = "null" if tainted else request.origin
        if cors:
            needed = preflight_reasons(method, headers, request.private_network, profile)
            if needed:
                reasons.extend(r for r in needed if r not in reasons)
                preflight = build_preflight(
                    url, origin, method, headers, request.private_network, profile
                )
                response = send(preflight)
                checks = preflight_checks(
                    response, origin, method, headers, credentials, request.private_network, profile
                )
                if not all(c.ok for c in checks) and needs_diagnosis(response):
                    diagnosis = diagnose_refusal(request, url, origin, send, profile)
                    if any(not c.ok for c in diagnosis):
                        checks = [_see_diagnosis(c) for c in checks]
                step = Step("preflight", preflight, response, tuple(checks))
                steps.append(step)
                if not step.ok:
                    return outcome(False)
                cache_seconds = preflight_max_age(response, profile)
                advice.extend(preflight_advice(response, headers, credentials, profile))
        if not send_unsafe and method not in ("GET", "HEAD"):
            unsent = (
                f"the {method} request itself was not sent (it may change data on the "
                "server), so the CORS headers of its response are unchecked"
            )
            return outcome(True)
        sent = HTTPRequest(method, url, (*headers, ("Origin", origin)) if cors else headers)
        response = send(sent)
        checks = cors_check(response, origin, credentials) if cors else []
        location = response.get("Location")
        if response.status not in REDIRECT_STATUSES or location is None:
            step = Step(
                "request",
                sent,
                response,
                tuple(checks),
                "" if cors else "same origin: CORS does not apply",
            )
            steps.append(step)
            if not step.ok:
                return outcome(False)
            if cors:
                advice.extend(response_advice(response, origin, credentials))
                return outcome(True, readable_headers(response, credentials))
            return outcome(True, _all_readable(response))

        # A redirect: the browser checks the redirect response itself, then the target.
        try:
            target = urljoin(url, location)
            target_parts = urlsplit(target)
            _ = target_parts.port
        except ValueError:  # Location: http://[::1 and the like: fetch() fails the request
            target, target_parts = location, None
        if cors and not all(c.ok for c in checks):
            steps.append(Step("request", sent, response, tuple(checks), f"redirect to {target}"))
            return outcome(False)
        problem = ""
        if target_parts is None:
            problem = f"the redirect goes to {location!r}, which is not a valid URL"
        elif target_parts.scheme not in ("http", "https"):
            problem = f"the redirect goes to {target!r}, which is not http(s)"
        elif hop == max_redirects:
            problem = f"more than {max_redirects} redirects"
        elif cors and (target_parts.username is not None or target_parts.password is not None):
            problem = "the redirect target contains credentials (user:password@)"
        if problem:
            checks.append(
                Check(
                    "redirect",
                    False,
                    "the redirect cannot be followed",
                    problem,
                    "redirect to a plain http(s) URL, or call the final URL directly",
                )
            )
            steps.append(Step("request", sent, response, tuple(checks), f"redirect to {target}"))
            return outcome(False)
        target_origin = url_origin(target)
        note = f"redirect to {target}"
        if target_origin != current and request.origin != current and not tainted:
            tainted = True
            note += "; the origin becomes 'null' (cross-origin redirect)"
            advice.append(
                Advice(
                    "origin-null-after-redirect",
                    f"a cross-origin redirect ({current} to {target_origin}) makes the browser "
                    "send 'Origin: null' from then on, so the target must grant 'null'",
                    "call the final URL directly instead of relying on the redirect",
                )
            )
        checks.append(Check("redirect", True, f"{response.status} redirect followed"))
        steps.append(Step("request", sent, response, tuple(checks), note))
        if (response.status in (301, 302) and method == "POST") or (
            response.status == 303 and method not in ("GET", "HEAD")
        ):
            method = "GET"
            headers = tuple((n, v) for n, v in headers if n.lower() not in REQUEST_BODY_HEADERS)
        if target_origin != current:
            headers = tuple(
                (n, v) for n, v in headers if n.lower() not in NON_WILDCARD_REQUEST_HEADERS
            )
        url = target
    raise AssertionError("unreachable: the loop returns on its last hop")


def _see_diagnosis(check: Check) -> Check:
    if check.ok:
        return check
    if check.code == "allow-origin":
        return Check(
            check.code, False, check.summary, "the server granted nothing (diagnosis below)"
        )
    return Check(check.code, False, check.summary, check.cause)


def _all_readable(response: HTTPResponse) -> Headers:
    combined: dict[str, str] = {}
    for name, value in response.headers:
        lowered = name.lower()
        if lowered not in FORBIDDEN_RESPONSE_HEADERS:
            value = value.strip(_HTTP_WHITESPACE)
            combined[lowered] = f"{combined[lowered]}, {value}" if lowered in combined else value
    return tuple(sorted(combined.items()))


def probe(
    request: Request, send: Send, probe_origin: str, profile: Profile | None = None
) -> tuple[HTTPRequest, HTTPResponse, list[Advice]]:
    """Ask the server as a foreign origin would, to spot reflection of arbitrary origins.

    Side-effect free by construction: a GET/HEAD request is repeated as itself, anything
    else is probed with a preflight only (never a second POST/PUT/DELETE).
    """
    method = normalize_method(request.method)
    headers = combine_headers(request.headers)
    if method in ("GET", "HEAD") and not preflight_reasons(method, headers, False, profile):
        sent = HTTPRequest(method, request.url, (*headers, ("Origin", probe_origin)))
        kind = "on a simple request"
    else:
        sent = build_preflight(request.url, probe_origin, method, headers, False, profile)
        kind = "on a preflight"
    response = send(sent)
    return sent, response, reflection_advice(probe_origin, response, kind)
