"""Where the engines differ: the ONE table of the browser suite.

Every scenario expects what the Fetch standard says. Where an engine does something else,
the difference is declared here, once, and a scenario that touches it asks
:func:`deviates` instead of hard-coding an engine name. Each entry is demonstrated, in every
engine, by its own test in ``test_deviation.py``: an engine listed here must still behave
this way, and an engine not listed must not, so the table cannot go stale in either direction.

Two kinds: deviations from the Fetch standard (``standard_allows=False``), and differences
the standard leaves to the engine (caching is optional, so an engine may cache less or
differently), which still change what a test or a server can observe.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engines import EngineName


@dataclass(frozen=True)
class Deviation:
    key: str
    engines: frozenset[EngineName]
    standard: str
    """What the Fetch standard (or HTTP caching) says."""
    observed: str
    """What the listed engines do instead (measured by the key's test)."""
    consequence: str
    """What it means for a server, and for crossorigin."""
    standard_allows: bool = False


def _engines(*names: EngineName) -> frozenset[EngineName]:
    return frozenset(names)


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "wildcard-covers-authorization",
        _engines("chromium", "firefox", "webkit"),
        "'Access-Control-Allow-Headers: *' never covers Authorization; it must be listed by name",
        "'*' lets Authorization through (Firefox logs a warning that this will stop; Chromium "
        "follows the standard with CorsNonWildcardRequestHeadersSupport, Firefox with "
        "network.cors_preflight.authorization_covered_by_wildcard=false)",
        "a server relying on '*' for Authorization breaks when engines catch up; crossorigin "
        "answers allow_headers='*' by echoing the requested names, Authorization included, "
        "which every engine accepts, credentialed or not",
    ),
    Deviation(
        "client-hints-safelisted",
        _engines("chromium"),
        "only Accept, Accept-Language, Content-Language, Content-Type (three types) and a "
        "simple Range are safelisted request headers",
        "well-formed client-hint headers (DPR, Save-Data: on, ECT, Width...) set by the page "
        "are sent without a preflight",
        "a page setting them needs the server to allow them in Firefox and WebKit but not in "
        "Chromium; list them in allow_headers if pages send them",
    ),
    Deviation(
        "no-preflight-cache-for-ip-hosts",
        _engines("firefox"),
        "a passed preflight may be cached for Access-Control-Max-Age seconds",
        "for an IP-literal host (127.0.0.1) a cached preflight does not survive a new "
        "connection: requests on fresh connections are preflighted again despite Max-Age; "
        "for host names the cache works as elsewhere",
        "none for servers reached by name; Max-Age saves nothing for APIs called by IP",
        standard_allows=True,
    ),
    Deviation(
        "no-http-cache",
        _engines("webkit"),
        "a cacheable response (Cache-Control: max-age) may be reused from the HTTP cache",
        "WebKitGTK under WebDriver never reuses its HTTP cache: every fetch reaches the server",
        "Vary cannot be observed in WebKit's automation session (Safari itself caches)",
        standard_allows=True,
    ),
    Deviation(
        "refused-responses-cached",
        _engines("firefox"),
        "a response may be stored whatever the CORS check made of it",
        "Firefox stores a response it refused and serves it to the next origin asking for "
        "the same URL; Chromium and WebKit do not reuse a refused response",
        "a missing 'Vary: Origin' on refusals makes Firefox refuse an allowed origin; "
        "crossorigin sends Vary: Origin on refusals too",
        standard_allows=True,
    ),
    Deviation(
        "navigation-entry-not-reused",
        _engines("firefox", "webkit"),
        "a response stored by a navigation (no Origin) may be reused for a later fetch",
        "a cross-origin fetch without credentials does not reuse the entry a navigation "
        "stored (WebKit, in addition, does not cache at all here)",
        "a missing 'Vary: Origin' on responses without Origin shows up in Chromium only",
        standard_allows=True,
    ),
)

BY_KEY: dict[str, Deviation] = {d.key: d for d in DEVIATIONS}


def deviates(engine: str, key: str) -> bool:
    """Whether ``engine`` departs from the expected behaviour named ``key``."""
    return engine in BY_KEY[key].engines
