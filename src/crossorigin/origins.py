"""Origins: parsing the ones in a configuration, recognising the ones browsers send.

A configuration entry is parsed once, strictly, into one of four shapes (exact origin,
subdomain pattern, port wildcard, or the special ``*`` / ``null``) and compiled into lookup
tables. A request's ``Origin`` is then matched with set and dict lookups only: a regex is
used solely for a user-supplied ``allow_origin_regex``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .errors import Problem
from .origin_analysis import subdomain_suffix_problem

DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_SCHEME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+-.")
# Hostname characters as browsers serialise them (lowercase; `_` occurs in real hostnames).
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HOST_CHARS = _LABEL_CHARS | {"."}
_IPV6_CHARS = frozenset("0123456789abcdef:.")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class ParsedOrigin:
    """A serialized origin split into its parts; ``port`` is None for the scheme's default."""

    scheme: str
    host: str
    port: int | None


def parse_request_origin(origin: str) -> ParsedOrigin | None:
    """Parse an ``Origin`` header value exactly as a browser serialises it, or return None.

    Strict on purpose: only what a browser can send is recognised (lowercase, no path, no
    default port, no trailing dot, ASCII only), so nothing odd can be matched or reflected.
    ``null`` is not a tuple origin and returns None.
    """
    scheme, sep, rest = origin.partition("://")
    if not sep or not scheme or scheme[0] not in _SCHEME_FIRST:
        return None
    if not _SCHEME_CHARS.issuperset(scheme):
        return None
    port: int | None = None
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return None
        host, tail = rest[: end + 1], rest[end + 1 :]
        if len(host) < 4 or not _IPV6_CHARS.issuperset(host[1:-1]):
            return None
        if tail:
            if tail[0] != ":":
                return None
            port = _parse_port(tail[1:])
            if port is None:
                return None
    else:
        host, colon, port_text = rest.partition(":")
        if colon:
            port = _parse_port(port_text)
            if port is None:
                return None
        if not _is_hostname(host):
            return None
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        return None  # browsers omit the default port
    return ParsedOrigin(scheme, host, port)


def _parse_port(text: str) -> int | None:
    if not text or len(text) > 5 or not _DIGITS.issuperset(text) or text[0] == "0":
        return None
    port = int(text)
    return port if port <= 65535 else None


def _is_hostname(host: str) -> bool:
    if not host or len(host) > 253 or not _HOST_CHARS.issuperset(host):
        return False
    return all(0 < len(label) <= 63 for label in host.split("."))


# --- configuration entries -----------------------------------------------------------------


# What Cordova/Ionic webviews and some file: pages send as Origin: no host to parse, so it is
# accepted only in this exact spelling and compared byte for byte (django-cors-headers and
# others accept it). Unlike "null", one site's page cannot make another's browser send it.
FILE_ORIGIN: Final = "file://"


@dataclass(frozen=True, slots=True)
class ExactOrigin:
    """``https://app.example.com``: matched byte for byte after normalisation."""

    origin: str


@dataclass(frozen=True, slots=True)
class SubdomainPattern:
    """``https://*.example.com[:port]``: one or more labels before the suffix."""

    scheme: str
    suffix: str  # without the leading dot: "example.com"
    port: int | None
    any_port: bool


@dataclass(frozen=True, slots=True)
class PortWildcard:
    """``http://localhost:*``: one scheme and host, any port (the default port included)."""

    scheme: str
    host: str


OriginEntry = ExactOrigin | SubdomainPattern | PortWildcard


def parse_config_origin(entry: object, problems: list[Problem]) -> OriginEntry | None:
    """Parse one ``allow_origins`` entry (not ``*``), appending problems on failure."""
    option = "allow_origins"

    def fail(message: str, fix: str) -> None:
        problems.append(Problem(option, entry, message, fix))

    if not isinstance(entry, str):
        fail(
            "an origin must be a string", "write origins as strings like 'https://app.example.com'"
        )
        return None
    if entry == FILE_ORIGIN:
        return ExactOrigin(entry)
    if entry != entry.strip() or any(ch in entry for ch in "\r\n\t "):
        fail("contains whitespace", f"write {entry.strip()!r} without whitespace")
        return None
    if not entry.isascii() or not entry.isprintable():
        idn_hint = _punycode_hint(entry)
        fail(
            "contains non-ASCII or control characters; browsers send IDNs in punycode",
            f"write {idn_hint!r}" if idn_hint else "write the ASCII (punycode) form of the origin",
        )
        return None
    scheme, sep, rest = entry.partition("://")
    if not sep:
        fail(
            "has no scheme; an origin is scheme://host[:port]",
            f"write 'https://{entry.rstrip('/')}' (or 'http://...' for plain HTTP)",
        )
        return None
    scheme = scheme.lower()
    if not scheme or scheme[0] not in _SCHEME_FIRST or not _SCHEME_CHARS.issuperset(scheme):
        fail("has an invalid scheme", "write a scheme like 'https' or 'http'")
        return None
    # The first of '/', '?', '#' ends the authority; the fix also drops any userinfo so it
    # names an origin that is itself valid.
    cuts = [position for position in map(rest.find, "/?#") if position >= 0]
    if cuts:
        position = min(cuts)
        what = {"/": "a path", "?": "a query", "#": "a fragment"}[rest[position]]
        bare = f"{scheme}://{rest[:position].rpartition('@')[2]}"
        if rest[position:] == "/":
            fail("ends with a slash; browsers never send one", f"write {bare!r}")
        else:
            fail(f"has {what}; an origin is only scheme://host[:port]", f"write {bare!r}")
        return None
    if "@" in rest:
        fail(
            "has userinfo (user@); browsers never send it in Origin",
            f"write '{scheme}://{rest.rpartition('@')[2]}'",
        )
        return None
    host, port_text, bracketed = _split_host_port(rest)
    if host is None:
        fail("has a malformed host", "write scheme://host[:port], IPv6 hosts in brackets")
        return None
    host = host.lower()
    any_port = port_text == "*"
    port: int | None = None
    if port_text is not None and not any_port:
        parsed_port = _parse_port(port_text)
        if parsed_port is None:
            fail("has an invalid port", "write a port between 1 and 65535, or ':*' for any port")
            return None
        port = None if DEFAULT_PORTS.get(scheme) == parsed_port else parsed_port

    if not bracketed and "*" in host:
        return _parse_subdomain_pattern(entry, scheme, host, port, any_port, problems)
    if bracketed:
        if not _IPV6_CHARS.issuperset(host[1:-1]) or len(host) < 4:
            fail("has a malformed IPv6 host", "write it like 'http://[::1]:8080'")
            return None
    elif not _is_hostname(host) or host.endswith("."):
        fail(
            "has an invalid host name",
            "write host names of letters, digits, '-' and '.', without a trailing dot",
        )
        return None
    if any_port:
        return PortWildcard(scheme, host)
    return ExactOrigin(serialize(scheme, host, port))


def _parse_subdomain_pattern(
    entry: str,
    scheme: str,
    host: str,
    port: int | None,
    any_port: bool,
    problems: list[Problem],
) -> SubdomainPattern | None:
    def fail(message: str, fix: str) -> None:
        problems.append(Problem("allow_origins", entry, message, fix))

    if host == "*":
        fail(
            "matches every host of the scheme, so any site could read responses",
            "list the origins, use a pattern like 'https://*.example.com', or '*' for public data",
        )
        return None
    if not host.startswith("*.") or "*" in host[2:]:
        fail(
            "a wildcard is only allowed as the whole leftmost label",
            "write a pattern like 'https://*.example.com'",
        )
        return None
    suffix = host[2:]
    if not _is_hostname(suffix) or suffix.endswith("."):
        fail("has an invalid domain after '*.'", "write a pattern like 'https://*.example.com'")
        return None
    labels = suffix.split(".")
    if len(labels) < 2 and suffix != "localhost":
        fail(
            f"'*.{suffix}' covers a whole top-level domain anyone can register under",
            f"write a pattern under your own domain, like '{scheme}://*.example.{suffix}'",
        )
        return None
    if all(label.isdigit() for label in labels):
        fail("IP addresses have no subdomains", "list the exact origins instead")
        return None
    public = subdomain_suffix_problem(suffix)
    if public is not None:
        fail(public[0], public[1].replace("'https://", f"'{scheme}://"))
        return None
    return SubdomainPattern(scheme, suffix, port, any_port)


def _split_host_port(rest: str) -> tuple[str | None, str | None, bool]:
    """Split ``host[:port]`` or ``[v6][:port]``; returns (host, port text or None, bracketed)."""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return None, None, True
        host, tail = rest[: end + 1], rest[end + 1 :]
        if not tail:
            return host, None, True
        if tail[0] != ":":
            return None, None, True
        return host, tail[1:], True
    if rest.count(":") > 1:
        return None, None, False
    host, colon, port_text = rest.partition(":")
    if not host:
        return None, None, False
    return host, (port_text if colon else None), False


def _punycode_hint(entry: str) -> str | None:
    if entry.isascii():
        return None  # control characters: punycode cannot help
    scheme, sep, rest = entry.partition("://")
    if not sep:
        return None
    host, colon, port = rest.partition(":")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    hint = f"{scheme.lower()}://{ascii_host}{colon}{port}"
    # IDNA maps some characters to ones no origin may hold (NBSP to a space): suggest only
    # what would itself be accepted. The hint is printable ASCII, so this cannot recurse here.
    if not (hint.isascii() and hint.isprintable()) or parse_config_origin(hint, []) is None:
        return None
    return hint


def serialize(scheme: str, host: str, port: int | None) -> str:
    """The serialized form of an origin, as browsers send it."""
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


# --- matching -------------------------------------------------------------------------------


class OriginMatcher:
    """Compiled non-exact origin rules: subdomain suffix tables, port wildcards, a regex.

    Exact origins are not here: the policy keeps them in a dict of precomputed decisions,
    the fastest path. This object answers only for origins that missed that dict.
    """

    __slots__ = ("_any_port_hosts", "_reflect_any", "_regex", "_suffixes", "is_empty")

    def __init__(
        self,
        patterns: Iterable[SubdomainPattern],
        port_wildcards: Iterable[PortWildcard],
        regex: re.Pattern[str] | None,
        reflect_any: bool = False,
    ) -> None:
        suffixes: dict[tuple[str, int | str | None], set[str]] = {}
        for pattern in patterns:
            key: tuple[str, int | str | None] = (
                pattern.scheme,
                "*" if pattern.any_port else pattern.port,
            )
            suffixes.setdefault(key, set()).add("." + pattern.suffix)
        self._suffixes = {key: frozenset(value) for key, value in suffixes.items()}
        self._any_port_hosts = frozenset((w.scheme, w.host) for w in port_wildcards)
        self._regex = regex
        # dangerously_reflect_any_origin: every well-formed origin ("null" is an exact entry).
        self._reflect_any = reflect_any
        self.is_empty = not (self._suffixes or self._any_port_hosts or regex or reflect_any)

    def matches(self, origin: str) -> bool:
        """True when a request ``Origin`` matches a pattern, wildcard port or the regex."""
        if self.is_empty:
            return False
        parsed = parse_request_origin(origin)
        if parsed is None:
            return False
        if self._reflect_any:
            return True
        if (parsed.scheme, parsed.host) in self._any_port_hosts:
            return True
        if self._suffixes and self._matches_suffix(parsed):
            return True
        return self._regex is not None and self._regex.fullmatch(origin) is not None

    def _matches_suffix(self, parsed: ParsedOrigin) -> bool:
        host = parsed.host
        if host.startswith("["):
            return False
        for key in ((parsed.scheme, parsed.port), (parsed.scheme, "*")):
            suffixes = self._suffixes.get(key)
            if not suffixes:
                continue
            # Try each proper suffix that starts at a dot: "a.b.example.com" checks
            # ".b.example.com", ".example.com", ".com". The label(s) before are non-empty
            # because parse_request_origin rejected empty labels.
            position = host.find(".")
            while position > 0:
                if host[position:] in suffixes:
                    return True
                position = host.find(".", position + 1)
        return False
