"""``CORSPolicy``: a validated, immutable CORS configuration compiled for per-request speed.

Construction does all the work: every option is validated (all problems reported at once,
each with its fix), origins are compiled into a dict and suffix tables, and every constant
response header becomes a ready ``(bytes, bytes)`` pair. :meth:`CORSPolicy.decide` is then a
handful of dict and set lookups that returns a :class:`~crossorigin.decision.Decision`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from operator import methodcaller
from typing import Any, Final

from .decision import Decision, HeaderPairs, Reason, Refusal, RequestKind
from .errors import ConfigError, Problem
from .origin_analysis import check_origin_regex
from .origins import (
    ExactOrigin,
    OriginMatcher,
    PortWildcard,
    SubdomainPattern,
    parse_config_origin,
)
from .resolver import OriginResolver, ResolverFunction
from .tokens import (
    FORBIDDEN_METHODS,
    FORBIDDEN_RESPONSE_HEADERS,
    NORMALIZED_METHODS,
    OWS,
    SAFELISTED_METHODS,
    is_forbidden_request_header,
    is_token,
)

ACAO: Final = b"access-control-allow-origin"
ACAC: Final = b"access-control-allow-credentials"
ACAM: Final = b"access-control-allow-methods"
ACAH: Final = b"access-control-allow-headers"
ACEH: Final = b"access-control-expose-headers"
ACMA: Final = b"access-control-max-age"
ACAPN: Final = b"access-control-allow-private-network"
VARY: Final = b"vary"

# Firefox caps Access-Control-Max-Age at 86400 s and Chromium at 7200 s: anything larger is
# silently cut by every browser, so asking for it is a misunderstanding worth reporting.
MAX_AGE_LIMIT: Final = 86400

# What a preflight answer echoes is bounded: a method or header list longer than any real
# request is refused rather than copied into a response header.
MAX_ECHOED_METHOD: Final = 64
MAX_ECHOED_HEADERS: Final = 4096

logger = logging.getLogger("crossorigin")

# Bounds on the per-policy memo tables, so hostile input cannot grow memory.
_MEMO_ENTRIES: Final = 1024
_MEMO_KEY_LENGTH: Final = 1024

_strip_ows: Final = methodcaller("strip", OWS)
_COMMA_RUNS: Final = re.compile(",{2,}")

OPTION_NAMES: Final = (
    "allow_origins",
    "allow_origin_regex",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "preflight_status",
    "origin_resolver",
    "allow_header_regex",
    "dangerously_reflect_any_origin",
)


def _as_entries(value: object) -> tuple[object, ...]:
    """Accept a single string as one entry (``"GET"``), or any iterable of entries."""
    if isinstance(value, str | bytes):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,)


def _compile_regex(
    option: str, value: object, flags: int, fix: str, problems: list[Problem]
) -> re.Pattern[str] | None:
    """``value`` (a str or a compiled str pattern) compiled with ``flags`` added, or None
    with a problem reported. A compiled pattern that already has the flags is kept as it
    is (its own flags, re.VERBOSE for one, change what it means)."""
    try:
        if isinstance(value, re.Pattern):
            if not isinstance(value.pattern, str):
                raise TypeError("must be a str pattern")
            if value.flags & flags == flags:
                return value
            return re.compile(value.pattern, value.flags | flags)
        if not isinstance(value, str):
            raise TypeError("must be a str pattern")
        return re.compile(value, flags)
    # Deep nesting and huge repeat counts escape re.compile as RecursionError and
    # OverflowError rather than re.error.
    except (re.error, TypeError, OverflowError, RecursionError) as error:
        problems.append(Problem(option, value, f"is not a valid regular expression ({error})", fix))
        return None


class CORSPolicy:
    """A CORS policy: which origins may read responses, with which methods and headers.

    All arguments are keyword-only and validated together; problems raise
    :class:`~crossorigin.ConfigError` listing each one with its fix. The instance is
    immutable, hashable and safe to share between threads and event loops.

    The normalised configuration is readable back as attributes of the same names.
    """

    __slots__ = (
        "_acrh_memo",
        "_actual_by_origin",
        "_actual_tail",
        "_allowed_header_names",
        "_any_header",
        "_any_method",
        "_by_origin",
        "_echo",
        "_echo_headers",
        "_header_regex",
        "_listed_headers_pair",
        "_matcher",
        "_methods_pair",
        "_not_cors",
        "_pattern_memo",
        "_preflight_by_origin",
        "_preflight_head",
        "_preflight_memo",
        "_preflight_refused_headers",
        "_preflight_rest",
        "_preflight_tail",
        "_public",
        "_public_actual",
        "_public_preflight_headers",
        "_refused_memo",
        "_regex",
        "_request_methods",
        "_resolved_memo",
        "_resolver",
        "_vary",
        "allow_credentials",
        "allow_header_regex",
        "allow_headers",
        "allow_methods",
        "allow_origin_regex",
        "allow_origins",
        "allow_private_network",
        "dangerously_reflect_any_origin",
        "expose_headers",
        "max_age",
        "origin_resolver",
        "preflight_status",
    )

    allow_origins: tuple[str, ...]
    allow_origin_regex: str | None
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int | None
    allow_private_network: bool
    preflight_status: int
    origin_resolver: OriginResolver | None
    allow_header_regex: str | None
    dangerously_reflect_any_origin: bool

    # Compiled state (see _compile).
    _public: bool
    _vary: bytes
    _actual_tail: HeaderPairs
    _preflight_tail: HeaderPairs
    _preflight_refused_headers: HeaderPairs
    _matcher: OriginMatcher
    _any_method: bool
    _request_methods: frozenset[str]
    _any_header: bool
    _allowed_header_names: frozenset[str]
    _header_regex: re.Pattern[str] | None
    _echo: bool
    _echo_headers: bool
    _listed_headers_pair: HeaderPairs
    _methods_pair: HeaderPairs
    _preflight_head: HeaderPairs
    _preflight_rest: HeaderPairs
    _public_actual: Decision
    _public_preflight_headers: HeaderPairs
    _regex: re.Pattern[str] | None
    _not_cors: Decision
    _actual_by_origin: dict[str, Decision]
    _by_origin: dict[str | None, Decision]
    _preflight_by_origin: dict[str, HeaderPairs]
    _pattern_memo: dict[str, Decision]
    _refused_memo: dict[str, Decision]
    _preflight_memo: dict[tuple[str, str, str | None, str | None], Decision]
    _acrh_memo: dict[str, tuple[str, bytes]]
    _resolver: OriginResolver | None
    _resolved_memo: dict[str, Decision]

    def __init__(
        self,
        *,
        allow_origins: Iterable[str] | str = (),
        allow_origin_regex: str | re.Pattern[str] | None = None,
        allow_methods: Iterable[str] | str = ("GET", "HEAD", "POST"),
        allow_headers: Iterable[str] | str = (),
        expose_headers: Iterable[str] | str = (),
        allow_credentials: bool = False,
        max_age: int | None = None,
        allow_private_network: bool = False,
        preflight_status: int = 204,
        origin_resolver: OriginResolver | ResolverFunction | None = None,
        allow_header_regex: str | re.Pattern[str] | None = None,
        dangerously_reflect_any_origin: bool = False,
    ) -> None:
        problems: list[Problem] = []
        for option, flag in (
            ("allow_credentials", allow_credentials),
            ("allow_private_network", allow_private_network),
            ("dangerously_reflect_any_origin", dangerously_reflect_any_origin),
        ):
            if not isinstance(flag, bool):
                problems.append(Problem(option, flag, "must be True or False", "pass a bool"))
        credentials = allow_credentials is True
        reflect = dangerously_reflect_any_origin is True

        public, null, exact, patterns, wildcards = self._check_origins(
            allow_origins, credentials, reflect, problems
        )
        regex = self._check_regex(allow_origin_regex, problems)
        resolver = self._check_resolver(origin_resolver, public, problems)
        if reflect:
            self._check_reflect(public, resolver, origin_resolver, problems)
        if not (
            public or null or exact or patterns or wildcards or regex or resolver or reflect
        ) and not any(
            p.option in ("allow_origins", "allow_origin_regex")
            or p.option.startswith("origin_resolver")
            for p in problems
        ):
            problems.append(
                Problem(
                    "allow_origins",
                    allow_origins,
                    "the policy allows no origin, so it would refuse every CORS request",
                    "list the origins that may call this server, e.g. "
                    "allow_origins=['https://app.example.com'], or '*' for public data",
                )
            )
        methods = self._check_methods(allow_methods, problems)
        headers = self._check_header_names(
            "allow_headers", allow_headers, credentials, problems, request=True
        )
        exposed = self._check_header_names(
            "expose_headers", expose_headers, credentials, problems, request=False
        )
        header_regex = self._check_header_regex(allow_header_regex, problems)
        self._check_max_age(max_age, problems)
        if (
            isinstance(preflight_status, bool)
            or not isinstance(preflight_status, int)
            or not 200 <= preflight_status <= 299
        ):
            problems.append(
                Problem(
                    "preflight_status",
                    preflight_status,
                    "browsers fail every preflight answered with a non-2xx status",
                    "use 204 (the default) or 200",
                )
            )
        if problems:
            raise ConfigError(problems)

        set_ = object.__setattr__
        set_(
            self,
            "allow_origins",
            (("*",) if public else ())
            + (("null",) if null else ())
            + tuple(map(_describe, exact))
            + tuple(map(_describe, patterns))
            + tuple(map(_describe, wildcards)),
        )
        set_(self, "allow_origin_regex", regex.pattern if regex is not None else None)
        # The compiled pattern keeps its flags (re.VERBOSE changes what a pattern means), so
        # equality and replace() use it rather than the bare pattern string.
        set_(self, "_regex", regex)
        set_(self, "allow_methods", methods)
        set_(self, "allow_headers", headers)
        set_(self, "expose_headers", exposed)
        set_(self, "allow_credentials", credentials)
        set_(self, "max_age", max_age)
        set_(self, "allow_private_network", allow_private_network)
        set_(self, "preflight_status", preflight_status)
        set_(self, "origin_resolver", resolver)
        set_(self, "_resolver", resolver)
        # Grants built from a resolver's verdict, by origin: pure, so shared.
        set_(self, "_resolved_memo", {})
        set_(
            self,
            "allow_header_regex",
            header_regex.pattern if header_regex is not None else None,
        )
        set_(self, "_header_regex", header_regex)
        set_(self, "dangerously_reflect_any_origin", reflect)
        self._compile(public, null, exact, patterns, wildcards, regex)
        if reflect:
            logger.warning(
                "CORSPolicy(dangerously_reflect_any_origin=True): every website a visitor "
                "opens may read this server's responses%s; use it only for local development "
                "or data that is public anyway",
                " with the visitor's cookies and credentials (allow_credentials=True)"
                if credentials
                else "",
            )

    # --- validation -------------------------------------------------------------------------

    @staticmethod
    def _check_origins(
        value: object, credentials: bool, reflect: bool, problems: list[Problem]
    ) -> tuple[bool, bool, list[ExactOrigin], list[SubdomainPattern], list[PortWildcard]]:
        public = null = False
        exact: dict[str, ExactOrigin] = {}
        patterns: dict[SubdomainPattern, None] = {}
        wildcards: dict[PortWildcard, None] = {}
        for entry in _as_entries(value):
            if entry == "*":
                public = True
                if credentials:
                    problems.append(
                        Problem(
                            "allow_origins",
                            entry,
                            "'*' cannot be combined with allow_credentials=True "
                            "(browsers reject it, and reflecting every origin instead would "
                            "let any site read your users' data)",
                            "list the exact origins that need credentials, or set "
                            "allow_credentials=False for public data",
                        )
                    )
                continue
            if isinstance(entry, str) and entry.lower() == "null":
                null = True
                if credentials and not reflect:
                    problems.append(
                        Problem(
                            "allow_origins",
                            entry,
                            "'null' with allow_credentials=True lets every site read your "
                            "users' data: any page can send Origin: null from a sandboxed "
                            "iframe",
                            "list the exact origins that need credentials (documents that "
                            "send null have no origin you could trust), or, knowing what it "
                            "exposes, pass dangerously_reflect_any_origin=True",
                        )
                    )
                continue
            parsed = parse_config_origin(entry, problems)
            if isinstance(parsed, ExactOrigin):
                exact[parsed.origin] = parsed
            elif isinstance(parsed, SubdomainPattern):
                patterns[parsed] = None
            elif isinstance(parsed, PortWildcard):
                wildcards[parsed] = None
        return public, null, list(exact.values()), list(patterns), list(wildcards)

    @staticmethod
    def _check_regex(value: object, problems: list[Problem]) -> re.Pattern[str] | None:
        if value is None:
            return None
        option = "allow_origin_regex"
        regex = _compile_regex(
            option,
            value,
            0,
            "write a Python regex such as r'https://[a-z0-9-]+\\.example\\.com'",
            problems,
        )
        if regex is None:
            return None
        finding = check_origin_regex(regex)
        if finding is not None:
            problems.append(Problem(option, value, finding.message, finding.fix))
        return regex

    @staticmethod
    def _check_resolver(
        value: object, public: bool, problems: list[Problem]
    ) -> OriginResolver | None:
        if value is None:
            return None
        if isinstance(value, OriginResolver):
            resolver: OriginResolver | None = value
        else:
            try:
                resolver = OriginResolver(value)  # type: ignore[arg-type]
            except ConfigError as error:
                problems.extend(error.problems)
                resolver = None
        if public:
            problems.append(
                Problem(
                    "origin_resolver",
                    value,
                    "is never consulted: allow_origins='*' already allows every origin",
                    "remove '*' from allow_origins, or remove the resolver",
                )
            )
        return resolver

    @staticmethod
    def _check_reflect(
        public: bool, resolver: OriginResolver | None, value: object, problems: list[Problem]
    ) -> None:
        option = "dangerously_reflect_any_origin"
        if public:
            problems.append(
                Problem(
                    option,
                    True,
                    "contradicts allow_origins='*' (one answers '*', the other reflects "
                    "each origin)",
                    "keep '*' for public data without credentials, or remove it",
                )
            )
        if resolver is not None:
            problems.append(
                Problem(
                    "origin_resolver",
                    value,
                    "is never consulted: dangerously_reflect_any_origin=True already allows "
                    "every origin",
                    "remove the resolver, or the dangerous option",
                )
            )

    @staticmethod
    def _check_header_regex(value: object, problems: list[Problem]) -> re.Pattern[str] | None:
        if value is None:
            return None
        # Header names compare case-insensitively, whatever flags the caller used.
        return _compile_regex(
            "allow_header_regex",
            value,
            re.IGNORECASE,
            "write a Python regex over header names, such as r'X-Company-.*'",
            problems,
        )

    @staticmethod
    def _check_methods(value: object, problems: list[Problem]) -> tuple[str, ...]:
        option = "allow_methods"
        methods: dict[str, None] = {}
        for method in _as_entries(value):
            if not isinstance(method, str) or not is_token(method):
                problems.append(
                    Problem(
                        option,
                        method,
                        "is not a valid HTTP method token",
                        "write method names like 'PUT' or 'DELETE'",
                    )
                )
                continue
            if method == "*":
                # Any method token the preflight asks for; the answer echoes it, which
                # browsers accept with or without credentials.
                pass
            elif method.upper() in FORBIDDEN_METHODS:
                problems.append(
                    Problem(
                        option,
                        method,
                        "is a forbidden method browsers never send",
                        f"remove {method!r}",
                    )
                )
                continue
            elif method.upper() in NORMALIZED_METHODS and method != method.upper():
                problems.append(
                    Problem(
                        option,
                        method,
                        "browsers upper-case this method before sending it and method "
                        "names compare case-sensitively, so it would never match",
                        f"write {method.upper()!r}",
                    )
                )
                continue
            methods[method] = None
        return tuple(methods)

    @staticmethod
    def _check_header_names(
        option: str, value: object, credentials: bool, problems: list[Problem], *, request: bool
    ) -> tuple[str, ...]:
        names: dict[str, str] = {}
        for name in _as_entries(value):
            if not isinstance(name, str) or not is_token(name):
                problems.append(
                    Problem(
                        option,
                        name,
                        "is not a valid HTTP header name",
                        "write header names like 'Content-Type' or 'X-Request-Id'",
                    )
                )
                continue
            if name == "*":
                # In allow_headers, '*' means every requested name (Authorization included),
                # echoed back. Expose headers cannot be echoed: the server does not know which
                # response headers a script wants, and browsers read '*' literally there for
                # credentialed requests.
                if credentials and not request:
                    problems.append(
                        Problem(
                            option,
                            name,
                            "'*' is not a wildcard for credentialed requests "
                            "(browsers read it as a header literally named '*')",
                            "list the header names, e.g. ['Content-Type', 'Authorization']",
                        )
                    )
                    continue
            elif request and is_forbidden_request_header(name):
                problems.append(
                    Problem(
                        option,
                        name,
                        "is a forbidden request header: scripts can never set it, so "
                        "listing it has no effect",
                        f"remove {name!r}",
                    )
                )
                continue
            elif not request and name.lower() in FORBIDDEN_RESPONSE_HEADERS:
                problems.append(
                    Problem(option, name, "browsers never expose it to scripts", f"remove {name!r}")
                )
                continue
            names.setdefault(name.lower(), name)
        return tuple(names.values())

    @staticmethod
    def _check_max_age(value: object, problems: list[Problem]) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                Problem(
                    "max_age",
                    value,
                    "must be a whole number of seconds or None",
                    "pass an int such as 600",
                )
            )
        elif value < 0:
            problems.append(
                Problem(
                    "max_age",
                    value,
                    "is negative",
                    "pass 0 to disable preflight caching, or a positive number of seconds",
                )
            )
        elif value > MAX_AGE_LIMIT:
            problems.append(
                Problem(
                    "max_age",
                    value,
                    f"exceeds what any browser honours (Firefox caps at {MAX_AGE_LIMIT}, "
                    "Chromium at 7200)",
                    "pass at most 7200 for the same behaviour everywhere",
                )
            )

    # --- compilation ------------------------------------------------------------------------

    def _compile(
        self,
        public: bool,
        null: bool,
        exact: list[ExactOrigin],
        patterns: list[SubdomainPattern],
        wildcards: list[PortWildcard],
        regex: re.Pattern[str] | None,
    ) -> None:
        set_ = object.__setattr__
        credentials = self.allow_credentials
        vary = b"" if public else b"Origin"

        actual_tail: list[tuple[bytes, bytes]] = []
        if credentials:
            actual_tail.append((ACAC, b"true"))
        if self.expose_headers:
            actual_tail.append((ACEH, ", ".join(self.expose_headers).encode("ascii")))

        # '*' methods or headers (or a header regex) are answered by echoing what the
        # preflight asked for: a literal '*' fails credentialed requests and never covers
        # Authorization, while an echo works in every browser. The echoed parts are then
        # added per request (see _compute_preflight), between the constant head and rest.
        any_method = "*" in self.allow_methods
        any_header = "*" in self.allow_headers
        echo_headers = any_header or self._header_regex is not None
        listed_headers = [name for name in self.allow_headers if name != "*"]
        listed_headers_pair: HeaderPairs = (
            ((ACAH, ", ".join(listed_headers).encode("ascii")),) if listed_headers else ()
        )
        head: list[tuple[bytes, bytes]] = [(ACAC, b"true")] if credentials else []
        rest: list[tuple[bytes, bytes]] = []
        if self.max_age is not None:
            rest.append((ACMA, str(self.max_age).encode("ascii")))
        methods_pair: HeaderPairs = (
            ((ACAM, ", ".join(self.allow_methods).encode("ascii")),)
            if self.allow_methods and not any_method
            else ()
        )
        preflight_tail = [*head, *methods_pair]
        if not echo_headers:
            preflight_tail.extend(listed_headers_pair)
        preflight_tail.extend(rest)
        vary_tokens = [] if public else [b"Origin"]
        if any_method:
            vary_tokens.append(b"Access-Control-Request-Method")
        if echo_headers:
            vary_tokens.append(b"Access-Control-Request-Headers")
        vary_pairs: HeaderPairs = ((VARY, b", ".join(vary_tokens)),) if vary_tokens else ()

        set_(self, "_public", public)
        set_(self, "_vary", vary)
        set_(self, "_actual_tail", tuple(actual_tail))
        set_(self, "_preflight_tail", tuple(preflight_tail))
        set_(self, "_preflight_refused_headers", vary_pairs)
        set_(
            self,
            "_matcher",
            OriginMatcher(patterns, wildcards, regex, self.dangerously_reflect_any_origin),
        )
        set_(self, "_any_method", any_method)
        set_(self, "_request_methods", frozenset(self.allow_methods) | SAFELISTED_METHODS)
        set_(self, "_any_header", any_header)
        set_(self, "_echo_headers", echo_headers)
        set_(self, "_echo", any_method or echo_headers)
        set_(self, "_listed_headers_pair", listed_headers_pair)
        set_(self, "_methods_pair", methods_pair)
        set_(self, "_preflight_head", tuple(head))
        set_(self, "_preflight_rest", tuple(rest))
        set_(
            self,
            "_allowed_header_names",
            frozenset(name.lower() for name in listed_headers),
        )

        public_actual_headers: HeaderPairs = ((ACAO, b"*"), *actual_tail)
        set_(self, "_public_actual", Decision(RequestKind.ACTUAL, True, public_actual_headers))
        set_(self, "_public_preflight_headers", ((ACAO, b"*"), *preflight_tail))
        if public:
            not_cors = Decision(RequestKind.NOT_CORS, True, public_actual_headers)
        else:
            not_cors = Decision(RequestKind.NOT_CORS, True, (), vary)
        set_(self, "_not_cors", not_cors)

        # Exact origins (and "null" when listed) get their decisions built here, once. A public
        # policy answers "*" to everyone: a per-origin grant there would vary without Vary.
        if public:
            granted = []
        else:
            granted = [entry.origin for entry in exact]
            if null or self.dangerously_reflect_any_origin:
                granted.append("null")
        actual_by_origin: dict[str, Decision] = {}
        preflight_by_origin: dict[str, HeaderPairs] = {}
        for origin in granted:
            acao = (ACAO, origin.encode("ascii"))
            actual_by_origin[origin] = Decision(
                RequestKind.ACTUAL, True, (acao, *actual_tail), vary
            )
            preflight_by_origin[origin] = (acao, *preflight_tail, *vary_pairs)
        set_(self, "_actual_by_origin", actual_by_origin)
        # What decide() returns for a request that is not a preflight, by Origin (None: no
        # Origin): the exact origins, plus memoised pattern grants and refusals as they are
        # decided. Adapters look an origin up here first and call decide() on a miss, which
        # saves a Python call per request (see docs/benchmarks.md).
        set_(self, "_by_origin", {None: not_cors, **actual_by_origin})
        set_(self, "_preflight_by_origin", preflight_by_origin)
        # Bounded memo tables for values that only patterns or parsing can answer.
        set_(self, "_pattern_memo", {})
        # Decisions are immutable and shared, so refusals and preflights are memoised too:
        # building a Decision costs more than the rest of decide() together.
        set_(self, "_refused_memo", {})
        set_(self, "_preflight_memo", {})
        set_(self, "_acrh_memo", {})

    # --- the per-request entry point --------------------------------------------------------

    def decide(
        self,
        method: str,
        origin: str | None,
        request_method: str | None = None,
        request_headers: str | None = None,
        request_private_network: str | None = None,
    ) -> Decision:
        """Decide one request. Pure: no I/O, never raises for any string input.

        :param method: the request method as received (``"GET"``, ``"OPTIONS"``...).
        :param origin: the ``Origin`` header value, or None when absent. A header that was
            repeated should be passed comma-joined (HTTP list semantics): it is then
            malformed, and refused.
        :param request_method: ``Access-Control-Request-Method``, or None when absent.
        :param request_headers: ``Access-Control-Request-Headers``, or None (repeats
            comma-joined).
        :param request_private_network: ``Access-Control-Request-Private-Network``, or None.
        :returns: a :class:`Decision`; see its documentation for how adapters apply it.
        """
        if origin is None:
            return self._not_cors
        if request_method is not None and method == "OPTIONS":
            return self._decide_preflight(
                origin, request_method, request_headers, request_private_network
            )
        decision = self._actual_by_origin.get(origin)
        if decision is not None:
            return decision
        if self._public:
            return self._public_actual
        decision = self._pattern_memo.get(origin)
        if decision is not None:
            return decision
        decision = self._refused_memo.get(origin)
        if decision is not None:
            return decision
        if self._matcher.matches(origin):
            decision = Decision(
                RequestKind.ACTUAL,
                True,
                ((ACAO, origin.encode("ascii")), *self._actual_tail),
                self._vary,
            )
            if len(self._pattern_memo) < _MEMO_ENTRIES:
                self._pattern_memo[origin] = decision
                self._by_origin[origin] = decision
            return decision
        resolver = self._resolver
        if resolver is not None:
            # Kept out of the memo tables above: the verdict expires with the TTL. decide() only
            # peeks at the cache; adapters pass the verdict in through decide_resolved().
            return self._resolved_actual(origin, resolver.cached(origin) is True)
        decision = Decision(
            RequestKind.ACTUAL, False, (), self._vary, 0, (Refusal(Reason.ORIGIN, origin),)
        )
        memo = self._refused_memo
        if len(origin) <= _MEMO_KEY_LENGTH and len(memo) < _MEMO_ENTRIES:
            memo[origin] = decision
            self._by_origin[origin] = decision
        return decision

    # --- dynamic origins (see crossorigin.resolver) ---------------------------------------
    # The resolver sits beside the policy: an adapter asks it for the origin's verdict, then
    # calls decide_resolved() with that verdict, which stays pure. Static policies never
    # reach this code (adapters take static_path()).

    @property
    def has_resolver(self) -> bool:
        """True when an origin resolver is configured (adapters then use the *_async or
        *_blocking entry points; static policies keep the plain, synchronous decide)."""
        return self._resolver is not None

    def _needs_resolution(self, origin: str | None) -> bool:
        """True when only the resolver can decide ``origin`` (no static origin grants it)."""
        if self._resolver is None or origin is None or origin in self._preflight_by_origin:
            return False
        return origin not in self._pattern_memo and not self._matcher.matches(origin)

    def _resolved_actual(self, origin: str, granted: bool) -> Decision:
        memo = self._resolved_memo
        if granted:
            decision = memo.get(origin)
            if decision is not None:
                return decision
            decision = Decision(
                RequestKind.ACTUAL,
                True,
                ((ACAO, origin.encode("ascii")), *self._actual_tail),
                self._vary,
            )
        else:
            decision = Decision(
                RequestKind.ACTUAL, False, (), self._vary, 0, (Refusal(Reason.ORIGIN, origin),)
            )
        # Only grants: random refused origins must not crowd the tenants out of the memo.
        if granted and len(memo) < _MEMO_ENTRIES:
            memo[origin] = decision
        return decision

    def _decide_with(
        self,
        granted: bool,
        method: str,
        origin: str,
        request_method: str | None,
        request_headers: str | None,
        request_private_network: str | None,
    ) -> Decision:
        if request_method is not None and method == "OPTIONS":
            return self._compute_preflight(
                origin, request_method, request_headers, request_private_network, granted
            )
        return self._resolved_actual(origin, granted)

    def decide_resolved(
        self,
        granted: bool,
        method: str,
        origin: str | None,
        request_method: str | None = None,
        request_headers: str | None = None,
        request_private_network: str | None = None,
    ) -> Decision:
        """:meth:`decide` with the origin resolver's verdict on ``origin`` given. Pure.
        Static origins are decided as by :meth:`decide`; ``granted`` only answers for the
        others (what ``origin_resolver.resolve_*`` returned)."""
        if not self._needs_resolution(origin):
            return self.decide(
                method, origin, request_method, request_headers, request_private_network
            )
        assert origin is not None
        return self._decide_with(
            granted is True,
            method,
            origin,
            request_method,
            request_headers,
            request_private_network,
        )

    async def resolve_origin_async(self, origin: str | None) -> bool | None:
        """The resolver's verdict on ``origin`` (None when static origins decide it, or
        without a resolver). Never raises."""
        resolver = self._resolver
        if resolver is None or origin is None or not self._needs_resolution(origin):
            return None
        return await resolver.resolve_async(origin)

    def resolve_origin_blocking(self, origin: str | None) -> bool | None:
        """:meth:`resolve_origin_async` for synchronous servers. Never raises."""
        resolver = self._resolver
        if resolver is None or origin is None or not self._needs_resolution(origin):
            return None
        return resolver.resolve_blocking(origin)

    async def decide_async(
        self,
        method: str,
        origin: str | None,
        request_method: str | None = None,
        request_headers: str | None = None,
        request_private_network: str | None = None,
    ) -> Decision:
        """:meth:`decide`, asking the origin resolver (awaited) when only it can answer."""
        resolver = self._resolver
        if resolver is None or origin is None or not self._needs_resolution(origin):
            return self.decide(
                method, origin, request_method, request_headers, request_private_network
            )
        granted = await resolver.resolve_async(origin)
        return self._decide_with(
            granted, method, origin, request_method, request_headers, request_private_network
        )

    def decide_blocking(
        self,
        method: str,
        origin: str | None,
        request_method: str | None = None,
        request_headers: str | None = None,
        request_private_network: str | None = None,
    ) -> Decision:
        """:meth:`decide` for synchronous servers, asking the resolver (blocking, at most
        its timeout) when only it can answer."""
        resolver = self._resolver
        if resolver is None or origin is None or not self._needs_resolution(origin):
            return self.decide(
                method, origin, request_method, request_headers, request_private_network
            )
        granted = resolver.resolve_blocking(origin)
        return self._decide_with(
            granted, method, origin, request_method, request_headers, request_private_network
        )

    def is_origin_allowed(self, origin: str) -> bool:
        """True when ``origin`` (an ``Origin`` header value) is granted by this policy."""
        return self.decide("GET", origin).allowed

    def _decide_preflight(
        self,
        origin: str,
        request_method: str,
        request_headers: str | None,
        request_private_network: str | None,
    ) -> Decision:
        # Lengths first: hashing a hostile megabyte for a lookup would cost more than the
        # answer itself.
        size = len(origin) + len(request_method)
        if request_headers is not None:
            size += len(request_headers)
        if request_private_network is not None:
            size += len(request_private_network)
        # A resolver's verdicts expire, so its policy's preflights are never memoised.
        resolver = self._resolver
        if resolver is not None:
            return self._compute_preflight(
                origin,
                request_method,
                request_headers,
                request_private_network,
                resolver.cached(origin) is True,
            )
        if size > _MEMO_KEY_LENGTH:
            return self._compute_preflight(
                origin, request_method, request_headers, request_private_network
            )
        key = (origin, request_method, request_headers, request_private_network)
        memo = self._preflight_memo
        decision = memo.get(key)
        if decision is None:
            decision = self._compute_preflight(*key)
            if len(memo) < _MEMO_ENTRIES:
                memo[key] = decision
        return decision

    def _compute_preflight(
        self,
        origin: str,
        request_method: str,
        request_headers: str | None,
        request_private_network: str | None,
        resolved: bool = False,
    ) -> Decision:
        refusals: list[Refusal] = []
        granted = self._preflight_by_origin.get(origin)
        if granted is None:
            if self._public:
                granted = self._public_preflight_headers
            elif resolved or self._matcher.matches(origin):
                vary_pairs = self._preflight_refused_headers
                granted = ((ACAO, origin.encode("ascii")), *self._preflight_tail, *vary_pairs)
            else:
                refusals.append(Refusal(Reason.ORIGIN, origin))
        if request_method not in self._request_methods and not (
            self._any_method
            and len(request_method) <= MAX_ECHOED_METHOD
            and is_token(request_method)
        ):
            refusals.append(Refusal(Reason.METHOD, request_method))
        echoed_headers = b""
        if request_headers:
            refused_names, echoed_headers = self._read_request_headers(request_headers)
            if refused_names:
                refusals.append(Refusal(Reason.HEADERS, refused_names))
        private_network = (
            request_private_network is not None
            and request_private_network.strip(OWS).lower() == "true"
        )
        if private_network and not self.allow_private_network:
            refusals.append(Refusal(Reason.PRIVATE_NETWORK, request_private_network or ""))
        if refusals or granted is None:
            return Decision(
                RequestKind.PREFLIGHT,
                False,
                self._preflight_refused_headers,
                b"",
                403,
                tuple(refusals),
            )
        if self._echo:
            granted = (
                granted[0],  # Access-Control-Allow-Origin, whichever way it was granted
                *self._preflight_head,
                *self._echoed_pairs(request_method, echoed_headers),
                *self._preflight_rest,
                *self._preflight_refused_headers,
            )
        if private_network:
            granted = (*granted, (ACAPN, b"true"))
        return Decision(RequestKind.PREFLIGHT, True, granted, b"", self.preflight_status)

    def _echoed_pairs(self, request_method: str, echoed_headers: bytes) -> HeaderPairs:
        """Allow-Methods and Allow-Headers for a policy that echoes (validated tokens only)."""
        if self._any_method:
            # A token by now (checked in _compute_preflight), so ASCII.
            methods: HeaderPairs = ((ACAM, request_method.encode("ascii")),)
        else:
            methods = self._methods_pair
        if not self._echo_headers:
            return (*methods, *self._listed_headers_pair)
        if echoed_headers:
            return (*methods, (ACAH, echoed_headers))
        return (*methods, *self._listed_headers_pair)

    def _read_request_headers(self, value: str) -> tuple[str, bytes]:
        """Read ``Access-Control-Request-Headers``: the names this policy does not allow,
        comma-joined ("" if none), and, for a policy that echoes, the value to echo (the
        requested names lowercased, deduplicated and sorted; b"" otherwise)."""
        memo = self._acrh_memo
        short = len(value) <= _MEMO_KEY_LENGTH
        if short:
            known = memo.get(value)
            if known is not None:
                return known
        # Empty elements are ignored, so collapsing runs of commas changes nothing but the
        # cost: a hostile megabyte of commas becomes one short string, not a list of a
        # million empty elements (the regex is only reached when a run exists).
        text = value
        if ",," in text:
            text = _COMMA_RUNS.sub(",", text)
        # No Python loop over what can be ten thousand names. The usual separator ", " loses
        # its space first (leading spaces are stripped from every name anyway); ASCII (all a
        # browser sends) lowercases character by character, so the whole value is lowercased
        # in one call, other text name by name; and
        # names are stripped only when a space or tab is left anywhere.
        text = text.replace(", ", ",")
        if text.isascii():
            names = set(text.lower().split(","))
        else:
            # Only ASCII names are lowercased: str.lower() folds some non-ASCII letters
            # (KELVIN SIGN) into ASCII ones, which would let a non-token match a listed name.
            names = {name.lower() if name.isascii() else name for name in text.split(",")}
        if " " in text or "\t" in text:
            names = set(map(_strip_ows, names))
        names.discard("")
        bad = names.difference(self._allowed_header_names)
        if bad:
            if self._any_header:
                bad = {name for name in bad if not is_token(name)}
            elif self._header_regex is not None:
                full_match = self._header_regex.fullmatch
                bad = {name for name in bad if not (is_token(name) and full_match(name))}
        echoed = b""
        if not bad and names and self._echo_headers:
            text = ", ".join(sorted(names))
            if len(text) > MAX_ECHOED_HEADERS:
                bad = names  # more than any real request: refused, not copied back
            else:
                echoed = text.encode("ascii")  # every name is a token by now
        known = (", ".join(sorted(bad)), echoed)
        if short and len(memo) < _MEMO_ENTRIES:
            memo[value] = known
        return known

    # --- value semantics --------------------------------------------------------------------

    def _config(self) -> tuple[Any, ...]:
        compiled = {"allow_origin_regex": self._regex, "allow_header_regex": self._header_regex}
        return tuple(
            compiled[name] if name in compiled else getattr(self, name) for name in OPTION_NAMES
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CORSPolicy):
            return NotImplemented
        return self._config() == other._config()

    def __hash__(self) -> int:
        return hash(self._config())

    def __repr__(self) -> str:
        defaults = _DEFAULTS
        shown = [
            f"{name}={getattr(self, name)!r}"
            for name in OPTION_NAMES
            if getattr(self, name) != defaults.get(name)
        ]
        return f"CORSPolicy({', '.join(shown)})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CORSPolicy is immutable; build a new policy to change {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CORSPolicy is immutable")

    def replace(self, **changes: Any) -> CORSPolicy:
        """A new policy with some options changed (the original is left as it is)."""
        options = {name: getattr(self, name) for name in OPTION_NAMES}
        options["allow_origin_regex"] = self._regex
        options["allow_header_regex"] = self._header_regex
        options.update(changes)
        return policy_from_options(None, options)


_DEFAULTS: dict[str, object] = {
    "allow_origins": (),
    "allow_origin_regex": None,
    "allow_methods": ("GET", "HEAD", "POST"),
    "allow_headers": (),
    "expose_headers": (),
    "allow_credentials": False,
    "max_age": None,
    "allow_private_network": False,
    "preflight_status": 204,
    "origin_resolver": None,
    "allow_header_regex": None,
    "dangerously_reflect_any_origin": False,
}


def _describe(entry: ExactOrigin | SubdomainPattern | PortWildcard) -> str:
    if isinstance(entry, ExactOrigin):
        return entry.origin
    if isinstance(entry, PortWildcard):
        return f"{entry.scheme}://{entry.host}:*"
    port = ":*" if entry.any_port else (f":{entry.port}" if entry.port is not None else "")
    return f"{entry.scheme}://*.{entry.suffix}{port}"


def policy_from_options(policy: CORSPolicy | None, options: dict[str, Any]) -> CORSPolicy:
    """Resolve the ``policy=None, **options`` pair every adapter accepts into one policy.

    Unknown option names raise :class:`ConfigError` naming the closest valid one, so a typo
    like ``allow_origin=`` fails with a fix instead of a bare ``TypeError``.
    """
    if policy is not None:
        if options:
            raise ConfigError(
                [
                    Problem(
                        "policy",
                        policy,
                        "a policy and options were both given: " + ", ".join(sorted(options)),
                        "pass either policy=CORSPolicy(...) or the options, not both",
                    )
                ]
            )
        if not isinstance(policy, CORSPolicy):
            raise ConfigError(
                [Problem("policy", policy, "is not a CORSPolicy", "pass CORSPolicy(...)")]
            )
        return policy
    unknown = [name for name in options if name not in OPTION_NAMES]
    if unknown:
        import difflib

        problems = []
        for name in unknown:
            close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else ("valid options are " + ", ".join(OPTION_NAMES))
            )
            problems.append(Problem(name, options[name], "is not a CORS option", fix))
        raise ConfigError(problems)
    return CORSPolicy(**options)


_INLINE_FLAGS: Final = (
    (re.IGNORECASE, "i"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.VERBOSE, "x"),
)


def join_origin_regexes(
    option: str, patterns: Iterable[object], problems: list[Problem]
) -> str | None:
    """One ``allow_origin_regex`` from several (for integrations whose incumbents take lists).

    Each pattern becomes an alternative in its own group, its flags scoped to it, so the
    result still has full-match semantics per pattern. Returns None for an empty list.
    """
    parts: list[str] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            flags = "".join(letter for flag, letter in _INLINE_FLAGS if pattern.flags & flag)
            parts.append(f"(?{flags}:{pattern.pattern})")
        elif isinstance(pattern, str):
            parts.append(f"(?:{pattern})")
        else:
            problems.append(
                Problem(option, pattern, "is not a regular expression", "pass a str pattern")
            )
    if not parts:
        return None
    return parts[0][3:-1] if len(parts) == 1 and parts[0].startswith("(?:") else "|".join(parts)


StaticPath = tuple[
    Callable[..., Decision],
    Mapping[str | None, Decision],
    Callable[[str, str, str | None, str | None], Decision] | None,
]


def static_path(policy: CORSPolicy) -> StaticPath | None:
    """What an adapter calls per request for ``policy``: None when it has an origin resolver
    (adapters then await ``decide_async`` or call ``decide_blocking``).

    Otherwise ``(decide, by_origin, decide_preflight)``: for a plain :class:`CORSPolicy`,
    its table of non-preflight decisions by origin (consulted before ``decide``) and its
    preflight step; for a stand-in object with its own ``decide``, an empty table and no
    preflight step, so every request goes through that ``decide``. Adapters store the
    tuple in one attribute, so a concurrent request sees the old policy or the new one.
    """
    if getattr(policy, "has_resolver", False):
        return None
    if getattr(type(policy), "decide", None) is CORSPolicy.decide:
        return (policy.decide, policy._by_origin, policy._decide_preflight)
    return (policy.decide, {}, None)
