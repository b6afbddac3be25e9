"""Read browsers' CORS console messages: which CORS step failed, why, and the fix.

Pure: text in, :class:`Explanation` out. Each engine words its messages differently:

- Chromium: ``Access to fetch at 'URL' [(redirected from 'URL')] from origin 'ORIGIN' has been
  blocked by CORS policy: [Response to preflight request doesn't pass access control check: ]
  REASON`` (Blink's ``cors_error_string.cc``).
- Firefox: ``Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote
  resource at URL. (Reason: REASON). [Status code: N.]`` (``security.properties``, the
  reasons MDN lists under "CORS errors").
- Safari (WebKit): a bare reason (``Origin X is not allowed by Access-Control-Allow-Origin.
  Status code: 200``), usually followed by ``Fetch API cannot load URL due to access control
  checks.`` (``CrossOriginAccessControl.cpp``, ``CrossOriginPreflightResultCache.cpp``).

A message no rule recognises gets no explanation: never a guess.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

CHROMIUM = "chromium"
FIREFOX = "firefox"
SAFARI = "safari"
ENGINES = (CHROMIUM, FIREFOX, SAFARI)


@dataclass(frozen=True, slots=True)
class Failure:
    """One kind of CORS failure, independent of how an engine words it."""

    kind: str
    """Stable identifier, e.g. ``missing-allow-origin``."""
    step: str
    """The browser check that failed, as :class:`crossorigin.browser.Check` codes name it:
    ``allow-origin``, ``allow-credentials``, ``preflight-status``, ``allow-methods``,
    ``allow-headers``, ``preflight-syntax``, ``redirect``, ``allow-private-network``,
    ``request`` (fetch refused before any CORS check), ``network`` (no response at all)."""
    title: str
    why: str
    fix: str
    option: str


def _failures() -> dict[str, Failure]:
    items = [
        Failure(
            "missing-allow-origin",
            "allow-origin",
            "the CORS check: no Access-Control-Allow-Origin on the response",
            "the response grants no origin, so the browser hides it from the page. Either no "
            "CORS layer covers this URL (a path rule, a middleware on another app, a proxy "
            "stripping headers, an error page produced outside the CORS layer), or the layer "
            "does not allow this origin (crossorigin then still sends 'Vary: Origin')",
            "Access-Control-Allow-Origin: {origin}",
            "add {origin_repr} to allow_origins, and make sure crossorigin's middleware wraps "
            "the whole app, outermost",
        ),
        Failure(
            "allow-origin-mismatch",
            "allow-origin",
            "the CORS check: Access-Control-Allow-Origin names another origin",
            "the server answered {value_repr}; browsers compare it byte for byte with the "
            "page's origin (scheme, host, port; no trailing slash, no path)",
            "Access-Control-Allow-Origin: {origin}",
            "add {origin_repr} to allow_origins (exactly as the browser sends it)",
        ),
        Failure(
            "origin-not-allowed",
            "allow-origin",
            "the CORS check: the page's origin is not granted",
            "Safari prints this one message whether Access-Control-Allow-Origin is missing or "
            "names another origin",
            "Access-Control-Allow-Origin: {origin}",
            "add {origin_repr} to allow_origins",
        ),
        Failure(
            "multiple-allow-origin",
            "allow-origin",
            "the CORS check: more than one Access-Control-Allow-Origin value",
            "the header must hold exactly one origin (or '*'); a comma list, or the header "
            "twice, fails. Usually two layers add CORS headers (two middlewares, or the app "
            "and a proxy), or a list of origins was pasted into the header",
            "one header: Access-Control-Allow-Origin: {origin}",
            "keep one CORS layer: remove the proxy's or the other middleware's CORS headers; "
            "crossorigin answers each origin with itself",
        ),
        Failure(
            "invalid-allow-origin",
            "allow-origin",
            "the CORS check: Access-Control-Allow-Origin is not a valid origin",
            "the server answered {value_repr}, which is neither '*' nor a serialized origin",
            "Access-Control-Allow-Origin: {origin}",
            "add {origin_repr} to allow_origins (crossorigin validates every origin at startup)",
        ),
        Failure(
            "wildcard-with-credentials",
            "allow-origin",
            "the CORS check: Access-Control-Allow-Origin is '*' on a credentialed request",
            "with credentials (cookies, HTTP auth: credentials: 'include', withCredentials) "
            "'*' is not a wildcard: the exact origin must be named",
            "Access-Control-Allow-Origin: {origin} with Access-Control-Allow-Credentials: true "
            "and Vary: Origin",
            "list {origin_repr} in allow_origins instead of '*' and set allow_credentials=True "
            "(crossorigin refuses '*' with credentials: it would let every site read your "
            "users' data)",
        ),
        Failure(
            "invalid-allow-credentials",
            "allow-credentials",
            "the CORS check: Access-Control-Allow-Credentials is not 'true'",
            "a credentialed request is readable only when the server opts in with exactly "
            "'Access-Control-Allow-Credentials: true' (lowercase); the server sent {value_desc}",
            "Access-Control-Allow-Credentials: true",
            "set allow_credentials=True",
        ),
        Failure(
            "preflight-status",
            "preflight-status",
            "the preflight: its response status is not 2xx",
            "the OPTIONS preflight got {status_desc}: it reached something that is not a CORS "
            "layer (the app's router: 404/405; an authentication layer: 401; a proxy), or a "
            "CORS layer refused it (crossorigin answers a refused preflight with 403)",
            "answer OPTIONS at this URL with 204 (or 200) and the Access-Control-Allow-* headers",
            "put crossorigin's middleware outermost, before authentication and routing: it "
            "answers preflights itself; if it already is, the origin, method or a header is "
            "not allowed (crossorigin check finds which)",
        ),
        Failure(
            "preflight-redirect",
            "preflight-status",
            "the preflight: it was redirected",
            "browsers never follow a redirect in answer to a preflight; common causes: a "
            "trailing-slash redirect, http-to-https, or a login redirect ahead of the CORS "
            "layer",
            "answer OPTIONS at the exact URL with 204; call the final URL directly",
            "call the final URL (with or without the trailing slash the router wants) and put "
            "crossorigin's middleware before anything that redirects",
        ),
        Failure(
            "method-not-allowed",
            "allow-methods",
            "the preflight: the method is not allowed",
            "the preflight asked for {method_desc} and Access-Control-Allow-Methods does not "
            "list it (method names compare case-sensitively; '*' counts only without "
            "credentials)",
            "Access-Control-Allow-Methods: {method_or}",
            "add {method_repr} to allow_methods (or allow_methods=['*']: crossorigin answers "
            "with the requested method, credentials included)",
        ),
        Failure(
            "header-not-allowed",
            "allow-headers",
            "the preflight: a request header is not allowed",
            "the page sets {header_desc}, which is not CORS-safelisted, and "
            "Access-Control-Allow-Headers does not list it ('*' counts only without "
            "credentials, and per the standard never for Authorization)",
            "Access-Control-Allow-Headers: {header_or}",
            "add {header_repr} to allow_headers (or allow_headers=['*']: crossorigin answers "
            "with the requested names, Authorization and credentials included)",
        ),
        Failure(
            "wildcard-authorization",
            "allow-headers",
            "the preflight: Authorization is covered only by '*' (a warning today)",
            "per the Fetch standard '*' in Access-Control-Allow-Headers never covers "
            "Authorization; browsers still accept it but announce they will stop",
            "Access-Control-Allow-Headers: Authorization, ... (by name)",
            "add 'Authorization' to allow_headers (crossorigin's allow_headers=['*'] answers "
            "with the requested names, so it already works)",
        ),
        Failure(
            "allow-methods-syntax",
            "preflight-syntax",
            "the preflight: Access-Control-Allow-Methods cannot be parsed",
            "the header must be a comma-separated list of method tokens{value_suffix}; one bad "
            "element fails the whole preflight",
            "Access-Control-Allow-Methods: GET, POST, PUT, DELETE",
            "set allow_methods=[...] (crossorigin validates the tokens at startup)",
        ),
        Failure(
            "allow-headers-syntax",
            "preflight-syntax",
            "the preflight: Access-Control-Allow-Headers cannot be parsed",
            "the header must be a comma-separated list of header-name tokens{value_suffix}; one "
            "bad element fails the whole preflight",
            "Access-Control-Allow-Headers: Content-Type, Authorization",
            "set allow_headers=[...] (crossorigin validates the tokens at startup)",
        ),
        Failure(
            "redirect-credentials",
            "redirect",
            "the redirect: its target contains user:password@",
            "a CORS request may not follow a redirect to a URL with credentials{value_suffix}",
            "redirect to a URL without user:password@",
            "call the final URL directly; send credentials in an Authorization header",
        ),
        Failure(
            "redirect-scheme",
            "redirect",
            "the redirect: its target is not http(s)",
            "a CORS request follows redirects to http: and https: URLs only",
            "redirect to an http(s) URL",
            "call the final URL directly",
        ),
        Failure(
            "external-redirect",
            "redirect",
            "the redirect: the browser refused to follow it",
            "Firefox refuses a redirect during a CORS request when the redirect itself fails "
            "the CORS check or goes where CORS cannot follow",
            "send the CORS headers on the redirect response too, or avoid the redirect",
            "call the final URL directly; crossorigin adds its headers to redirect responses "
            "it wraps",
        ),
        Failure(
            "private-network-missing",
            "allow-private-network",
            "the preflight: no Access-Control-Allow-Private-Network: true",
            "a page on a more public network ({space_desc}) may reach this server only when "
            "the server opts in on the Private Network Access preflight",
            "Access-Control-Allow-Private-Network: true (on the preflight response)",
            "set allow_private_network=True",
        ),
        Failure(
            "private-network-invalid",
            "allow-private-network",
            "the preflight: Access-Control-Allow-Private-Network is not 'true'",
            "the server sent {value_desc}; only the exact value 'true' opts in",
            "Access-Control-Allow-Private-Network: true",
            "set allow_private_network=True",
        ),
        Failure(
            "insecure-private-network",
            "allow-private-network",
            "Private Network Access: an insecure page may not reach a more private network",
            "the page is served over http (not a secure context) and the server is in a more "
            "private address space ({space_desc}); no header on the server can allow that",
            "serve the page over https (then the server must answer the Private Network "
            "Access preflight)",
            "serve the page over https; then set allow_private_network=True",
        ),
        Failure(
            "address-space-mismatch",
            "allow-private-network",
            "Private Network Access: the server is not in the address space the page named",
            "the request declared one target address space and the server turned out to be "
            "in another ({space_desc}), e.g. a public name that resolves to a private address",
            "call the server by the address it really has (or fix the DNS)",
            "no server option changes this: it is the page's or the network's side",
        ),
        Failure(
            "local-network-permission",
            "allow-private-network",
            "Local Network Access: the user's permission is missing",
            "Chromium asks the user before a page reaches the local network ({space_desc}); "
            "the permission was denied or could not be asked. No response header replaces it",
            "the user must grant the page local-network access (or serve the page from the "
            "same network)",
            "no server option changes this; on the server, allow_private_network=True still "
            "answers the preflight for browsers that send it",
        ),
        Failure(
            "cors-disabled-scheme",
            "request",
            "fetch() refused the URL's scheme",
            "CORS requests exist for http: and https: only (a file:, data:, chrome-extension: "
            "... URL cannot be fetched cross-origin)",
            "serve the resource over http(s)",
            "serve both the page and the API over http(s)",
        ),
        Failure(
            "request-mode",
            "request",
            "fetch() was told not to make cross-origin requests",
            "the request's mode is 'same-origin', so any cross-origin URL fails before a "
            "request is sent",
            "nothing on the server: change the page's fetch(..., {mode}) or call a same-origin URL",
            "no server option changes this",
        ),
        Failure(
            "invalid-response",
            "network",
            "the response could not be used",
            "the browser received no usable response (a protocol error, or the connection closed)",
            "make the server answer with a complete HTTP response",
            "crossorigin check shows what the server sends",
        ),
        Failure(
            "network-failure",
            "network",
            "no response at all (Firefox: 'CORS request did not succeed')",
            "the request never got an HTTP response: server down, wrong port, DNS, TLS "
            "certificate rejected, mixed content, or an extension blocked it. Not a CORS "
            "header problem",
            "make the URL reachable from the browser (open it in a tab to see the real error)",
            "no CORS option fixes this",
        ),
        Failure(
            "origin-not-added",
            "request",
            "the browser could not add the Origin header",
            "an add-on or internal setting prevented Firefox from sending Origin, so the "
            "request cannot be a CORS request",
            "nothing on the server: disable the extension interfering with the request",
            "no server option changes this",
        ),
        Failure(
            "cors-disabled",
            "request",
            "CORS is disabled in this browser",
            "Firefox's 'content.cors.disable' preference is set, so every cross-origin "
            "request fails",
            "nothing on the server: reset content.cors.disable in about:config",
            "no server option changes this",
        ),
    ]
    return {failure.kind: failure for failure in items}


FAILURES: dict[str, Failure] = _failures()


@dataclass(frozen=True, slots=True)
class Explanation:
    """One recognised console message, read."""

    engine: str
    failure: Failure
    message: str
    url: str | None = None
    origin: str | None = None
    redirected_from: str | None = None
    preflight: bool = False
    value: str | None = None
    """The offending value the message quotes (a header value, a method, a header name)."""
    status: int | None = None
    address_space: str | None = None
    credentials: bool = False
    """The message proves the request was credentialed."""
    notes: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        return self.failure.kind

    @property
    def step(self) -> str:
        return self.failure.step

    def _fields(self) -> dict[str, str]:
        origin = self.origin or "<the page's origin>"
        value = self.value
        method = value if self.kind == "method-not-allowed" and value else None
        header = value if self.kind == "header-not-allowed" and value else None
        return {
            "origin": origin,
            "origin_repr": repr(self.origin) if self.origin else "the page's origin",
            "value_repr": repr(value) if value is not None else "another value",
            "value_desc": repr(value) if value is not None else "something else",
            "value_suffix": f" (it was {value!r})" if value else "",
            "status_desc": f"status {self.status}" if self.status else "a non-2xx status",
            "method_desc": f"the method {method}" if method else "the page's method",
            "method_or": f"{method} (plus the others you use)" if method else "<the method>",
            "method_repr": repr(method) if method else "the method",
            "header_desc": f"the header {header}" if header else "a header",
            "header_or": f"{header} (plus the others you use)" if header else "<the header>",
            "header_repr": repr(_header_case(header)) if header else "the header",
            "space_desc": f"the `{self.address_space}` address space"
            if self.address_space
            else "a private or local address",
        }

    @property
    def why(self) -> str:
        return self.failure.why.format(**self._fields())

    @property
    def fix(self) -> str:
        return self.failure.fix.format(**self._fields())

    @property
    def option(self) -> str:
        return self.failure.option.format(**self._fields())

    def check_command(self) -> list[str] | None:
        """The ``crossorigin check`` argv reproducing this failure, or None (URL unknown)."""
        url = self.redirected_from or self.url
        if not url or not url.startswith(("http://", "https://")):
            return None
        argv = ["crossorigin", "check", url, "--origin", self.origin or "ORIGIN"]
        if self.kind == "method-not-allowed" and self.value:
            argv += ["-X", self.value]
        if self.kind == "header-not-allowed" and self.value:
            argv += ["-H", f"{_header_case(self.value)}: x"]
        if self.credentials:
            argv.append("--credentials")
        if self.step == "allow-private-network":
            argv.append("--private-network")
        return argv

    @property
    def command_complete(self) -> bool:
        """Whether the command says everything the page did, so ``--run`` can run it."""
        argv = self.check_command()
        if argv is None or self.origin is None:
            return False
        # A failed preflight was triggered by a method or header the message may not name.
        return not self.preflight or self.kind in ("method-not-allowed", "header-not-allowed")

    def command_text(self) -> str | None:
        argv = self.check_command()
        return None if argv is None else shlex.join(argv)


def _header_case(name: str) -> str:
    """``x-api-key`` -> ``X-Api-Key``: how people write header names in configs."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


# --- Chromium --------------------------------------------------------------------------------

_CHROMIUM_PREFIX = re.compile(
    r"Access to (?P<resource>[\w ]+?) at '(?P<url>[^']*)' "
    r"(?:\(redirected from '(?P<from>[^']*)'\) )?"
    r"from origin '(?P<origin>[^']*)' has been blocked by CORS policy: (?P<reason>.*)",
    re.S,
)
_CHROMIUM_PREFLIGHT = "Response to preflight request doesn't pass access control check: "
_SPACE = r"`(?P<space>\w+)`"

Rule = tuple[re.Pattern[str], str]

_CHROMIUM_RULES: list[Rule] = [
    (re.compile(r"No 'Access-Control-Allow-Origin' header is present"), "missing-allow-origin"),
    (
        re.compile(
            r"The 'Access-Control-Allow-Origin' header has a value '(?P<value>.*?)' that is "
            r"not equal to the supplied origin"
        ),
        "allow-origin-mismatch",
    ),
    (
        re.compile(
            r"The 'Access-Control-Allow-Origin' header contains multiple values "
            r"'(?P<value>.*?)', but only one is allowed"
        ),
        "multiple-allow-origin",
    ),
    (
        re.compile(
            r"The 'Access-Control-Allow-Origin' header contains the invalid value '(?P<value>.*?)'"
        ),
        "invalid-allow-origin",
    ),
    (
        re.compile(
            r"The value of the 'Access-Control-Allow-Origin' header in the response must not "
            r"be the wildcard '\*' when the request's credentials mode is 'include'"
        ),
        "wildcard-with-credentials",
    ),
    (
        re.compile(
            r"The value of the 'Access-Control-Allow-Credentials' header in the response is "
            r"'(?P<value>.*?)' which must be 'true'"
        ),
        "invalid-allow-credentials",
    ),
    (re.compile(r"It does not have HTTP ok status"), "preflight-status"),
    (re.compile(r"Redirect is not allowed for a preflight request"), "preflight-redirect"),
    (
        re.compile(
            r"Method (?P<value>\S+) is not allowed by Access-Control-Allow-Methods in "
            r"preflight response"
        ),
        "method-not-allowed",
    ),
    (
        re.compile(
            r"Request header field (?P<value>\S+) is not allowed by "
            r"Access-Control-Allow-Headers in preflight response"
        ),
        "header-not-allowed",
    ),
    (
        re.compile(r"Cannot parse Access-Control-Allow-Methods response header field"),
        "allow-methods-syntax",
    ),
    (
        re.compile(r"Cannot parse Access-Control-Allow-Headers response header field"),
        "allow-headers-syntax",
    ),
    (
        re.compile(
            r"Redirect location '(?P<value>.*?)' contains a username and password, which is "
            r"disallowed for cross-origin requests"
        ),
        "redirect-credentials",
    ),
    (
        re.compile(r"Cross origin requests are only supported for protocol schemes"),
        "cors-disabled-scheme",
    ),
    (re.compile(r"Cross origin requests are not allowed by request mode"), "request-mode"),
    (re.compile(r"The response is invalid\."), "invalid-response"),
    (
        re.compile(
            r"No 'Access-Control-Allow-(?:Private-Network|External)' header was present in "
            r"the preflight response for this (?:private network|external) request"
            r"(?: targeting the " + _SPACE + r" address space)?"
        ),
        "private-network-missing",
    ),
    (
        re.compile(
            r"The 'Access-Control-Allow-(?:Private-Network|External)' header in the preflight "
            r"response for this (?:private network|external) request (?:targeting the "
            + _SPACE
            + r" address space )?had a value of '(?P<value>.*?)',\s+not 'true'"
        ),
        "private-network-invalid",
    ),
    (
        re.compile(
            r"The request client is not a secure context and the resource is in "
            r"more-private address space " + _SPACE
        ),
        "insecure-private-network",
    ),
    (
        re.compile(
            r"Request had (?:a target IP address space of `\w+` yet|no target IP address "
            r"space, yet) the resource is in address space " + _SPACE
        ),
        "address-space-mismatch",
    ),
    (
        re.compile(
            r"(?:Permission was denied for this request to access|Unable to ask for "
            r"permission to access) the " + _SPACE + r" (?:IP )?address space"
        ),
        "local-network-permission",
    ),
    (
        re.compile(
            r"No 'Private-Network-Access-(?:Id|Name)' header was present in the preflight "
            r"response for this private network request(?: targeting the "
            + _SPACE
            + r" address space)?"
        ),
        "private-network-missing",
    ),
]


def _chromium(text: str) -> Explanation | None:
    match = _CHROMIUM_PREFIX.search(text)
    if match is None:
        return None
    reason = match["reason"].strip()
    preflight = reason.startswith(_CHROMIUM_PREFLIGHT)
    if preflight:
        reason = reason[len(_CHROMIUM_PREFLIGHT) :]
    found = _first_rule(_CHROMIUM_RULES, reason)
    if found is None:
        return None
    kind, groups = found
    if kind in ("method-not-allowed", "header-not-allowed", "allow-methods-syntax"):
        preflight = True
    if kind in ("allow-headers-syntax", "preflight-status", "preflight-redirect"):
        preflight = True
    if kind.startswith("private-network"):
        preflight = True
    notes: tuple[str, ...] = ()
    if preflight and kind == "missing-allow-origin":
        notes = (
            "Chromium checks the grant before the status, so a preflight that never reached a "
            "CORS layer (a 404/405 from the router, a 401 from authentication) reads like "
            "this too: crossorigin check shows the status",
        )
    return Explanation(
        CHROMIUM,
        FAILURES[kind],
        match.group(0).strip(),
        notes=notes,
        url=match["url"],
        origin=match["origin"],
        redirected_from=match["from"],
        preflight=preflight,
        value=groups.get("value"),
        address_space=groups.get("space"),
        credentials=kind in ("wildcard-with-credentials", "invalid-allow-credentials"),
    )


# --- Firefox ---------------------------------------------------------------------------------

_Q = "[‘'\"]"  # Firefox quotes with ‘ ’; a pasted message may have plain quotes
_QE = "[’'\"]"
_FIREFOX_PREFIX = re.compile(
    r"Cross-Origin Request (?P<level>Blocked|Warning): The Same Origin Policy "
    r"(?:disallows|will disallow) reading the remote resource at "
    + _Q
    + r"?(?P<url>\S+?)"
    + _QE
    + r"?(?: soon)?\.\s*\(Reason: (?P<reason>.*?)\)\.?(?:\s*Status code: (?P<status>\d+)\.?)?\s*$",
    re.S | re.M,
)

_FIREFOX_RULES: list[Rule] = [
    (re.compile(r"^CORS disabled"), "cors-disabled"),
    (re.compile(r"^CORS request did not succeed"), "network-failure"),
    (re.compile(r"^CORS header " + _Q + r"Origin" + _QE + r" cannot be added"), "origin-not-added"),
    (re.compile(r"^CORS request external redirect not allowed"), "external-redirect"),
    (re.compile(r"^CORS request not HTTP", re.I), "cors-disabled-scheme"),
    (
        re.compile(r"^CORS header " + _Q + r"Access-Control-Allow-Origin" + _QE + r" missing"),
        "missing-allow-origin",
    ),
    (
        re.compile(
            r"^Multiple CORS header " + _Q + r"Access-Control-Allow-Origin" + _QE + r" not allowed"
        ),
        "multiple-allow-origin",
    ),
    (
        re.compile(
            r"^CORS header "
            + _Q
            + r"Access-Control-Allow-Origin"
            + _QE
            + r" does not match "
            + _Q
            + r"(?P<value>.*?)"
            + _QE
        ),
        "allow-origin-mismatch",
    ),
    (
        re.compile(
            r"^Credential is not supported if the CORS header "
            + _Q
            + r"Access-Control-Allow-Origin"
            + _QE
            + r" is "
            + _Q
            + r"\*"
        ),
        "wildcard-with-credentials",
    ),
    (
        re.compile(r"^Did not find method in CORS header " + _Q + r"Access-Control-Allow-Methods"),
        "method-not-allowed",
    ),
    (
        re.compile(
            r"^expected "
            + _Q
            + r"true"
            + _QE
            + r" in CORS header "
            + _Q
            + r"Access-Control-Allow-Credentials"
        ),
        "invalid-allow-credentials",
    ),
    (re.compile(r"^CORS preflight (?:response|channel) did not succeed"), "preflight-status"),
    (
        re.compile(
            r"^invalid token "
            + _Q
            + r"(?P<value>.*?)"
            + _QE
            + r" in CORS header "
            + _Q
            + r"Access-Control-Allow-Methods"
        ),
        "allow-methods-syntax",
    ),
    (
        re.compile(
            r"^invalid token "
            + _Q
            + r"(?P<value>.*?)"
            + _QE
            + r" in CORS header "
            + _Q
            + r"Access-Control-Allow-Headers"
        ),
        "allow-headers-syntax",
    ),
    (
        re.compile(
            r"^header "
            + _Q
            + r"(?P<value>.*?)"
            + _QE
            + r" is not allowed according to header "
            + _Q
            + r"Access-Control-Allow-Headers"
        ),
        "header-not-allowed",
    ),
    (
        re.compile(
            r"^missing token "
            + _Q
            + r"(?P<value>.*?)"
            + _QE
            + r" in CORS header "
            + _Q
            + r"Access-Control-Allow-Headers"
        ),
        "header-not-allowed",
    ),
    (
        re.compile(r"^When the `Access-Control-Allow-Headers` is `\*`, the `Authorization`"),
        "wildcard-authorization",
    ),
]


def _firefox(text: str) -> Explanation | None:
    match = _FIREFOX_PREFIX.search(text)
    if match is None:
        return None
    found = _first_rule(_FIREFOX_RULES, match["reason"].strip())
    if found is None:
        return None
    kind, groups = found
    preflight = kind in (
        "preflight-status",
        "method-not-allowed",
        "header-not-allowed",
        "allow-methods-syntax",
        "allow-headers-syntax",
        "wildcard-authorization",
    )
    notes: tuple[str, ...] = ()
    if kind == "allow-origin-mismatch":
        notes = (
            "Firefox names the value the server sent, not the page's origin: compare it with "
            "the page's address bar",
        )
    return Explanation(
        FIREFOX,
        FAILURES[kind],
        match.group(0).strip(),
        url=match["url"],
        preflight=preflight,
        value=groups.get("value"),
        status=int(match["status"]) if match["status"] else None,
        credentials=kind in ("wildcard-with-credentials", "invalid-allow-credentials"),
        notes=notes,
    )


# --- Safari (WebKit) -------------------------------------------------------------------------

_SAFARI_LOAD = re.compile(
    r"(?:Fetch API|XMLHttpRequest) cannot load (?P<url>\S+?)(?: due to access control "
    r"checks)?\.(?:\s|$)"
)
_SAFARI_REDIRECT = re.compile(
    r"Cross-origin redirection to (?P<target>\S+) denied by Cross-Origin Resource Sharing "
    r"policy: (?P<reason>.*)",
    re.S,
)

_SAFARI_RULES: list[Rule] = [
    (
        re.compile(
            r"Origin (?P<origin>\S+) is not allowed by Access-Control-Allow-Origin\."
            r"(?: Status code: (?P<status>\d+))?"
        ),
        "origin-not-allowed",
    ),
    (
        re.compile(r"Cannot use wildcard in Access-Control-Allow-Origin when credentials flag"),
        "wildcard-with-credentials",
    ),
    (
        re.compile(r"Access-Control-Allow-Origin cannot contain more than one origin"),
        "multiple-allow-origin",
    ),
    (
        re.compile(
            r"Credentials flag is true, but Access-Control-Allow-Credentials is not \"?true"
        ),
        "invalid-allow-credentials",
    ),
    (
        re.compile(r"Preflight response is not successful\.(?: Status code: (?P<status>\d+))?"),
        "preflight-status",
    ),
    (
        re.compile(r"Method (?P<value>\S+) is not allowed by Access-Control-Allow-Methods\."),
        "method-not-allowed",
    ),
    (
        re.compile(
            r"Request header field (?P<value>\S+) is not allowed by Access-Control-Allow-Headers\."
        ),
        "header-not-allowed",
    ),
    (
        re.compile(r"Header Access-Control-Allow-Methods has an invalid value: ?(?P<value>.*)"),
        "allow-methods-syntax",
    ),
    (
        re.compile(r"Header Access-Control-Allow-Headers has an invalid value: ?(?P<value>.*)"),
        "allow-headers-syntax",
    ),
    (re.compile(r"redirection URL (?P<value>\S+) has credentials"), "redirect-credentials"),
    (
        re.compile(r"not allowed to follow a cross-origin CORS redirection with non CORS scheme"),
        "redirect-scheme",
    ),
    (
        re.compile(r"Preflight response was a redirect|not allowed to follow a redirect"),
        "preflight-redirect",
    ),
]


def _safari(text: str) -> Explanation | None:
    load = _SAFARI_LOAD.search(text)
    redirect = _SAFARI_REDIRECT.search(text)
    body = redirect["reason"] if redirect else text
    found = _first_rule(_SAFARI_RULES, body)
    if found is None:
        return None
    kind, groups = found
    status = groups.get("status")
    return Explanation(
        SAFARI,
        FAILURES[kind],
        text.strip(),
        url=load["url"] if load else None,
        origin=groups.get("origin"),
        redirected_from=None,
        preflight=kind
        in (
            "preflight-status",
            "preflight-redirect",
            "method-not-allowed",
            "header-not-allowed",
            "allow-methods-syntax",
            "allow-headers-syntax",
        ),
        value=groups.get("value"),
        status=int(status) if status else None,
        credentials=kind in ("wildcard-with-credentials", "invalid-allow-credentials"),
        notes=(f"during a redirect to {redirect['target']}",) if redirect else (),
    )


# --- reading ---------------------------------------------------------------------------------


def _first_rule(rules: Iterable[Rule], text: str) -> tuple[str, dict[str, str]] | None:
    for pattern, kind in rules:
        match = pattern.search(text)
        if match is not None:
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            return kind, groups
    return None


_READERS: list[Callable[[str], Explanation | None]] = [_chromium, _firefox, _safari]

# Lines that mean "blocked" without saying why: honest pointers, not explanations.
VAGUE = (
    (
        re.compile(r"TypeError: Failed to fetch|net::ERR_FAILED"),
        "Chromium's generic failure: the CORS reason is the 'has been blocked by CORS policy' "
        "line printed just before it",
    ),
    (
        re.compile(r"NetworkError when attempting to fetch resource"),
        "Firefox's generic failure: the reason is the 'Cross-Origin Request Blocked' line "
        "printed with it",
    ),
    (
        re.compile(r"TypeError: Load failed|due to access control checks"),
        "Safari's generic failure: the reason is the line printed just before it",
    ),
)


def explain(text: str) -> list[Explanation]:
    """Every CORS failure recognised in ``text`` (one or more pasted console lines)."""
    found: list[Explanation] = []
    # Chromium and Firefox messages are one line each; Safari splits its reason and its
    # "cannot load URL" summary over two, so a Safari reason takes the URL from anywhere.
    for line in _logical_lines(text):
        for reader in _READERS:
            explanation = reader(line)
            if explanation is not None:
                if explanation.engine == SAFARI and explanation.url is None:
                    load = _SAFARI_LOAD.search(text)
                    if load is not None:
                        explanation = replace(explanation, url=load["url"])
                found.append(explanation)
                break
    unique: dict[tuple[str, str, str | None, str | None], Explanation] = {}
    for item in found:
        unique.setdefault((item.engine, item.kind, item.url, item.value), item)
    return list(unique.values())


def vague_hint(text: str) -> str | None:
    """For a generic 'blocked' line without its reason: where the reason is."""
    for pattern, hint in VAGUE:
        if pattern.search(text):
            return hint
    return None


def _logical_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    return [line for line in lines if line]
