"""Per-route policies: an ordered table of (path pattern, policy) rules.

Precedence is the declared order: the first rule whose pattern matches the path wins. A
rule that can never match because an earlier rule (a glob, or a regex) already covers
every path it matches is rejected at construction, so the classic mistake (``"/api/*"``
or ``re.compile(r"/api/.*")`` listed before ``"/api/private/*"``) fails loudly instead of
silently granting the wrong policy. Nothing ever depends on pattern length.

Paths are matched case-sensitively on the decoded path exactly as the application routes
it (no ``+`` to space decoding). A path that matches no rule gets no CORS headers and no
``Vary`` at all.

Routes fail closed: a request path that is not in canonical form (see
:func:`is_canonical_path`: ``//``, ``.`` or ``..`` segments, a backslash, an encoded slash
or backslash in the raw path) gets no grant whatever the rules say, because routers
disagree on what such a path means (Werkzeug merges ``//``, Starlette's ``{rest:path}``
takes ``..`` literally), and a rule chosen by one reading while the router serves another
hands one endpoint's grant to another.

Pattern syntax:

- ``"/api/users"``: exactly that path;
- ``"/api/*"``: ``/api`` itself and every path below ``/api/``; ``"/*"`` matches all paths;
- ``re.compile(r"/v[0-9]+/items")``: a regular expression that must match the *whole*
  normalised path (``fullmatch``), for anything globs cannot say.

Strings that look like regular expressions are refused with a fix, because Flask-CORS read
its ``resources`` keys as regexes matched from the start of the path (so ``/api`` also
granted ``/apiary``), and a silent change of meaning is worse than an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .errors import ConfigError, Problem
from .policy import CORSPolicy, policy_from_options

RoutePattern = str | re.Pattern[str]
# Mapping keys are invariant, so a dict of str keys needs Any to type-check.
RouteRules = Iterable[tuple[RoutePattern, CORSPolicy]] | Mapping[Any, CORSPolicy]

_REGEX_SYNTAX: Final = frozenset("^$[](){}?\\|")

_EXACT: Final = 0
_PREFIX: Final = 1
_REGEX: Final = 2


_ENCODED_SEPARATORS: Final = ("%2f", "%5c")
_PERCENT: Final = ord("%")


def is_canonical_path(path: str, raw_path: str | bytes | None = None) -> bool:
    """Whether every router reads ``path`` the same way, so a route rule may grant it.

    ``path`` is the decoded path the application routes on (ASGI ``scope["path"]``, WSGI
    ``PATH_INFO``); ``raw_path`` is the request target as sent, when the server gives it
    (ASGI ``raw_path``, WSGI ``REQUEST_URI`` or ``RAW_URI``; a query string is ignored).
    Not canonical: an empty segment (``//``; a trailing ``/`` is fine), a ``.`` or ``..``
    segment, a backslash, a path that neither is empty nor starts with ``/`` (``*``), and
    ``%2F`` or ``%5C`` (any case) in the raw path. Adapters refuse such requests any grant
    under ``routes=``.
    """
    if path:
        if path[0] != "/" or "//" in path or "\\" in path:
            return False
        if "/." in path:
            for segment in path.split("/"):
                if segment == "." or segment == "..":
                    return False
    if raw_path:
        # Most paths have no escape at all: one scan, no decoding.
        if isinstance(raw_path, str):
            if "%" not in raw_path:
                return True
            text = raw_path
        else:
            try:
                # An int needle: several times cheaper than b"%" (no buffer to acquire).
                if _PERCENT not in raw_path:
                    return True
                text = bytes(raw_path).decode("latin-1")
            except TypeError:  # not bytes: no server sends that; judge the path alone
                return True
        target = text.partition("?")[0].lower()
        if any(encoded in target for encoded in _ENCODED_SEPARATORS):
            return False
    return True


def normalize_path(path: str) -> str:
    """Collapse ``.`` and ``..`` segments the way routers resolve them (RFC 3986, 5.2.4).

    ``..`` never climbs above the root. A trailing ``.`` or ``..`` leaves a trailing slash
    (``/a/b/..`` is ``/a/``). Empty segments (``//``) are kept: routers treat them as
    distinct paths, and so do we.
    """
    if "." not in path or not path.startswith("/"):
        return path
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    out: list[str] = []
    for segment in segments[1:]:
        if segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


class Routes:
    """An ordered rule table: the first rule whose pattern matches a path gives its policy.

    ``rules`` is a sequence of ``(pattern, policy)`` pairs or a mapping (in insertion
    order). Every problem (bad pattern, non-policy value, unreachable rule) is reported at
    once in one :class:`~crossorigin.ConfigError`.
    """

    __slots__ = ("_table", "rules")

    rules: tuple[tuple[RoutePattern, CORSPolicy], ...]
    _table: tuple[tuple[int, str | re.Pattern[str], CORSPolicy], ...]

    def __init__(self, rules: RouteRules) -> None:
        try:
            pairs = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
        except TypeError:  # not iterable: a ConfigError like every other mistake
            raise ConfigError(
                [
                    Problem(
                        "routes",
                        rules,
                        "is not a list of (pattern, policy) rules",
                        "write routes=[('/api/*', CORSPolicy(...)), ...]",
                    )
                ]
            ) from None
        problems: list[Problem] = []
        table: list[tuple[int, str | re.Pattern[str], CORSPolicy]] = []
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                problems.append(
                    Problem(
                        "routes",
                        pair,
                        f"rule {index} is not a (pattern, policy) pair",
                        "write rules as ('/api/*', CORSPolicy(...))",
                    )
                )
                continue
            pattern, policy = pair
            if not isinstance(policy, CORSPolicy):
                problems.append(
                    Problem(
                        "routes",
                        policy,
                        f"rule {index} ({pattern!r}) has no CORSPolicy",
                        "pair each pattern with CORSPolicy(...)",
                    )
                )
                continue
            compiled = _compile_pattern(pattern, problems)
            if compiled is None:
                continue
            kind, key = compiled
            shadow = _shadowing_rule(kind, key, table)
            if shadow is not None:
                problems.append(
                    Problem(
                        "routes",
                        pattern,
                        f"can never match: the earlier rule {shadow!r} already matches every "
                        "path it matches (rules apply in declared order, first match wins)",
                        "list the more specific rule first",
                    )
                )
                continue
            table.append((kind, key, policy))
        if not pairs:
            problems.append(
                Problem("routes", rules, "no rules given", "pass at least one ('/path/*', policy)")
            )
        if problems:
            raise ConfigError(problems)
        object.__setattr__(self, "rules", tuple(pairs))
        object.__setattr__(self, "_table", tuple(table))

    def policy_for(self, path: str) -> CORSPolicy | None:
        """The policy of the first rule matching ``path`` (decoded), or None for no rule.

        None also for a path that is not canonical (:func:`is_canonical_path`): adapters
        check the raw path first and refuse such requests outright; this is the backstop.
        """
        if not is_canonical_path(path):
            return None
        for kind, key, policy in self._table:
            if isinstance(key, str):
                if path == key if kind == _EXACT else path.startswith(key) or path == key[:-1]:
                    return policy
            elif key.fullmatch(path):
                return policy
        return None

    @property
    def policies(self) -> tuple[CORSPolicy, ...]:
        """Every distinct policy in the table, in rule order."""
        return tuple(dict.fromkeys(policy for _, _, policy in self._table))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Routes is immutable; build a new table")

    def __repr__(self) -> str:
        return f"Routes({list(self.rules)!r})"


def as_routes(routes: Routes | RouteRules) -> Routes:
    """Accept a ready :class:`Routes` or anything its constructor takes."""
    return routes if isinstance(routes, Routes) else Routes(routes)


def _compile_pattern(
    pattern: object, problems: list[Problem]
) -> tuple[int, str | re.Pattern[str]] | None:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            problems.append(Problem("routes", pattern, "must be a str pattern", "pass a str"))
            return None
        return _REGEX, pattern
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        problems.append(
            Problem(
                "routes",
                pattern,
                "a path pattern must be a string starting with '/' or a compiled regex",
                "write '/api/users', '/api/*' or re.compile(r'/v[0-9]+/items')",
            )
        )
        return None
    glob_star = pattern.endswith("/*")
    body = pattern[:-2] if glob_star else pattern
    if "*" in body or _REGEX_SYNTAX.intersection(body):
        problems.append(
            Problem(
                "routes",
                pattern,
                "looks like a regular expression, but string patterns are literal paths "
                "with an optional trailing '/*' (Flask-CORS matched such strings as "
                "regexes from the start of the path, which also granted unrelated paths)",
                "use a glob such as '/api/*', or re.compile(r'...') for a regex that must "
                "match the whole path",
            )
        )
        return None
    if not is_canonical_path(body):
        problems.append(
            Problem(
                "routes",
                pattern,
                "contains '//', '.' or '..' segments: requests with such paths never get "
                "a grant, so this rule could never match",
                "write the path in canonical form",
            )
        )
        return None
    if glob_star:
        return _PREFIX, body + "/"
    return _EXACT, body


def _shadowing_rule(
    kind: int,
    key: str | re.Pattern[str],
    table: list[tuple[int, str | re.Pattern[str], CORSPolicy]],
) -> str | None:
    """The earlier rule matching every path ``key`` matches, if any (as written).

    Globs and exact paths compare exactly. A regex on either side is judged on what can
    be decided: an earlier regex against the paths a later exact or glob rule matches (the
    rule's own path, its subtree root and a set of probe paths below it); a later regex by
    the literal text every one of its matches starts with (``/api/v[0-9]+`` always starts
    with ``/api/v``, so an earlier ``/api/*`` covers it), or by its probe paths when an
    earlier regex is compared. A regex rule that still matches some path is never refused.
    """
    prefix = _literal_prefix(key) if isinstance(key, re.Pattern) else None
    for earlier_kind, earlier, _ in table:
        if isinstance(earlier, re.Pattern):
            if _regex_covers(earlier, kind, key, prefix):
                return earlier.pattern
        elif prefix is not None:
            if _glob_covers_regex(earlier_kind, earlier, prefix):
                return earlier if earlier_kind == _EXACT else earlier + "*"
        elif isinstance(key, str):
            if earlier_kind == _EXACT:
                if kind == _EXACT and key == earlier:
                    return earlier
            elif key.startswith(earlier) or (kind == _EXACT and key == earlier[:-1]):
                return earlier + "*"
    return None


# Path segments a subtree's real paths are made of; a regex that matches the subtree
# root and all of these below it is taken to cover the whole subtree.
_PROBE_TAILS: Final = (
    "",
    "x",
    "users",
    "0",
    "123",
    "a/b",
    "a/b/c/",
    "Z-z_9.~",
    "x.json",
    "%20",
    "caf\u00e9",
    "a b",
    "@:+$,;=!'()*&",
    "x/",
)


def _subtree_probes(root: str) -> list[str]:
    return [root.rstrip("/") or "/", root, *(root + tail for tail in _PROBE_TAILS)]


def _regex_covers(
    earlier: re.Pattern[str],
    kind: int,
    key: str | re.Pattern[str],
    prefix: tuple[str, bool] | None,
) -> bool:
    if isinstance(key, str):
        if kind == _EXACT:
            return earlier.fullmatch(key) is not None
        return all(earlier.fullmatch(path) for path in _subtree_probes(key))
    assert prefix is not None
    literal, whole = prefix
    if whole:
        return earlier.fullmatch(literal) is not None
    probes = [path for path in _subtree_probes(literal) if key.fullmatch(path)]
    return bool(probes) and all(earlier.fullmatch(path) for path in probes)


def _glob_covers_regex(earlier_kind: int, earlier: str, prefix: tuple[str, bool]) -> bool:
    literal, whole = prefix
    if earlier_kind == _EXACT:
        return whole and literal == earlier
    return literal.startswith(earlier) or (whole and literal == earlier[:-1])


def _literal_prefix(pattern: re.Pattern[str]) -> tuple[str, bool]:
    """The text every match of ``pattern`` starts with, and whether it is the whole match.

    Only plain literals count (no flags that change matching); anything else ends the
    prefix, so the answer is always safe to rely on.
    """
    if pattern.flags & (re.IGNORECASE | re.VERBOSE):
        return "", False
    try:
        # CPython's own regex parser (typeshed has no stubs for it); construction only.
        from re import _constants as sre_constants  # type: ignore[attr-defined]
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover (CPython has them since 3.11)
        return "", False
    try:
        items: list[Any] = list(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # pragma: no cover (it compiled once already)
        return "", False
    prefix: list[str] = []
    while items:
        op, argument = items[0]
        if op is sre_constants.LITERAL:
            prefix.append(chr(argument))
            items.pop(0)
        elif op is sre_constants.SUBPATTERN and not argument[1] and not argument[2]:
            # A plain group: look inside it (flags on the group would change matching).
            items[:1] = list(argument[3])
        elif op is sre_constants.AT and argument in (
            sre_constants.AT_BEGINNING,
            sre_constants.AT_BEGINNING_STRING,
        ):
            items.pop(0)
        else:
            return "".join(prefix), False
    return "".join(prefix), True


def reject_routes_with_policy(policy: object, options: dict[str, Any]) -> None:
    """``routes=`` carries a policy per rule, so a policy or options beside it is a mistake."""
    if policy is not None or options:
        given = ["policy"] if policy is not None else []
        raise ConfigError(
            [
                Problem(
                    "routes",
                    "...",
                    "routes and a single policy were both given ("
                    + ", ".join(given + sorted(options))
                    + ")",
                    "give each rule its own policy in routes=[(pattern, policy), ...], "
                    "or pass one policy without routes",
                )
            ]
        )


def policy_or_routes(
    policy: CORSPolicy | None, routes: Routes | RouteRules | None, options: dict[str, Any]
) -> tuple[CORSPolicy | None, Routes | None]:
    """Resolve the ``policy=None, routes=None, **options`` every middleware accepts.

    Exactly one of the two results is set: the rule table when ``routes`` is given (a
    policy or options beside it is a ``ConfigError``), otherwise the one policy.
    """
    if routes is not None:
        reject_routes_with_policy(policy, options)
        return None, as_routes(routes)
    return policy_from_options(policy, options), None
