"""Construction-time safety analysis: which sites can an origin pattern or regex reach?

A configuration may grant only origins inside the registrable domains (eTLD+1, from the
Public Suffix List) that it names, and not plain http where it names only https. Subdomain
patterns are checked against the list directly. A regex is checked exactly: its parsed form
becomes an automaton, which is explored together with an automaton for "a well-formed
origin outside the named domains"; any string both accept is an origin the regex grants to
someone else, and it is confirmed with the real regex before being reported. What a regex
names is its literal text (the runs of single characters in its automaton).

Nothing here runs per request, and the Public Suffix List package is imported only when a
policy that needs it is built.
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from re import _constants as sre  # type: ignore[attr-defined,unused-ignore]
from re import _parser as sre_parse  # type: ignore[attr-defined,unused-ignore]
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

# Every character a well-formed origin can hold, as browsers serialise it (see
# origins.parse_request_origin): the only characters a regex is ever run against.
ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789-._:/[]+"
_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_DIGITS: Final = frozenset("0123456789")
_SCHEME_CHARS: Final = _LETTERS | _DIGITS | frozenset("+-.")
_LABEL_CHARS: Final = _LETTERS | _DIGITS | frozenset("-_")
_IPV6_CHARS: Final = frozenset("0123456789abcdef:.")

# Bounds that keep the analysis of a hostile or huge regex short: a counted repeat beyond
# _REPEAT_CAP is widened to "at least that many" (a larger language, so the verdict stays
# safe), and past the state budgets the regex is refused as too complex to prove safe.
_REPEAT_CAP: Final = 300
_NFA_BUDGET: Final = 20_000
_SEARCH_BUDGET: Final = 50_000
_LITERAL_BUDGET: Final = 50_000
_CANDIDATES: Final = 16


# --- the Public Suffix List ---------------------------------------------------------------


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@lru_cache(maxsize=1)
def public_suffix_list_date() -> str:
    """The date of the shipped Public Suffix List (the package versions carry it)."""
    import publicsuffixlist

    version = str(getattr(publicsuffixlist, "__version__", ""))
    stamp = version.rpartition(".")[2]
    if len(stamp) == 8 and stamp.isdigit():
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}"
    return version or "unknown"


def _list_note() -> str:
    return f"Public Suffix List of {public_suffix_list_date()}"


def is_ip_literal(host: str) -> bool:
    if host.startswith("["):
        return True
    labels = host.split(".")
    return len(labels) == 4 and all(label.isdigit() for label in labels)


def is_loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def registrable_domain(host: str) -> str | None:
    """eTLD+1 of ``host``, or None for a public suffix itself, an IP literal or localhost."""
    if not host or is_ip_literal(host) or is_loopback_name(host):
        return None
    labels = host.split(".")
    if any(not label for label in labels) or labels[-1].isdigit():
        return None
    domain: str | None = _psl().privatesuffix(host)
    return domain


def subdomain_suffix_problem(suffix: str) -> tuple[str, str] | None:
    """Why ``https://*.<suffix>`` is unsafe (message, fix), or None when it is fine."""
    if is_loopback_name(suffix) or registrable_domain(suffix) is not None:
        return None
    return (
        f"'{suffix}' is a public suffix: anyone can register a name under it, so the pattern "
        f"grants sites you do not own ({_list_note()})",
        f"list your own origins exactly, like 'https://yourapp.{suffix}'",
    )


# --- regex to automaton -------------------------------------------------------------------


class _TooComplex(Exception):
    pass


_CATEGORIES: Final = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}
_CHAR_FLAGS: Final = re.IGNORECASE | re.ASCII | re.UNICODE
_REPEATS: Final = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None))


def _escape(code: int) -> str:
    return f"\\U{code:08x}"


@lru_cache(maxsize=4096)
def _chars(source: str, flags: int) -> frozenset[str]:
    """Which alphabet characters a one-character regex matches (the engine decides, so
    case folding and categories mean exactly what they mean to ``re``)."""
    compiled = re.compile(source, flags & _CHAR_FLAGS)
    return frozenset(ch for ch in ALPHABET if compiled.fullmatch(ch))


def _class_source(items: Iterable[tuple[Any, Any]]) -> str:
    parts: list[str] = []
    negate = ""
    for op, value in items:
        if op is sre.NEGATE:
            negate = "^"
        elif op is sre.LITERAL:
            parts.append(_escape(value))
        elif op is sre.RANGE:
            parts.append(_escape(value[0]) + "-" + _escape(value[1]))
        elif op is sre.CATEGORY and value in _CATEGORIES:
            parts.append(_CATEGORIES[value])
        else:
            raise _TooComplex
    if not parts:
        return "(?!)" if not negate else "."
    return "[" + negate + "".join(parts) + "]"


class _NFA:
    """A Thompson automaton over ALPHABET; ``approximate`` is set when a construct (an
    assertion, a back-reference, a capped repeat) was widened to a larger language."""

    def __init__(self) -> None:
        self.epsilon: list[list[int]] = []
        self.edges: list[list[tuple[frozenset[str], int]]] = []
        self.approximate = False
        self.groups: dict[int, Any] = {}
        self._closures: dict[int, frozenset[int]] = {}

    def new(self) -> int:
        if len(self.edges) >= _NFA_BUDGET:
            raise _TooComplex
        self.epsilon.append([])
        self.edges.append([])
        return len(self.edges) - 1

    def link(self, source: int, target: int) -> None:
        self.epsilon[source].append(target)

    def char(self, start: int, chars: frozenset[str]) -> int:
        end = self.new()
        if chars:
            self.edges[start].append((chars, end))
        return end

    def build(self, items: Iterable[tuple[Any, Any]], flags: int, start: int) -> int:
        current = start
        for op, value in items:
            current = self._node(op, value, flags, current)
        return current

    def _node(self, op: Any, value: Any, flags: int, start: int) -> int:
        if op is sre.LITERAL:
            return self.char(start, _chars(_escape(value), flags))
        if op is sre.NOT_LITERAL:
            return self.char(start, _chars("[^" + _escape(value) + "]", flags))
        if op is sre.ANY:
            return self.char(start, frozenset(ALPHABET))
        if op is sre.IN:
            return self.char(start, _chars(_class_source(value), flags))
        if op is sre.BRANCH:
            end = self.new()
            for alternative in value[1]:
                self.link(self.build(alternative, flags, start), end)
            return end
        if op is sre.SUBPATTERN:
            group, add_flags, del_flags, sub = value
            if group is not None:
                self.groups[group] = (sub, (flags | add_flags) & ~del_flags)
            return self.build(sub, (flags | add_flags) & ~del_flags, start)
        if op in _REPEATS:
            return self._repeat(value, flags, start)
        if op is sre.AT:
            # Anchors and word boundaries only restrict; ignoring them widens the language.
            if value not in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
                self.approximate = self.approximate or value not in (sre.AT_END, sre.AT_END_STRING)
            return start
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            self.approximate = True
            return start
        if op is sre.GROUPREF:
            self.approximate = True
            known = self.groups.get(value)
            return start if known is None else self.build(known[0], known[1], start)
        if op is sre.GROUPREF_EXISTS:
            self.approximate = True
            _, yes, no = value
            end = self.new()
            self.link(self.build(yes, flags, start), end)
            self.link(start if no is None else self.build(no, flags, start), end)
            return end
        if op is getattr(sre, "ATOMIC_GROUP", None):
            self.approximate = True
            return self.build(value, flags, start)
        if op is sre.FAILURE:
            return self.new()  # nothing leads there
        raise _TooComplex

    def _repeat(self, value: Any, flags: int, start: int) -> int:
        low, high, sub = value
        if low > _REPEAT_CAP:
            low, high = _REPEAT_CAP, sre.MAXREPEAT
            self.approximate = True
        if high is not sre.MAXREPEAT and high > _REPEAT_CAP:
            high = sre.MAXREPEAT
            self.approximate = True
        current = start
        for _ in range(low):
            current = self.build(sub, flags, current)
        if high is sre.MAXREPEAT or high == sre.MAXREPEAT:
            loop = self.new()
            self.link(current, loop)
            self.link(self.build(sub, flags, loop), loop)
            return loop
        end = self.new()
        self.link(current, end)
        for _ in range(high - low):
            current = self.build(sub, flags, current)
            self.link(current, end)
        return end

    def closure(self, state: int) -> frozenset[int]:
        known = self._closures.get(state)
        if known is None:
            seen = {state}
            stack = [state]
            while stack:
                for target in self.epsilon[stack.pop()]:
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
            known = frozenset(seen)
            self._closures[state] = known
        return known

    def closure_of(self, states: Iterable[int]) -> frozenset[int]:
        result: set[int] = set()
        for state in states:
            result |= self.closure(state)
        return frozenset(result)


def _automaton(items: Any, flags: int) -> tuple[_NFA, int, int]:
    nfa = _NFA()
    start = nfa.new()
    end = nfa.build(items, flags, start)
    return nfa, start, end


def _top_level_split(pattern: str) -> list[str]:
    """``pattern`` cut at its top-level ``|`` (outside groups and classes)."""
    parts: list[str] = []
    depth = 0
    in_class = False
    escaped = False
    current: list[str] = []
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


# --- what the regex names: literal text ----------------------------------------------------


def _literal_runs(nfa: _NFA, start: int, final: int) -> Iterator[tuple[str, bool, bool]]:
    """Every maximal run of single-character steps (the regex's literal text), with whether
    the run can end the match and whether it begins it. Runs start at the start state and
    wherever a step on a character class lands."""
    origins = {start}
    for edges in nfa.edges:
        for chars, target in edges:
            if len(chars) != 1:
                origins.add(target)
    budget = _LITERAL_BUDGET
    for origin in sorted(origins):
        first = nfa.closure(origin)
        # A run that comes back to where it was (a repeated literal, "s*") is cut after one
        # turn: "https" + "s" is named once, not as "httpss", "httpsss"...
        stack: list[tuple[frozenset[int], str, frozenset[frozenset[int]]]] = [
            (first, "", frozenset({first}))
        ]
        while stack:
            budget -= 1
            if budget < 0:
                raise _TooComplex
            states, text, path = stack.pop()
            steps: dict[str, set[int]] = {}
            ends = final in states
            for state in states:
                for chars, target in nfa.edges[state]:
                    if len(chars) == 1:
                        (ch,) = chars
                        steps.setdefault(ch, set()).add(target)
                    else:
                        ends = True
            if text and (ends or not steps):
                yield text, final in states, origin == start
            if len(text) < 256:
                for ch, targets in steps.items():
                    following = nfa.closure_of(targets)
                    if following in path:
                        yield text + ch, final in following, origin == start
                    else:
                        stack.append((following, text + ch, path | {following}))


@dataclass(frozen=True, slots=True)
class _Named:
    """What the regex spells out: the registrable domains whose subdomains are fine, the
    hosts that are fine only exactly (localhost, IP literals, names on a public suffix),
    the schemes (None when it names none), and the public suffixes it spells."""

    domains: frozenset[str]
    hosts: frozenset[str]
    schemes: frozenset[str] | None
    suffixes: frozenset[str]


_HOSTISH: Final = re.compile(r"\[[0-9a-f:.]+\]|[a-z0-9_.-]+")


def _named(runs: Iterable[tuple[str, bool, bool]]) -> _Named:
    domains: set[str] = set()
    hosts: set[str] = set()
    schemes: set[str] = set()
    suffixes: set[str] = set()
    for text, at_end, at_start in runs:
        scheme, sep, rest = text.rpartition("://")
        if sep:
            # A scheme is named only when the regex spells all of it from the start.
            if at_start and scheme and scheme[0] in _LETTERS and _SCHEME_CHARS.issuperset(scheme):
                schemes.add(scheme)
            if rest.startswith("["):
                host, bracket, tail = rest.partition("]")
                host += bracket
                ended = bool(bracket) and (tail.startswith(":") or (at_end and not tail))
            else:
                host, colon, _ = rest.partition(":")
                ended = bool(colon) or at_end
            if ended and _is_host(host):
                hosts.add(host)
        for match in _HOSTISH.finditer(text):
            piece = match.group().strip(".")
            if not piece:
                continue
            if is_loopback_name(piece):
                domains.add("localhost")
                continue
            if "." not in piece or is_ip_literal(piece):
                continue
            # ".api.example.com" names example.com; a name that is itself a public suffix
            # names nothing of its own, and is remembered for the message.
            domain = registrable_domain(piece)
            if domain is not None:
                domains.add(domain)
            elif not piece.split(".")[-1].isdigit():
                suffixes.add(piece)
    return _Named(
        frozenset(domains), frozenset(hosts), frozenset(schemes) or None, frozenset(suffixes)
    )


def _is_host(host: str) -> bool:
    if host.startswith("["):
        return len(host) >= 4 and host.endswith("]") and _IPV6_CHARS.issuperset(host[1:-1])
    labels = host.split(".")
    return all(labels) and all(_LABEL_CHARS.issuperset(label) for label in labels)


def _host_is_named(host: str, named: _Named) -> bool:
    if host in named.hosts:
        return True
    return any(host == domain or host.endswith("." + domain) for domain in named.domains)


# --- the search ------------------------------------------------------------------------------

# States of a well-formed origin (scheme "://" host [":" port]), as parse_request_origin reads
# it. Lengths (labels, host, port value) are not tracked: that only widens the language, and
# every candidate is confirmed by parse_request_origin anyway.
_ACCEPTING: Final = frozenset({"label", "v6end", "p1", "p2", "p3", "p4", "p5"})
_HOST_STATES: Final = frozenset({"label", "dot", "v6a", "v6b", "v6c", "v6end"})


def _origin_step(state: str, ch: str) -> str | None:
    if state == "start":
        return "scheme" if ch in _LETTERS else None
    if state == "scheme":
        if ch in _SCHEME_CHARS:
            return "scheme"
        return "colon" if ch == ":" else None
    if state == "colon":
        return "slash" if ch == "/" else None
    if state == "slash":
        return "host" if ch == "/" else None
    if state == "host":
        if ch == "[":
            return "v6a"
        return "label" if ch in _LABEL_CHARS else None
    if state == "label":
        if ch in _LABEL_CHARS:
            return "label"
        return {".": "dot", ":": "p0"}.get(ch)
    if state == "dot":
        return "label" if ch in _LABEL_CHARS else None
    if state in ("v6a", "v6b", "v6c"):
        if ch in _IPV6_CHARS:
            return {"v6a": "v6b", "v6b": "v6c", "v6c": "v6c"}[state]
        return "v6end" if ch == "]" and state == "v6c" else None
    if state == "v6end":
        return "p0" if ch == ":" else None
    if state == "p0":
        return "p1" if ch in _DIGITS and ch != "0" else None
    if state in ("p1", "p2", "p3", "p4"):
        return ("p" + str(int(state[1]) + 1)) if ch in _DIGITS else None
    return None


class _Prefixes:
    """Tracks the longest suffix of the text so far that is a prefix of some target string
    (Aho-Corasick without the tables): enough to tell, at the end, whether the text ends
    with a target, or equals one when ``exact``."""

    def __init__(self, targets: Iterable[str], exact: bool) -> None:
        self.targets = frozenset(targets)
        self.prefixes = frozenset(t[:i] for t in self.targets for i in range(len(t) + 1))
        self.exact = exact
        self._steps: dict[tuple[str | None, str], str | None] = {}

    def step(self, state: str | None, ch: str) -> str | None:
        key = (state, ch)
        if key in self._steps:
            return self._steps[key]
        result: str | None
        if state is None:
            result = None
        elif self.exact:
            result = state + ch if state + ch in self.prefixes else None
        else:
            text = state + ch
            while text not in self.prefixes:
                text = text[1:]
            result = text
        self._steps[key] = result
        return result

    def ends_with_target(self, state: str | None) -> bool:
        if state is None:
            return False
        if self.exact:
            return state in self.targets
        return any(state.endswith(target) for target in self.targets)


SearchState = tuple[frozenset[int], str, str | None, str | None, str | None]


def _over_matches(nfa: _NFA, start: int, final: int, named: _Named) -> list[str]:
    """Shortest strings (breadth first) that the automaton accepts and that are origins
    outside what the regex names. Empty when there is none."""
    suffixes = _Prefixes(("." + domain for domain in named.domains), exact=False)
    hosts = _Prefixes(named.hosts, exact=True)
    # The scheme danger is plain http where the regex names only https (a network attacker
    # can inject into http pages); other schemes cannot carry a host an attacker picks.
    schemes = _Prefixes(("http",), exact=True)
    http_named = named.schemes is None or "http" in named.schemes
    # Characters that no part of the search can tell apart are explored once.
    charsets = {chars for edges in nfa.edges for chars, _ in edges}
    tracked = set("".join(named.domains) + "".join(named.hosts) + "http")
    tracked.add(".")
    classes: dict[tuple[Any, ...], str] = {}
    for ch in ALPHABET:
        kind = (
            "hex"
            if ch in "abcdef"
            else "alpha"
            if ch in _LETTERS
            else "zero"
            if ch == "0"
            else "digit"
            if ch in _DIGITS
            else ch
        )
        signature = (kind, ch if ch in tracked else "", *(ch in chars for chars in charsets))
        classes.setdefault(signature, ch)
    alphabet = list(classes.values())

    steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def advance(states: frozenset[int], ch: str) -> frozenset[int]:
        key = (states, ch)
        known = steps.get(key)
        if known is None:
            targets = [t for s in states for chars, t in nfa.edges[s] if ch in chars]
            known = nfa.closure_of(targets)
            steps[key] = known
        return known

    # The host is read as "." + host, so "example.com" itself ends with ".example.com".
    first_suffix = suffixes.step("", ".") if suffixes.targets else None
    initial: SearchState = (nfa.closure(start), "start", "", first_suffix, "")
    parents: dict[SearchState, tuple[SearchState, str] | None] = {initial: None}
    queue: deque[SearchState] = deque([initial])
    found: list[str] = []
    while queue:
        state = queue.popleft()
        states, shape, scheme, suffix, host = state
        if final in states and shape in _ACCEPTING:
            scheme_ok = http_named or not schemes.ends_with_target(scheme)
            host_ok = suffixes.ends_with_target(suffix) or hosts.ends_with_target(host)
            if not (scheme_ok and host_ok):
                found.append(_spell(parents, state))
                if len(found) >= _CANDIDATES:
                    break
        for ch in alphabet:
            next_shape = _origin_step(shape, ch)
            if next_shape is None:
                continue
            next_states = advance(states, ch)
            if not next_states:
                continue
            next_scheme, next_suffix, next_host = scheme, suffix, host
            if next_shape == "scheme":
                next_scheme = schemes.step(scheme, ch)
            elif next_shape in _HOST_STATES:
                next_suffix = suffixes.step(suffix, ch)
                next_host = hosts.step(host, ch)
            following: SearchState = (next_states, next_shape, next_scheme, next_suffix, next_host)
            if following not in parents:
                if len(parents) >= _SEARCH_BUDGET:
                    raise _TooComplex
                parents[following] = (state, ch)
                queue.append(following)
    return found


def _spell(parents: dict[SearchState, tuple[SearchState, str] | None], state: SearchState) -> str:
    chars: list[str] = []
    link = parents[state]
    while link is not None:
        state, ch = link
        chars.append(ch)
        link = parents[state]
    return "".join(reversed(chars))


# --- verdicts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegexFinding:
    """Why an origin regex is refused, with an origin it wrongly accepts and the fix."""

    message: str
    fix: str
    example: str | None


def _split(origin: str) -> tuple[str, str]:
    scheme, _, rest = origin.partition("://")
    host = rest[: rest.index("]") + 1] if rest.startswith("[") else rest.partition(":")[0]
    return scheme, host


_DOMAIN_TEXT: Final = re.compile(r"(?:[a-z0-9-]+(?:\\\.|\.|\[\.\]))+[a-z0-9-]+")


def _intended_domain(pattern: str) -> str | None:
    """The registrable domain a user most likely meant, reading unescaped dots as dots."""
    best: str | None = None
    for match in _DOMAIN_TEXT.finditer(pattern.lower()):
        text = match.group().replace("\\.", ".").replace("[.]", ".")
        domain = registrable_domain(text.strip("."))
        if domain is not None:
            best = domain
    return best


def _probes(named: _Named, pattern: str) -> list[str]:
    """The classic bypass shapes, built around what the regex names (better examples than
    the search's shortest string when one of them works)."""
    domains = set(named.domains)
    intended = _intended_domain(pattern)
    if intended:
        domains.add(intended)
    schemes = sorted(named.schemes or {"https", "http"})
    probes: list[str] = []
    for domain in sorted(domains):
        label, _, public = domain.partition(".")
        for scheme in schemes:
            probes += [
                f"{scheme}://{domain}.attacker.test",
                f"{scheme}://attacker{domain}",
                f"{scheme}://wwwx{domain}",
                f"{scheme}://www.{label}x{public}" if public else "",
                f"{scheme}://attacker.{public}" if public else "",
                f"{scheme}://attacker-{label}.{public}" if public else "",
                f"{scheme}://{public}" if public else "",
            ]
        # Plain http for a regex that names only https.
        probes += [f"http://{domain}", f"http://www.{domain}"]
    for scheme in ("http", "https"):
        probes += [f"{scheme}://attacker.test", f"{scheme}://attacker.com"]
    return [probe for probe in probes if probe]


def _main_scheme(schemes: frozenset[str]) -> str:
    return "https" if "https" in schemes else sorted(schemes)[0]


def _fix(named: _Named, pattern: str, example: str) -> str:
    schemes = named.schemes or frozenset({"https"})
    scheme = "https?" if schemes == {"http", "https"} else "|".join(sorted(schemes))
    if "|" in scheme:
        scheme = f"({scheme})"
    _, host = _split(example)
    if is_ip_literal(host):
        return "list the exact origins: IP addresses have no registrable domain to stay inside"
    suffix = next((s for s in sorted(named.suffixes) if host.endswith("." + s)), None)
    if suffix is not None:
        return (
            f"list your own origins exactly, like '{_main_scheme(schemes)}://yourapp.{suffix}': "
            "names under a public suffix belong to whoever registers them"
        )
    domain = _intended_domain(pattern) or next(iter(sorted(named.domains)), None)
    if domain is None:
        domain = "example.com"
    return (
        f"anchor it to your own registrable domain with escaped dots, e.g. "
        f"r'{scheme}://([a-z0-9-]+\\.)*{re.escape(domain)}' "
        f"(for public data use allow_origins=['*'])"
    )


def _outside(origin: str, named: _Named, regex: re.Pattern[str]) -> bool:
    from .origins import parse_request_origin

    if regex.fullmatch(origin) is None or parse_request_origin(origin) is None:
        return False
    scheme, host = _split(origin)
    scheme_ok = scheme != "http" or named.schemes is None or "http" in named.schemes
    return not (scheme_ok and _host_is_named(host, named))


_TOO_COMPLEX: Final = RegexFinding(
    "is too complex to prove that it grants only your own origins",
    "simplify it, e.g. r'https://([a-z0-9-]+\\.)*example\\.com', or list the origins",
    None,
)
_UNPROVABLE: Final = RegexFinding(
    "cannot be proven to stay inside the domains it names (lookarounds or back-references "
    "hide what it matches)",
    "write it without lookarounds and back-references, e.g. "
    "r'https://([a-z0-9-]+\\.)*example\\.com'",
    None,
)


def _recompile(pattern: str, flags: int) -> re.Pattern[str]:
    """``re.compile`` for a pattern the user's own compile already warned about (a
    FutureWarning such as "possible nested set"): once is enough."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern, flags)


@lru_cache(maxsize=256)
def _check(pattern: str, flags: int) -> RegexFinding | None:
    # Top-level alternatives are judged one by one, each as a regex of its own, so
    # ".*\\.example\\.com|https://partner\\.test" names example.com for the first and
    # partner.test for the second (incumbents' lists of regexes are joined that way).
    pieces = _top_level_split(pattern)
    if len(pieces) > 1:
        try:
            for piece in pieces:
                _recompile(piece, flags)
        except (re.error, RecursionError, OverflowError):
            pass  # a back-reference across alternatives: judged whole, below
        else:
            for piece in pieces:
                finding = _check(piece, flags)
                if finding is not None:
                    return finding
            return None
    regex = _recompile(pattern, flags)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as in _recompile
            items = sre_parse.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):  # pragma: no cover - it compiled
        return _TOO_COMPLEX
    return _check_alternative(regex, items.data, items.state.flags, pattern)


def _check_alternative(
    regex: re.Pattern[str], items: Any, flags: int, text: str
) -> RegexFinding | None:
    try:
        nfa, start, final = _automaton(items, flags)
        named = _named(_literal_runs(nfa, start, final))
    except _TooComplex:
        return _TOO_COMPLEX
    # The classic bypass shapes first: they make the clearest examples, and when one works
    # the search is not needed at all. Each must be matched by the real (whole) regex and
    # be outside what this alternative names.
    example = next((p for p in _probes(named, text) if _outside(p, named, regex)), None)
    if example is None:
        try:
            candidates = _over_matches(nfa, start, final, named)
        except _TooComplex:
            return _TOO_COMPLEX
        if not candidates:
            return None
        example = next((c for c in candidates if _outside(c, named, regex)), None)
    if example is None:
        # The automaton over-approximates lookarounds and back-references; when none of
        # its strings is confirmed by the real regex, safety cannot be shown either way.
        return _UNPROVABLE
    message = _message(example, named)
    intended = _intended_domain(text)
    if intended is not None and intended not in named.domains and _UNESCAPED_DOT.search(text):
        message += "; an unescaped '.' matches any character, not only a dot"
    return RegexFinding(message, _fix(named, text, example), example)


_UNESCAPED_DOT: Final = re.compile(r"(?<![\\])\.[a-z0-9]", re.IGNORECASE)


def _message(example: str, named: _Named) -> str:
    scheme, host = _split(example)
    if named.schemes is not None and scheme not in named.schemes and _host_is_named(host, named):
        shown = ", ".join(sorted(named.schemes))
        return (
            f"over-matches: it accepts {example!r}, plain http where it names only {shown} "
            "(anyone on the network path can inject into an http page)"
        )
    if named.domains or named.hosts:
        inside = ", ".join(sorted(named.domains | named.hosts))
        message = f"over-matches: it accepts {example!r}, outside the domain(s) it names ({inside})"
    else:
        message = f"over-matches: it names no registrable domain of yours, and accepts {example!r}"
    for suffix in sorted(named.suffixes):
        if host.endswith("." + suffix):
            message += (
                f"; '{suffix}' is a public suffix, anyone can register a name under it "
                f"({_list_note()})"
            )
            break
    return message


def check_origin_regex(regex: re.Pattern[str]) -> RegexFinding | None:
    """None when every origin ``regex`` (full-match) grants is inside the registrable
    domains and schemes it names; otherwise why not, with an origin it wrongly grants."""
    return _check(regex.pattern, regex.flags)
