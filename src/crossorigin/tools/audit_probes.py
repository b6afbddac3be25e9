"""The probes of ``crossorigin audit`` and how their answers are judged. Pure: no I/O.

A probe is one request a hostile page could cause: a GET (or HEAD) with a crafted
``Origin``, or a CORS preflight. Each answer is read the way a browser reads it, with
:func:`crossorigin.browser.cors_check` and :func:`crossorigin.browser.sent_preflight_checks`:
a finding exists only when a browser would let the crafted origin read the response, and it
is critical or high only when the browser would also send the user's cookies.

The crafted origins derive from the site's own front-end origin (``--origin``; by default the
target URL's origin) and its registrable domain, taken from the Public Suffix List.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from ..browser import (
    CHROMIUM,
    HTTPRequest,
    HTTPResponse,
    build_preflight,
    cors_check,
    sent_preflight_checks,
    url_origin,
    vary_tokens,
)

SEVERITIES = ("info", "low", "medium", "high", "critical")
RANK = {name: index for index, name in enumerate(SEVERITIES)}

# Probe hosts live under .example (RFC 2606): nobody can own them, so a grant can only come
# from a matcher that over-reaches, never from a real allow-list entry.
PROBE_DOMAIN = "crossorigin-audit.example"
# Characters some origin parsers and regexes treat as the end of the host (Safari and some
# server libraries accept several of them in host names).
SPECIAL_CHARACTERS = ("_", "`", "{", "}", "%60", "!", "~", "$", "|")
INJECTION_HEADER = "X-Crossorigin-Audit"
AUDIT_COOKIE = ("Cookie", "crossorigin_audit=1")
ECHO_METHOD = "CROSSORIGIN-AUDIT"


@dataclass(frozen=True, slots=True)
class Rule:
    """One class of dangerous grant."""

    id: str
    title: str
    with_credentials: str
    """Severity when the grant includes ``Access-Control-Allow-Credentials: true``."""
    without_credentials: str
    exploit: str
    """What an attacker's page can do, in plain words ({origin} is the granted probe)."""
    fix: str
    option: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "reflect-any-origin",
            "the server reflects any origin",
            "critical",
            "low",
            "any website (here {origin}) can read the response{creds}",
            "answer only the origins you trust: Access-Control-Allow-Origin: <one of them>, "
            "with Vary: Origin; send '*' only for public data, never with credentials",
            "list the trusted origins in allow_origins; never dangerously_reflect_any_origin="
            "True (crossorigin reflects nothing by default)",
        ),
        Rule(
            "null-origin",
            "the origin 'null' is trusted",
            "critical",
            "low",
            "any site can send 'Origin: null' from a sandboxed iframe, so any site can read "
            "the response{creds}",
            "never grant 'null'",
            "remove 'null' from allow_origins (crossorigin refuses 'null' with credentials)",
        ),
        Rule(
            "prefix-match",
            "origins that merely start with the trusted host are trusted",
            "high",
            "low",
            "whoever registers {origin} (a domain that starts with yours) can read the "
            "response{creds}",
            "match whole origins, anchored at both ends",
            "list exact origins in allow_origins, or a full-match allow_origin_regex such as "
            r"r'https://([a-z0-9-]+\.)*example\.com' (crossorigin full-matches regexes)",
        ),
        Rule(
            "suffix-match",
            "origins that merely end with the trusted domain are trusted",
            "high",
            "low",
            "whoever registers {origin} (any name ending in yours) can read the response{creds}",
            "match the domain on a label boundary ('.example.com' or exactly 'example.com')",
            "list exact origins, or a subdomain pattern such as 'https://*.example.com'",
        ),
        Rule(
            "unescaped-dot",
            "a regex with an unescaped '.' trusts look-alike domains",
            "high",
            "low",
            "whoever registers {origin} (a dot replaced by a letter) can read the response{creds}",
            r"escape every dot in origin regexes ('\.')",
            "list exact origins in allow_origins (crossorigin refuses regexes that reach "
            "other registrable domains)",
        ),
        Rule(
            "substring-match",
            "origins that merely contain (or are contained in) the trusted one are trusted",
            "high",
            "low",
            "whoever registers {origin} can read the response{creds}",
            "compare whole origins for equality, not with 'in' or 'contains'",
            "list exact origins in allow_origins",
        ),
        Rule(
            "special-characters",
            "an origin with special characters after the trusted host is trusted",
            "high",
            "low",
            "{origin} is another site's origin (the host ends after the special character "
            "in browsers that accept it), yet it is granted{creds}",
            "parse the origin as a URL and compare the whole host; reject hosts with "
            "characters outside [a-z0-9.-]",
            "list exact origins in allow_origins (crossorigin matches serialized origins exactly)",
        ),
        Rule(
            "third-party-hosting",
            "a shared hosting suffix from the Public Suffix List is trusted",
            "high",
            "low",
            "anyone can host a page at {origin} (a public suffix: every customer of that "
            "service gets a name under it) and read the response{creds}",
            "list your own hosts under the shared suffix, never the whole suffix",
            "list exact origins (crossorigin refuses patterns on public suffixes)",
        ),
        Rule(
            "arbitrary-subdomain",
            "every subdomain is trusted",
            "medium",
            "info",
            "a page on any subdomain ({origin}) can read the response{creds}: one XSS or "
            "subdomain takeover anywhere under the domain becomes a data leak",
            "trust only the subdomains that serve your front-ends",
            "list those origins in allow_origins instead of a '*.' pattern",
        ),
        Rule(
            "http-origin-trusted",
            "the http:// version of an https site is trusted",
            "medium",
            "low",
            "a network attacker (public Wi-Fi) can inject a page into {origin}, which is not "
            "encrypted, and read the response{creds}",
            "trust https:// origins only",
            "list only https:// origins in allow_origins",
        ),
        Rule(
            "wildcard-with-credentials",
            "'Access-Control-Allow-Origin: *' with 'Access-Control-Allow-Credentials: true'",
            "low",
            "low",
            "browsers refuse this combination, so nothing leaks today; it usually means "
            "someone wanted credentials from any site, and the next 'fix' is reflecting the "
            "origin",
            "send '*' without credentials for public data, or the exact origin with credentials",
            "crossorigin refuses allow_origins=['*'] with allow_credentials=True",
        ),
        Rule(
            "preflight-echo-credentials",
            "credentialed preflights are granted for any method and header asked",
            "info",
            "info",
            "a trusted origin ({origin}) may send any method and any header with the users' "
            "cookies; harmless while the origin list is tight, but it widens what an XSS on "
            "that origin can do",
            "list the methods and headers the front-end uses",
            "list allow_methods and allow_headers (allow_methods=['*'] / allow_headers=['*'] "
            "echo what is asked, by design)",
        ),
        Rule(
            "missing-vary-origin",
            "a grant that depends on the Origin lacks 'Vary: Origin'",
            "medium",
            "low",
            "a shared cache (CDN, proxy) can store the answer for {origin} and serve it to "
            "other origins: cache poisoning, spurious CORS errors, or leaks",
            "send 'Vary: Origin' on every response whose CORS headers depend on the Origin",
            "crossorigin always sends Vary: Origin when the grant is not a constant '*'",
        ),
        Rule(
            "header-injection",
            "the reflected Origin can inject response headers",
            "high",
            "high",
            "an encoded CR/LF in the Origin header became a new response header: response "
            "splitting, cache poisoning and cookie injection",
            "never decode or reflect the raw Origin; compare it with a list",
            "crossorigin never reflects a value it has not matched exactly",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of the audit."""

    rule: str
    origin: str
    preflight: bool = False
    method: str = "GET"
    request_headers: tuple[tuple[str, str], ...] = ()

    def request(self, url: str) -> HTTPRequest:
        if self.preflight:
            return build_preflight(url, self.origin, self.method, self.request_headers)
        # A browser sends the user's cookies on a credentialed request; some servers (Starlette
        # with allow_origins=['*'] and credentials) reflect the origin only when one is there.
        return HTTPRequest(self.method, url, (("Origin", self.origin), AUDIT_COOKIE))


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    url: str
    origin: str
    credentials: bool
    """The grant includes credentials: a browser sends the users' cookies and lets the page
    read the answer."""
    evidence: tuple[tuple[str, str], ...] = ()
    """The response's CORS headers that make the finding."""
    detail: str = ""

    @property
    def info(self) -> Rule:
        return RULES[self.rule]

    @property
    def exploit(self) -> str:
        creds = (
            ", WITH the users' cookies: their private data"
            if self.credentials
            else " (without cookies: public data, or data reachable from the user's network)"
        )
        return self.info.exploit.format(origin=self.origin, creds=creds)


@dataclass(frozen=True, slots=True)
class Target:
    """The target URL and the origins the probes are built from."""

    url: str
    trusted: str
    """A front-end origin the site trusts: ``scheme://host[:port]``."""
    host: str
    scheme: str
    domain: str
    """The trusted host's registrable domain (eTLD+1), or the host itself (IP, localhost)."""
    suffixes: tuple[str, ...] = ()
    """Public suffixes under which the trusted host or the target sits (shared hosting)."""


def make_target(url: str, trusted: str | None = None) -> Target:
    """Raises ValueError for a URL or origin that is not absolute http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http:// or https:// URL")
    _ = parts.port  # ValueError for a bad port
    trusted = trusted or url_origin(url)
    origin_parts = urlsplit(trusted)
    host = origin_parts.hostname or ""
    if origin_parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"origin {trusted!r} is not scheme://host[:port]")
    _ = origin_parts.port  # ValueError for a bad port
    if not host.isascii():
        # Browsers send IDNs in punycode; so must the probes (header values are ASCII).
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ValueError(f"origin {trusted!r} has an invalid host ({error})") from error
        trusted = trusted.replace(
            origin_parts.netloc, origin_parts.netloc.lower().replace(host, ascii_host), 1
        )
        host = ascii_host
    domain = registrable_domain(host)
    suffixes = tuple(
        dict.fromkeys(s for h in (host, parts.hostname) for s in [public_suffix(h)] if s)
    )
    return Target(url, trusted.rstrip("/"), host, origin_parts.scheme, domain, suffixes)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(host: str) -> str:
    if _is_ip(host) or "." not in host:
        return host
    found = _psl().privatesuffix(host)  # type: ignore[attr-defined]
    return str(found) if found else host


def public_suffix(host: str) -> str | None:
    """The public suffix of ``host`` when it has more than one label (``github.io``), else
    None: a one-label suffix (``com``) is not a hosting service."""
    if _is_ip(host) or "." not in host:
        return None
    suffix = _psl().publicsuffix(host)  # type: ignore[attr-defined]
    return str(suffix) if suffix and "." in str(suffix) else None


@cache
def private_section_suffixes() -> tuple[str, ...]:
    """Every rule of the Public Suffix List's private section (shared hosting, dynamic DNS,
    platforms), wildcards made concrete (``*.x.y`` -> ``a.x.y``), exceptions left out."""
    from importlib.resources import files

    text = files("publicsuffixlist").joinpath("public_suffix_list.dat").read_text("utf-8")
    section = text.partition("===BEGIN PRIVATE DOMAINS===")[2].partition(
        "===END PRIVATE DOMAINS==="
    )[0]
    rules: list[str] = []
    for line in section.splitlines():
        rule = line.strip()
        if not rule or rule.startswith(("//", "!")):
            continue
        rule = rule.replace("*", "a")
        rules.append(rule.encode("idna").decode("ascii") if not rule.isascii() else rule)
    return tuple(dict.fromkeys(rules))


def psl_version() -> str:
    from importlib.resources import files

    text = files("publicsuffixlist").joinpath("public_suffix_list.dat").read_text("utf-8")
    for line in text.splitlines()[:20]:
        if line.startswith("// VERSION:"):
            return line.partition(":")[2].strip()
    return "unknown"


def _origin(scheme: str, host: str, port: str = "") -> str:
    return f"{scheme}://{host}{port}"


def plan(target: Target, hosting: Sequence[str] = (), token: str | None = None) -> list[Probe]:
    """Every probe for one target, in order; ``hosting`` adds shared-hosting suffixes."""
    token = token or secrets.token_hex(3)
    scheme, host, domain = target.scheme, target.host, target.domain
    port = ""
    netloc = urlsplit(target.trusted).netloc
    if ":" in netloc.rsplit("]", 1)[-1]:
        port = ":" + netloc.rsplit(":", 1)[1]
    probes: list[Probe] = [
        Probe("reflect-any-origin", f"https://crossorigin-audit-{token}.example"),
        Probe("null-origin", "null"),
    ]
    names = list(dict.fromkeys([host, domain]))
    for name in names:
        probes.append(Probe("prefix-match", _origin(scheme, f"{name}.{PROBE_DOMAIN}")))
    probes.append(Probe("suffix-match", _origin(scheme, f"attacker{domain}", port)))
    probes.append(Probe("suffix-match", _origin(scheme, f"attacker-{domain}", port)))
    for name in names:
        if _is_ip(name):
            continue
        for index, char in enumerate(name):
            if char == ".":
                lookalike = name[:index] + "x" + name[index + 1 :]
                probes.append(Probe("unescaped-dot", _origin(scheme, lookalike, port)))
    if len(host) > 1 and not _is_ip(host):
        probes.append(Probe("substring-match", _origin(scheme, host[:-1], port)))
    first_label = domain.split(".")[0]
    if first_label and not _is_ip(domain):
        probes.append(Probe("substring-match", _origin(scheme, f"{first_label}.{PROBE_DOMAIN}")))
    for char in SPECIAL_CHARACTERS:
        probes.append(Probe("special-characters", _origin(scheme, f"{host}{char}.{PROBE_DOMAIN}")))
    if not _is_ip(domain) and "." in domain:
        probes.append(
            Probe("arbitrary-subdomain", _origin(scheme, f"crossorigin-audit-{token}.{domain}"))
        )
    if scheme == "https":
        probes.append(Probe("http-origin-trusted", _origin("http", host, port)))
    for suffix in dict.fromkeys([*target.suffixes, *hosting]):
        probes.append(
            Probe("third-party-hosting", _origin("https", f"crossorigin-audit-{token}.{suffix}"))
        )
    probes.append(
        Probe(
            "header-injection",
            f"https://crossorigin-audit-{token}.example%0d%0a{INJECTION_HEADER}:%20injected",
        )
    )
    # Preflights: the foreign origin (servers that reflect only on OPTIONS) and the trusted
    # origin asking for an invented method and header (echoed with credentials?).
    asked = ((f"X-Crossorigin-Audit-{token}", "1"),)
    probes.append(
        Probe(
            "reflect-any-origin",
            f"https://crossorigin-audit-{token}.example",
            preflight=True,
            method="PUT",
            request_headers=asked,
        )
    )
    probes.append(
        Probe(
            "preflight-echo-credentials",
            target.trusted,
            preflight=True,
            method=ECHO_METHOD,
            request_headers=asked,
        )
    )
    # The baseline: the trusted origin itself (Vary, '*' with credentials).
    probes.append(Probe("baseline", target.trusted))
    return probes


def _cors_evidence(response: HTTPResponse) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name, value)
        for name, value in response.headers
        if name.lower().startswith("access-control-") or name.lower() == "vary"
    )


def _granted(response: HTTPResponse, origin: str) -> tuple[bool, bool]:
    """(readable by ``origin`` specifically, readable with credentials) as a browser sees it.

    A constant '*' is a public grant, not trust in this origin: it counts as not specific.
    """
    values = response.values("Access-Control-Allow-Origin")
    if values != [origin]:
        return False, False
    without = all(c.ok for c in cors_check(response, origin, False))
    with_credentials = all(c.ok for c in cors_check(response, origin, True))
    return without, with_credentials


def judge(url: str, probe: Probe, sent: HTTPRequest, response: HTTPResponse) -> list[Finding]:
    """The findings one answer proves (empty: nothing a browser would let an attacker read)."""
    evidence = _cors_evidence(response)
    if probe.rule == "header-injection":
        injected = response.get(INJECTION_HEADER)
        if injected is not None:
            return [Finding("header-injection", "high", url, probe.origin, False, evidence)]
        return []
    if probe.rule == "baseline":
        return _baseline_findings(url, probe.origin, response, evidence)
    if probe.preflight:
        return _preflight_findings(url, probe, sent, response, evidence)
    readable, credentialed = _granted(response, probe.origin)
    if not readable and not credentialed:
        return []
    rule = RULES[probe.rule]
    severity = rule.with_credentials if credentialed else rule.without_credentials
    findings = [Finding(probe.rule, severity, url, probe.origin, credentialed, evidence)]
    if probe.origin != "null" and not ({"origin", "*"} & vary_tokens(response)):
        findings.append(_vary_finding(url, probe.origin, credentialed, evidence))
    return findings


def _vary_finding(
    url: str, origin: str, credentialed: bool, evidence: tuple[tuple[str, str], ...]
) -> Finding:
    rule = RULES["missing-vary-origin"]
    severity = rule.with_credentials if credentialed else rule.without_credentials
    return Finding("missing-vary-origin", severity, url, origin, credentialed, evidence)


def _baseline_findings(
    url: str, origin: str, response: HTTPResponse, evidence: tuple[tuple[str, str], ...]
) -> list[Finding]:
    findings: list[Finding] = []
    values = response.values("Access-Control-Allow-Origin")
    if values == ["*"] and response.get("Access-Control-Allow-Credentials") == "true":
        findings.append(Finding("wildcard-with-credentials", "low", url, "*", False, evidence))
    readable, credentialed = _granted(response, origin)
    if (readable or credentialed) and not ({"origin", "*"} & vary_tokens(response)):
        findings.append(_vary_finding(url, origin, credentialed, evidence))
    return findings


def _preflight_findings(
    url: str,
    probe: Probe,
    sent: HTTPRequest,
    response: HTTPResponse,
    evidence: tuple[tuple[str, str], ...],
) -> list[Finding]:
    passes = all(c.ok for c in sent_preflight_checks(sent, response, False, CHROMIUM))
    passes_with_credentials = all(
        c.ok for c in sent_preflight_checks(sent, response, True, CHROMIUM)
    )
    if not passes and not passes_with_credentials:
        return []
    rule = RULES[probe.rule]
    if probe.rule == "preflight-echo-credentials":
        if not passes_with_credentials:
            return []  # '*' without credentials: the standard's public preflight
        severity = rule.with_credentials
        return [Finding(probe.rule, severity, url, probe.origin, True, evidence, "preflight")]
    readable, credentialed = _granted(response, probe.origin)
    if not readable and not credentialed:
        return []
    severity = rule.with_credentials if passes_with_credentials else rule.without_credentials
    return [
        Finding(
            probe.rule,
            severity,
            url,
            probe.origin,
            passes_with_credentials,
            evidence,
            "on a preflight",
        )
    ]


def summarise(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rule: the most severe, then the first; sorted most severe first."""
    best: dict[str, Finding] = {}
    for finding in findings:
        kept = best.get(finding.rule)
        if kept is None or RANK[finding.severity] > RANK[kept.severity]:
            best[finding.rule] = finding
    order = {rule: index for index, rule in enumerate(RULES)}
    return sorted(best.values(), key=lambda f: (-RANK[f.severity], order[f.rule]))


@dataclass
class TargetReport:
    url: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    requests: int = 0
    failed_probes: int = 0
    """Probes that got no answer (the others still count)."""

    def at_least(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if RANK[f.severity] >= RANK[severity]]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    @property
    def dangerous_reflect(self) -> bool:
        """Reflects any origin and 'null', with Vary: Origin: crossorigin's
        dangerously_reflect_any_origin=True, or an app written to reflect on purpose."""
        rules = {f.rule: f for f in self.findings}
        reflect = rules.get("reflect-any-origin")
        return (
            reflect is not None
            and "null-origin" in rules
            and "missing-vary-origin" not in rules
            and any(n.lower() == "vary" for n, _ in reflect.evidence)
        )
