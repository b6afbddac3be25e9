"""The console-message corpus of ``crossorigin explain``, per engine.

Two kinds of entries:

- ``SCENARIOS``: blocked fetches a real browser is driven through against live servers on
  127.0.0.1 (``test_explain_browser.py``); the message is captured from the browser's console
  and must be read as the step the scenario broke. Engine-agnostic: ``kinds`` holds, per
  engine, the failure kind that engine's wording allows (engines word some failures alike:
  Safari has one message for a missing and a mismatched origin). Add an engine by adding its
  key to ``kinds`` and a driver to the browser test.
- ``QUOTED``: real message strings for failures a loopback page cannot produce (Private
  Network Access) and for engines not driven yet, each with the source it is quoted from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .cors_apps import ASGI, Scope, is_preflight, origin_of, page, raw, serve

Handler = Callable[[Scope, str], tuple[int, list[tuple[str, str]]]]
"""(scope, the API's own base URL) -> (status, headers)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    step: str
    """The browser check the server breaks (a :class:`crossorigin.browser.Check` code)."""
    kinds: dict[str, str]
    """Engine -> the failure kind its message must be read as."""
    handler: Handler
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    credentials: bool = False
    preflight: bool = False
    """The failure happens on the preflight."""
    redirected: bool = False


def _grant(scope: Scope, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", origin_of(scope)), ("Vary", "Origin"), *extra]


def _preflight_ok(scope: Scope, *extra: tuple[str, str]) -> tuple[int, list[tuple[str, str]]]:
    return 204, _grant(scope, *extra)


JSON = ("Content-Type", "application/json")


def _both(
    preflight: Callable[[Scope], tuple[int, list[tuple[str, str]]]],
) -> Handler:
    """A handler answering preflights with ``preflight`` and requests with a full grant."""
    return lambda s, base: preflight(s) if is_preflight(s) else (200, _grant(s, JSON))


SCENARIOS: list[Scenario] = [
    Scenario(
        "no-grant",
        "allow-origin",
        {"chromium": "missing-allow-origin", "firefox": "missing-allow-origin"},
        lambda s, base: (200, [JSON]),
    ),
    Scenario(
        "other-origin",
        "allow-origin",
        {"chromium": "allow-origin-mismatch", "firefox": "allow-origin-mismatch"},
        lambda s, base: (200, [("Access-Control-Allow-Origin", "https://other.example"), JSON]),
    ),
    Scenario(
        "trailing-slash",
        "allow-origin",
        {"chromium": "allow-origin-mismatch", "firefox": "allow-origin-mismatch"},
        lambda s, base: (200, [("Access-Control-Allow-Origin", origin_of(s) + "/"), JSON]),
    ),
    Scenario(
        "two-values",
        "allow-origin",
        {"chromium": "multiple-allow-origin", "firefox": "allow-origin-mismatch"},
        lambda s, base: (
            200,
            [("Access-Control-Allow-Origin", f"{origin_of(s)}, https://other.example"), JSON],
        ),
    ),
    Scenario(
        "two-headers",
        "allow-origin",
        {"chromium": "multiple-allow-origin", "firefox": "allow-origin-mismatch"},
        lambda s, base: (
            200,
            [
                ("Access-Control-Allow-Origin", origin_of(s)),
                ("Access-Control-Allow-Origin", "*"),
                JSON,
            ],
        ),
    ),
    Scenario(
        "invalid-value",
        "allow-origin",
        {"chromium": "invalid-allow-origin", "firefox": "allow-origin-mismatch"},
        lambda s, base: (200, [("Access-Control-Allow-Origin", "http://"), JSON]),
    ),
    Scenario(
        "wildcard-credentials",
        "allow-origin",
        {"chromium": "wildcard-with-credentials", "firefox": "wildcard-with-credentials"},
        lambda s, base: (
            200,
            [
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Credentials", "true"),
                JSON,
            ],
        ),
        credentials=True,
    ),
    Scenario(
        "no-allow-credentials",
        "allow-credentials",
        {"chromium": "invalid-allow-credentials", "firefox": "invalid-allow-credentials"},
        lambda s, base: (200, _grant(s, JSON)),
        credentials=True,
    ),
    Scenario(
        "allow-credentials-TRUE",
        "allow-credentials",
        {"chromium": "invalid-allow-credentials", "firefox": "invalid-allow-credentials"},
        lambda s, base: (200, _grant(s, ("Access-Control-Allow-Credentials", "TRUE"), JSON)),
        credentials=True,
    ),
    # Chromium checks the grant before the status: a 405 without CORS headers reads as a
    # missing Access-Control-Allow-Origin on the preflight.
    Scenario(
        "preflight-405",
        "allow-origin",
        {"chromium": "missing-allow-origin", "firefox": "missing-allow-origin"},
        lambda s, base: (405, [("Allow", "GET")]) if is_preflight(s) else (200, _grant(s, JSON)),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "preflight-403-with-grant",
        "preflight-status",
        {"chromium": "preflight-status", "firefox": "preflight-status"},
        _both(lambda s: (403, _grant(s, ("Access-Control-Allow-Methods", "PUT")))),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "preflight-redirect",
        "preflight-status",
        {"chromium": "preflight-redirect", "firefox": "preflight-status"},
        lambda s, base: (
            (308, [("Location", base + "/elsewhere"), *_grant(s)])
            if is_preflight(s)
            else (200, _grant(s, JSON))
        ),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "preflight-no-grant",
        "allow-origin",
        {"chromium": "missing-allow-origin", "firefox": "missing-allow-origin"},
        lambda s, base: (
            (204, [("Access-Control-Allow-Methods", "PUT")])
            if is_preflight(s)
            else (200, _grant(s, JSON))
        ),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "preflight-wildcard-credentials",
        "allow-origin",
        {"chromium": "wildcard-with-credentials", "firefox": "wildcard-with-credentials"},
        lambda s, base: (
            (
                204,
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Credentials", "true"),
                    ("Access-Control-Allow-Methods", "PUT"),
                ],
            )
            if is_preflight(s)
            else (200, _grant(s, JSON))
        ),
        method="PUT",
        credentials=True,
        preflight=True,
    ),
    Scenario(
        "method-not-listed",
        "allow-methods",
        {"chromium": "method-not-allowed", "firefox": "method-not-allowed"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Methods", "GET, POST"))),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "method-case",
        "allow-methods",
        {"chromium": "method-not-allowed", "firefox": "method-not-allowed"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Methods", "PATCH"))),
        method="patch",
        preflight=True,
    ),
    Scenario(
        "method-wildcard-credentials",
        "allow-methods",
        {"chromium": "method-not-allowed", "firefox": "method-not-allowed"},
        _both(
            lambda s: _preflight_ok(
                s,
                ("Access-Control-Allow-Methods", "*"),
                ("Access-Control-Allow-Credentials", "true"),
            )
        ),
        method="DELETE",
        credentials=True,
        preflight=True,
    ),
    Scenario(
        "header-not-listed",
        "allow-headers",
        {"chromium": "header-not-allowed", "firefox": "header-not-allowed"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Headers", "Content-Type"))),
        headers={"X-Api-Key": "k"},
        preflight=True,
    ),
    Scenario(
        "json-content-type",
        "allow-headers",
        {"chromium": "header-not-allowed", "firefox": "header-not-allowed"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Headers", "X-Requested-With"))),
        method="POST",
        headers={"Content-Type": "application/json"},
        preflight=True,
    ),
    Scenario(
        "methods-unparsable",
        "preflight-syntax",
        {"chromium": "allow-methods-syntax", "firefox": "allow-methods-syntax"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Methods", "GET, (PUT)"))),
        method="PUT",
        preflight=True,
    ),
    Scenario(
        "headers-unparsable",
        "preflight-syntax",
        {"chromium": "allow-headers-syntax", "firefox": "allow-headers-syntax"},
        _both(lambda s: _preflight_ok(s, ("Access-Control-Allow-Headers", "x-a; x-b"))),
        headers={"X-A": "1"},
        preflight=True,
    ),
    Scenario(
        "redirect-without-grant",
        "allow-origin",
        {"chromium": "missing-allow-origin", "firefox": "missing-allow-origin"},
        lambda s, base: (
            (302, [("Location", base + "/target/no-grant")])
            if s["path"].startswith("/scenario/")
            else (200, [JSON])
        ),
    ),
    Scenario(
        "redirect-to-no-grant",
        "allow-origin",
        {"chromium": "missing-allow-origin", "firefox": "missing-allow-origin"},
        lambda s, base: (
            (302, [("Location", base + "/target/no-grant"), *_grant(s)])
            if s["path"].startswith("/scenario/")
            else (200, [JSON])
        ),
        redirected=True,
    ),
    Scenario(
        "redirect-with-userinfo",
        "redirect",
        {"chromium": "redirect-credentials", "firefox": "network-failure"},
        lambda s, base: (
            302,
            [("Location", base.replace("://", "://user:pw@") + "/target/x"), *_grant(s)],
        ),
    ),
]


def scenario_app(base: Callable[[], str]) -> ASGI:
    """One app serving every scenario at ``/scenario/<name>`` (and its redirect targets)."""
    by_name = {scenario.name: scenario for scenario in SCENARIOS}

    def handle(scope: Scope) -> tuple[int, list[tuple[str, str]]]:
        parts = scope["path"].strip("/").split("/")
        if len(parts) >= 2 and parts[1] in by_name:
            return by_name[parts[1]].handler(scope, base())
        return 404, []

    return raw(handle)


@dataclass(frozen=True)
class Quoted:
    engine: str
    message: str
    kind: str
    step: str
    source: str
    preflight: bool = False


_FF = (
    "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource "
    "at https://api.example.com/items. (Reason: {reason})."
)
_FF_SOURCE = "Firefox dom/locales/en-US/chrome/security/security.properties (MDN: CORS errors)"
_WK_SOURCE = "WebKit Source/WebCore/loader/CrossOriginAccessControl.cpp"
_WK_CACHE = "WebKit Source/WebCore/loader/CrossOriginPreflightResultCache.cpp"
_CR_SOURCE = "Chromium third_party/blink/renderer/platform/loader/cors/cors_error_string.cc"
_CR = (
    "Access to fetch at 'http://192.168.1.20/api' from origin 'https://app.example.com' has "
    "been blocked by CORS policy: "
)
_CR_PF = _CR + "Response to preflight request doesn't pass access control check: "

QUOTED: list[Quoted] = [
    # Chromium: Private Network Access / Local Network Access, not producible on loopback.
    Quoted(
        "chromium",
        _CR_PF + "No 'Access-Control-Allow-Private-Network' header was present in the preflight "
        "response for this private network request targeting the `private` address space.",
        "private-network-missing",
        "allow-private-network",
        _CR_SOURCE,
        True,
    ),
    Quoted(
        "chromium",
        _CR_PF + "The 'Access-Control-Allow-Private-Network' header in the preflight response "
        "for this private network request targeting the `local` address space had a value of "
        "'yes',  not 'true'.",
        "private-network-invalid",
        "allow-private-network",
        _CR_SOURCE,
        True,
    ),
    Quoted(
        "chromium",
        _CR + "The request client is not a secure context and the resource is in more-private "
        "address space `private`.",
        "insecure-private-network",
        "allow-private-network",
        _CR_SOURCE,
    ),
    Quoted(
        "chromium",
        _CR + "Permission was denied for this request to access the `local` address space.",
        "local-network-permission",
        "allow-private-network",
        _CR_SOURCE,
    ),
    Quoted(
        "chromium",
        _CR + "Request had a target IP address space of `public` yet the resource is in "
        "address space `private`.",
        "address-space-mismatch",
        "allow-private-network",
        _CR_SOURCE,
    ),
    Quoted(
        "chromium",
        _CR + "Cross origin requests are only supported for protocol schemes: chrome, "
        "chrome-extension, chrome-untrusted, data, http, https, isolated-app.",
        "cors-disabled-scheme",
        "request",
        _CR_SOURCE,
    ),
    Quoted(
        "chromium",
        _CR + "Cross origin requests are not allowed by request mode.",
        "request-mode",
        "request",
        _CR_SOURCE,
    ),
    Quoted("chromium", _CR + "The response is invalid.", "invalid-response", "network", _CR_SOURCE),
    # Firefox: every reason of security.properties' CORS section.
    Quoted("firefox", _FF.format(reason="CORS disabled"), "cors-disabled", "request", _FF_SOURCE),
    Quoted(
        "firefox",
        _FF.format(reason="CORS request did not succeed") + " Status code: (null).",
        "network-failure",
        "network",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="CORS header ‘Origin’ cannot be added"),
        "origin-not-added",
        "request",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="CORS request external redirect not allowed"),
        "external-redirect",
        "redirect",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="CORS request not http"),
        "cors-disabled-scheme",
        "request",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="CORS header ‘Access-Control-Allow-Origin’ missing")
        + " Status code: 200.",
        "missing-allow-origin",
        "allow-origin",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed"),
        "multiple-allow-origin",
        "allow-origin",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(
            reason="CORS header ‘Access-Control-Allow-Origin’ does not match "
            "‘https://app.example.com/’"
        ),
        "allow-origin-mismatch",
        "allow-origin",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote "
        "resource at ‘https://api.example.com/items’. (Reason: Credential is not supported if "
        "the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).",
        "wildcard-with-credentials",
        "allow-origin",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="Did not find method in CORS header ‘Access-Control-Allow-Methods’"),
        "method-not-allowed",
        "allow-methods",
        _FF_SOURCE,
        True,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’"),
        "invalid-allow-credentials",
        "allow-credentials",
        _FF_SOURCE,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="CORS preflight response did not succeed") + " Status code: 405.",
        "preflight-status",
        "preflight-status",
        _FF_SOURCE,
        True,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="invalid token ‘(PUT)’ in CORS header ‘Access-Control-Allow-Methods’"),
        "allow-methods-syntax",
        "preflight-syntax",
        _FF_SOURCE,
        True,
    ),
    Quoted(
        "firefox",
        _FF.format(reason="invalid token ‘x;y’ in CORS header ‘Access-Control-Allow-Headers’"),
        "allow-headers-syntax",
        "preflight-syntax",
        _FF_SOURCE,
        True,
    ),
    Quoted(
        "firefox",
        _FF.format(
            reason="header ‘x-api-key’ is not allowed according to header "
            "‘Access-Control-Allow-Headers’ from CORS preflight response"
        ),
        "header-not-allowed",
        "allow-headers",
        _FF_SOURCE,
        True,
    ),
    Quoted(
        "firefox",
        _FF.format(
            reason="missing token ‘x-api-key’ in CORS header ‘Access-Control-Allow-Headers’ "
            "from CORS preflight channel"
        ),
        "header-not-allowed",
        "allow-headers",
        "Firefox security.properties before version 118 (CORSMissingAllowHeaderFromPreflight)",
        True,
    ),
    Quoted(
        "firefox",
        "Cross-Origin Request Warning: The Same Origin Policy will disallow reading the remote "
        "resource at https://api.example.com/items soon. (Reason: When the "
        "`Access-Control-Allow-Headers` is `*`, the `Authorization` header is not covered. To "
        "include the `Authorization` header, it must be explicitly listed in CORS header "
        "`Access-Control-Allow-Headers`).",
        "wildcard-authorization",
        "allow-headers",
        _FF_SOURCE,
        True,
    ),
    # Safari (WebKit): the reason line, then "Fetch API cannot load URL due to access control
    # checks."
    Quoted(
        "safari",
        "Origin https://app.example.com is not allowed by Access-Control-Allow-Origin. Status "
        "code: 200\nFetch API cannot load https://api.example.com/items due to access control "
        "checks.",
        "origin-not-allowed",
        "allow-origin",
        _WK_SOURCE,
    ),
    Quoted(
        "safari",
        "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.",
        "wildcard-with-credentials",
        "allow-origin",
        _WK_SOURCE,
    ),
    Quoted(
        "safari",
        "Access-Control-Allow-Origin cannot contain more than one origin.",
        "multiple-allow-origin",
        "allow-origin",
        _WK_SOURCE,
    ),
    Quoted(
        "safari",
        'Credentials flag is true, but Access-Control-Allow-Credentials is not "true".',
        "invalid-allow-credentials",
        "allow-credentials",
        _WK_SOURCE,
    ),
    Quoted(
        "safari",
        "Preflight response is not successful. Status code: 405",
        "preflight-status",
        "preflight-status",
        _WK_SOURCE,
        True,
    ),
    Quoted(
        "safari",
        "Method PUT is not allowed by Access-Control-Allow-Methods.",
        "method-not-allowed",
        "allow-methods",
        _WK_CACHE,
        True,
    ),
    Quoted(
        "safari",
        "Request header field X-Api-Key is not allowed by Access-Control-Allow-Headers.",
        "header-not-allowed",
        "allow-headers",
        _WK_CACHE,
        True,
    ),
    Quoted(
        "safari",
        "Header Access-Control-Allow-Methods has an invalid value: GET, (PUT)",
        "allow-methods-syntax",
        "preflight-syntax",
        _WK_CACHE,
        True,
    ),
    Quoted(
        "safari",
        "Header Access-Control-Allow-Headers has an invalid value: x;y",
        "allow-headers-syntax",
        "preflight-syntax",
        _WK_CACHE,
        True,
    ),
    Quoted(
        "safari",
        "Cross-origin redirection to https://other.example.com/ denied by Cross-Origin "
        "Resource Sharing policy: Origin https://app.example.com is not allowed by "
        "Access-Control-Allow-Origin. Status code: 302",
        "origin-not-allowed",
        "allow-origin",
        _WK_SOURCE + " (redirects: SubresourceLoader.cpp)",
    ),
    Quoted(
        "safari",
        "Cross-origin redirection to ftp://files.example.com/x denied by Cross-Origin Resource "
        "Sharing policy: not allowed to follow a cross-origin CORS redirection with non CORS "
        "scheme",
        "redirect-scheme",
        "redirect",
        _WK_SOURCE + " (validateCrossOriginRedirectionURL)",
    ),
]


@contextlib.contextmanager
def scenario_servers() -> Iterator[tuple[str, str]]:
    """A page server and :func:`scenario_app` on loopback; yields (page origin, API base URL)."""
    base: dict[str, str] = {}
    page_server = serve(page)
    api_server = serve(scenario_app(lambda: base["api"]))
    base["api"] = api_server[2]
    try:
        yield page_server[2], api_server[2]
    finally:
        for server, thread, _ in (page_server, api_server):
            server.should_exit = True
            thread.join(timeout=5)
