"""Flask integration: ``CORS(app, ...)``, per-blueprint policies and ``@cross_origin(...)``.

A drop-in replacement for Flask-CORS: the same names (``CORS``, ``cross_origin``), the same
option names and defaults (``origins='*'``, every requested header echoed), translated onto
one :class:`~crossorigin.CORSPolicy` each. Where Flask-CORS's meaning is a security hole
(``'*'`` or an over-matching regex with credentials) construction raises
:class:`~crossorigin.ConfigError` in Flask-CORS's own option names (see docs/migration.md).

Which policy applies to a request, most specific first: the view's ``@cross_origin``, then
the innermost blueprint given ``CORS(blueprint, ...)``, then the app's ``CORS(app, ...)``.
``resources`` rules are matched against the route Flask's router resolved for the request
(the path its URL rule builds from the matched arguments), never against a second reading
of the raw path: ``//api/admin/users`` is served by the ``/api/admin/users`` rule, so it
gets that rule's policy. A path no rule serves (404, 405, redirects) is matched as Flask
saw it, and only when it is canonical (no ``//``, ``.``/``..`` segment or backslash). A
request none of them covers gets no CORS headers at all.

Error responses carry the grant: error handlers, ``abort()`` and unhandled exceptions in
production go through Flask's normal response path, where the headers are added. In debug
and testing mode Flask re-raises unhandled exceptions instead; for cross-origin requests
the app's WSGI callable then answers a plain 500 carrying the grant (the traceback goes to
``app.logger``), because a script reading the response cannot use a debugger page anyway
(``intercept_exceptions=False`` lets the exception propagate, as Flask-CORS does).
Requests without ``Origin`` (a developer opening the URL) still reach the debugger.

How it runs: ``CORS(app)`` wraps ``app.wsgi_app``, which adds the headers as the response
starts, after every Flask hook (so the policy has the last word on ``Access-Control-*``
headers, and ``Vary`` is merged with the app's). When one app-wide policy covers every
request (no ``resources``, no blueprint or view has its own) the wrapper also decides, and
answers preflights before Flask runs; otherwise a ``before_request`` function decides once
Flask has routed the request. ``@cross_origin`` in an app without ``CORS(app)`` uses
``after_this_request``. Nothing is process-wide: an app without ``CORS(app)`` or
``@cross_origin`` runs none of this.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, TypeVar, cast
from urllib.parse import unquote

from flask import Blueprint, Flask, Request, after_this_request, current_app, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.datastructures import Headers
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from .decision import Decision, RequestKind, sanitize
from .errors import ConfigError, Problem
from .policy import CORSPolicy, join_origin_regexes
from .response import (
    _SPECIAL_FIRST,
    add_cors_str_headers,
    log_non_canonical,
    log_refusal,
    logger,
    merge_response_headers,
)
from .routes import Routes, is_canonical_path
from .wsgi import _status_line, decide_environ, wsgi_path

__all__ = ["CORS", "cross_origin", "policy_from_flask_cors"]

F = TypeVar("F", bound=Callable[..., Any])

_PENDING_KEY: Final = "crossorigin.pending"
_POLICY_ATTR: Final = "_crossorigin_policy"
_EXTENSION: Final = "crossorigin"
_PREFLIGHT: Final = RequestKind.PREFLIGHT
_ACTUAL: Final = RequestKind.ACTUAL
_NOT_CORS: Final = RequestKind.NOT_CORS
# Refusals are logged at DEBUG, usually disabled: checking that first saves the call.
_debug_enabled = logger.isEnabledFor
_DEBUG: Final = logging.DEBUG
# The Vary values policies produce, already decoded (others are decoded per request).
_VARY_TEXT: Final = {b"": "", b"Origin": "Origin"}

# Flask-CORS's defaults, kept so a migrated app allows the same methods as before.
FLASK_CORS_METHODS: Final = ("GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE")

# Flask-CORS told a regex string from a literal by these characters; so do we, except for
# the origin forms crossorigin itself defines (see _OUR_ORIGIN_FORM).
_REGEX_HINTS: Final = frozenset("*\\]?$^[()")
# 'https://*.example.com' (every subdomain), 'http://localhost:*' (every port) and IPv6
# literals: read as Flask-CORS regexes they match nothing their author meant (an unescaped
# dot, a prefix match), so they keep crossorigin's meaning.
_OUR_ORIGIN_FORM: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:\*\.)?(?:[^\s*\\\]?$^\[()/:]+|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?:[0-9]+|\*))?"
)

# Core option names -> Flask-CORS's, for problems the core reports (name and text).
_FLASK_NAMES: Final = {
    "allow_origins": "origins",
    "allow_origin_regex": "origins",
    "allow_methods": "methods",
    "allow_credentials": "supports_credentials",
    "allow_header_regex": "allow_headers",
}
_REFLECT: Final = "pass dangerously_reflect_any_origin=True"
_REFLECT_POLICY: Final = (
    "pass policy=CORSPolicy(dangerously_reflect_any_origin=True, allow_credentials=True)"
)
_CORE_NAME: Final = re.compile(r"\b(" + "|".join(_FLASK_NAMES) + r")\b")

# Browsers cap Access-Control-Max-Age (Firefox 86400 s, Chromium 7200 s): a larger value
# behaves exactly like this one, so it is capped rather than refused.
_MAX_AGE_CAP: Final = 86400

_POLICY_OPTIONS: Final = (
    "origins",
    "methods",
    "allow_headers",
    "expose_headers",
    "supports_credentials",
    "max_age",
    "allow_private_network",
    "send_wildcard",
)
_SWITCHES: Final = ("automatic_options", "intercept_exceptions", "vary_header", "always_send")
_ACCEPTED: Final = (*_POLICY_OPTIONS, *_SWITCHES)


class _Behaviour(NamedTuple):
    """Flask-CORS's switches, which shape the response rather than the grant."""

    passthrough: bool = False  # automatic_options=False: the app answers preflights
    intercept: bool = True  # intercept_exceptions
    vary: bool = True  # vary_header
    always_send: bool = True


_DEFAULT_BEHAVIOUR: Final = _Behaviour()


class _Entry:
    """One policy and the switches it was configured with."""

    __slots__ = ("behaviour", "policy")

    def __init__(self, policy: CORSPolicy, behaviour: _Behaviour) -> None:
        self.policy = policy
        self.behaviour = behaviour


class _Rules:
    """``resources``: a :class:`Routes` table, and the entry behind each rule's policy."""

    __slots__ = ("_entries", "routes")

    def __init__(self, rules: list[tuple[Any, _Entry]]) -> None:
        self.routes = Routes([(p, entry.policy) for p, entry in rules]) if rules else None
        # Keyed by identity: two rules may hold equal policies with different switches.
        self._entries = {id(entry.policy): entry for _, entry in rules}

    def entry_for(self, path: str) -> _Entry | None:
        policy = None if self.routes is None else self.routes.policy_for(path)
        return None if policy is None else self._entries[id(policy)]


Selector = _Entry | _Rules
# What a decided request leaves for its response: the headers to add, the Vary tokens, and
# whether an exception Flask re-raises is answered with a 500 carrying them.
_Pending = tuple[Sequence[tuple[str, str]], str, bool]


def policy_from_flask_cors(options: Mapping[str, Any]) -> CORSPolicy:
    """Translate Flask-CORS options (without ``resources``) into one :class:`CORSPolicy`."""
    return _entry(options).policy


def _entry(options: Mapping[str, Any]) -> _Entry:
    problems: list[Problem] = []
    kwargs: dict[str, Any] = {}
    switches: dict[str, bool] = {}
    for name, value in options.items():
        if name in ("origins", "allow_headers", "send_wildcard"):
            continue  # below; send_wildcard only chose '*' or an echo, alike for browsers
        if name == "methods":
            kwargs["allow_methods"] = tuple(
                m.upper() if isinstance(m, str) else m for m in _entries(value, split=True)
            )
        elif name == "expose_headers":
            kwargs["expose_headers"] = () if value is None else _entries(value, split=True)
        elif name == "supports_credentials":
            kwargs["allow_credentials"] = bool(value)
        elif name == "allow_private_network":
            kwargs["allow_private_network"] = bool(value)
        elif name == "max_age":
            kwargs["max_age"] = _max_age(value)
        elif name in _SWITCHES:
            switches[name] = bool(value)
        else:
            close = difflib.get_close_matches(name, (*_ACCEPTED, "resources"), n=1)
            problems.append(
                Problem(
                    name,
                    value,
                    "is not a Flask-CORS option (Flask-CORS only logged a warning, so a typo "
                    "silently fell back to its defaults, such as origins='*')",
                    f"did you mean {close[0]!r}?"
                    if close
                    else "use one of " + ", ".join((*_ACCEPTED, "resources", "policy")),
                )
            )
    kwargs.setdefault("allow_methods", FLASK_CORS_METHODS)
    credentials = kwargs.get("allow_credentials", False)

    given_origins = options.get("origins", "*")
    literal, regexes = _split_regexes(given_origins, _is_origin_regex)
    kwargs["allow_origins"] = literal
    if credentials and "*" in literal:
        problems.append(
            Problem(
                "origins",
                given_origins,
                ("Flask-CORS's default " if "origins" not in options else "")
                + "'*' cannot be combined with supports_credentials=True: Flask-CORS then "
                "reflected every origin with credentials, so any website could read your "
                "users' data",
                "pass origins=['https://app.example.com', ...] (the sites that send "
                "credentials), or drop supports_credentials for public data (to reflect "
                "every origin anyway, knowing what it exposes: "
                + _REFLECT_POLICY.removeprefix("pass ")
                + ")",
            )
        )
        literal[:] = [entry for entry in literal if entry != "*"]
    kwargs["allow_origin_regex"] = _joined_regexes(
        "origins",
        regexes,
        problems,
        lambda r: {"allow_origin_regex": r, "allow_credentials": credentials},
    )

    headers, header_regexes = _split_regexes(options.get("allow_headers", "*"), _is_regex)
    kwargs["allow_headers"] = headers
    header_regex = _joined_regexes(
        "allow_headers",
        header_regexes,
        problems,
        lambda r: {"allow_origins": "*", "allow_header_regex": r},
    )
    if header_regex is not None:
        kwargs["allow_header_regex"] = header_regex

    try:
        policy = CORSPolicy(**kwargs)
    except ConfigError as error:
        origins_reported = any(p.option == "origins" for p in problems)
        for p in error.problems:
            if p.option == "allow_origins" and p.value is literal:
                if origins_reported:
                    continue  # "allows no origin" only because a regex was refused
                problems.append(_in_flask_names(p, given_origins))
            else:
                problems.append(_in_flask_names(p, p.value))
    if problems:
        raise ConfigError(problems)
    behaviour = _Behaviour(
        passthrough=not switches.get("automatic_options", True),
        intercept=switches.get("intercept_exceptions", True),
        vary=switches.get("vary_header", True),
        always_send=switches.get("always_send", True),
    )
    return _Entry(policy, behaviour if behaviour != _DEFAULT_BEHAVIOUR else _DEFAULT_BEHAVIOUR)


def _in_flask_names(problem: Problem, value: object) -> Problem:
    """A core problem reworded with Flask-CORS's option names."""

    def rename(text: str) -> str:
        text = _CORE_NAME.sub(lambda m: _FLASK_NAMES[m[1]], text)
        # The escape hatch is no Flask-CORS option: say how to reach it from here.
        return text.replace(_REFLECT, _REFLECT_POLICY)

    return Problem(
        _FLASK_NAMES.get(problem.option, problem.option),
        value,
        rename(problem.message),
        rename(problem.fix),
    )


def _entries(value: object, *, split: bool = False) -> list[Any]:
    """A single value as one entry, any other iterable as its entries; with ``split``, a
    comma-separated string as its items (Flask-CORS sent such strings as they were)."""
    if isinstance(value, str):
        if split and "," in value:
            return [item.strip() for item in value.split(",") if item.strip()]
        return [value]
    if isinstance(value, bytes | re.Pattern) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _max_age(value: object) -> object:
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds())
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0:
            return None  # Flask-CORS sent no header for 0
        if value > _MAX_AGE_CAP:
            return _MAX_AGE_CAP
    return value


def _is_regex(entry: object) -> bool:
    if isinstance(entry, re.Pattern):
        return True
    return isinstance(entry, str) and entry != "*" and not _REGEX_HINTS.isdisjoint(entry)


def _wildcard(entry: object) -> object:
    """Flask-CORS read ``'.*'`` exactly as ``'*'`` (its own spelling of the wildcard)."""
    return "*" if entry == ".*" else entry


def _is_origin_regex(entry: object) -> bool:
    return _is_regex(entry) and not (
        isinstance(entry, str) and _OUR_ORIGIN_FORM.fullmatch(entry) is not None
    )


def _split_regexes(
    value: object, is_regex: Callable[[object], bool]
) -> tuple[list[Any], list[Any]]:
    entries = [_wildcard(entry) for entry in _entries(value)]
    return [e for e in entries if not is_regex(e)], [e for e in entries if is_regex(e)]


def _joined_regexes(
    option: str,
    regexes: list[Any],
    problems: list[Problem],
    alone: Callable[[Any], dict[str, Any]],
) -> str | None:
    """One regex for the core from Flask-CORS's list. Strings are compiled case-insensitive,
    as Flask-CORS compiled them. Each is first checked on its own (``alone`` gives a
    policy's options holding just it), so a refusal names the regex the user wrote."""
    if not regexes:
        return None
    compiled = [_compile_insensitive(regex) for regex in regexes]
    failed = False
    for regex, written in zip(compiled, regexes, strict=True):
        try:
            CORSPolicy(**alone(regex))
        except ConfigError as error:
            for p in error.problems:
                if p.option in ("allow_origin_regex", "allow_header_regex"):
                    failed = True
                    problems.append(_in_flask_names(p, written))
    if failed:
        return None
    return join_origin_regexes(option, compiled, problems)


def _compile_insensitive(regex: object) -> object:
    if not isinstance(regex, str):
        return regex
    try:
        return re.compile(regex, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError):
        return regex  # the core reports it, with the reason


def _resource_patterns(resources: object) -> list[tuple[object, object]] | None:
    """Flask-CORS's ``resources`` shapes as (pattern, options) pairs; None if none fits."""
    if isinstance(resources, str | re.Pattern):
        return [(resources, {})]
    if isinstance(resources, Mapping):
        # Flask-CORS 6 applies a dict's rules in this order whatever the order written:
        # literal paths, then compiled regexes, then regex strings; within each, more
        # slashes first, then longer. (Its fix for CVE-2024-6839, kept as it is.)
        def specificity(pair: tuple[object, object]) -> tuple[int, int, int, int]:
            key = pair[0]
            if isinstance(key, re.Pattern):
                text = str(key.pattern)
                return (1, 0, -text.count("/"), -len(text))
            text = "/*" if key == "*" else str(key)
            kind = (1, 1) if _is_regex(text) else (0, 0)
            return (*kind, -text.count("/"), -len(text))

        return sorted(resources.items(), key=specificity)
    if isinstance(resources, Iterable) and not isinstance(resources, bytes):
        return [(pattern, {}) for pattern in resources]
    return None


def _resource_rule(pattern: object) -> object:
    """A resource key as a :class:`Routes` pattern, with Flask-CORS's meaning.

    Literal paths and ``/prefix/*`` globs are Routes' own (a glob covers the prefix and the
    paths below it, never ``/prefixed-sibling``). Any other regex, string or compiled,
    matched the start of the path in Flask-CORS (``re.match``): the same here, on the path
    of the route Flask resolved.
    """
    if pattern == "*":
        return "/*"  # Flask-CORS's spelling of "every path"
    if isinstance(pattern, str):
        glob = pattern[:-2] if pattern.endswith("/*") else None
        if not _is_regex(pattern) or (glob is not None and not _is_regex(glob)):
            return pattern
        source, flags = pattern, 0
    elif isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
        source, flags = pattern.pattern, pattern.flags
    else:
        return pattern  # Routes reports it
    try:
        re.compile(source, flags)
        return re.compile(f"(?:{source})(?s:.*)", flags)
    except (re.error, OverflowError, RecursionError) as error:
        raise ConfigError(
            [
                Problem(
                    "resources",
                    pattern,
                    f"is not a valid regular expression ({error})",
                    "write a path glob such as '/api/*', or a valid Python regex",
                )
            ]
        ) from None


def _selector(options: Mapping[str, Any]) -> Selector:
    """The app's (or a blueprint's) policy, or its ``resources`` rule table."""
    options = dict(options)
    policy = options.pop("policy", None)
    resources = options.pop("resources", None)
    if policy is not None:
        if options or resources is not None:
            raise ConfigError(
                [
                    Problem(
                        "policy",
                        policy,
                        "a policy and Flask-CORS options were both given: "
                        + ", ".join(sorted([*options, *(["resources"] if resources else [])])),
                        "pass policy=CORSPolicy(...) or the options, not both",
                    )
                ]
            )
        if not isinstance(policy, CORSPolicy):
            raise ConfigError(
                [Problem("policy", policy, "is not a CORSPolicy", "pass CORSPolicy(...)")]
            )
        return _Entry(policy, _DEFAULT_BEHAVIOUR)
    if resources is None:
        return _entry(options)
    pairs = _resource_patterns(resources)
    if pairs is None:
        raise ConfigError(
            [
                Problem(
                    "resources",
                    resources,
                    "is not a path pattern, a list of them, or a dict of them to options",
                    "write resources=r'/api/*', resources=['/api/*'] or "
                    "resources={r'/api/*': {'origins': ['https://app.example.com']}}",
                )
            ]
        )
    rules: list[tuple[Any, _Entry]] = []
    problems: list[Problem] = []
    for pattern, overrides in pairs:
        try:
            key = _resource_rule(pattern)
            if isinstance(key, str) and not key.startswith("/"):
                # Flask-CORS compared such a literal with paths, which all start with '/':
                # it never matched. Said once, at startup, rather than refused.
                logger.warning(
                    "resources key %r matches no path (paths start with '/'); ignored", key
                )
                continue
            if isinstance(overrides, CORSPolicy):
                rules.append((key, _Entry(overrides, _DEFAULT_BEHAVIOUR)))
            elif isinstance(overrides, Mapping):
                rules.append((key, _entry({**options, **overrides})))
            else:
                raise ConfigError(
                    [
                        Problem(
                            "resources",
                            overrides,
                            "a resource's value must be a dict of options",
                            "write {pattern: {'origins': [...]}}, or {} for the shared options",
                        )
                    ]
                )
        except ConfigError as error:
            problems.extend(
                Problem(
                    f"resources[{pattern!r}]" + ("" if p.option == "resources" else f".{p.option}"),
                    p.value,
                    p.message,
                    p.fix,
                )
                for p in error.problems
            )
    if problems:
        raise ConfigError(problems)
    try:
        return _Rules(rules)
    except ConfigError as error:
        raise ConfigError(
            [Problem("resources", p.value, p.message, p.fix) for p in error.problems]
        ) from None


def _config_options(app: Flask) -> dict[str, Any]:
    """Flask-CORS's ``CORS_*`` app config keys, as defaults for ``CORS(app)`` (a key set to
    None counts as unset, as in Flask-CORS)."""
    names = (*_ACCEPTED, "resources")
    return {
        name: app.config[f"CORS_{name.upper()}"]
        for name in names
        if app.config.get(f"CORS_{name.upper()}") is not None
    }


class CORS:
    """Flask-CORS's extension object: ``CORS(app, **options)`` or ``CORS(**options)`` then
    ``init_app(app)``. ``app`` may also be a :class:`flask.Blueprint` for a policy that
    covers only that blueprint's views (call it before ``app.register_blueprint``).

    Options are Flask-CORS's (``origins``, ``methods``, ``resources``...) or ``policy=``, a
    ready :class:`~crossorigin.CORSPolicy`. ``CORS_*`` app config keys give defaults.
    """

    def __init__(self, app: Flask | Blueprint | None = None, **options: Any) -> None:
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask | Blueprint, **options: Any) -> None:
        """Install on ``app`` (a Flask app or a blueprint), ``options`` overriding."""
        if isinstance(app, Blueprint):
            selector = _selector({**self._options, **options})

            def register(state: BlueprintSetupState) -> None:
                name = f"{state.name_prefix}.{state.name}".lstrip(".")
                _install(cast(Flask, state.app)).set_blueprint(name, selector)

            app.record(register)
            return
        selector = _selector({**_config_options(app), **self._options, **options})
        _install(app).app_selector = selector


def cross_origin(**options: Any) -> Callable[[F], F]:
    """Give one view its own policy (Flask-CORS's decorator, same option names).

    Works with or without ``CORS(app)``. Put it below ``@app.route``.
    """
    selector = _selector(options)
    if not isinstance(selector, _Entry):
        raise ConfigError(
            [
                Problem(
                    "resources",
                    options.get("resources"),
                    "a single view has no per-path resources",
                    "remove resources, or use CORS(app, resources=...)",
                )
            ]
        )
    entry = selector
    passthrough = entry.behaviour.passthrough

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
            app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
            answered = _decide(entry, req, app)
            if answered is not None:
                return answered
            if _EXTENSION not in app.extensions:
                # Without CORS(app) no WSGI wrapper adds the headers: this request's own
                # after-request function does (error responses included).
                after_this_request(_add_headers)
            if req.method == "OPTIONS" and not passthrough:
                # Flask's own automatic answer, since the rule now routes OPTIONS here.
                return app.make_default_options_response()
            return app.ensure_sync(view)(*args, **kwargs)

        if not passthrough:
            # Route OPTIONS to the wrapper so it can answer preflights itself.
            wrapper.provide_automatic_options = False  # type: ignore[attr-defined]
            wrapper.required_methods = {  # type: ignore[attr-defined]
                *getattr(view, "required_methods", ()),
                "OPTIONS",
            }
        setattr(wrapper, _POLICY_ATTR, entry)
        return wrapper  # type: ignore[return-value]

    return decorate


# --- machinery shared by the three entry points ----------------------------------------------


class _State:
    """Per-app state: the app-wide selector, the per-blueprint ones, and which of them
    covers each endpoint (worked out on an endpoint's first request, then looked up).

    When one app-wide policy covers every request (no resources, no blueprint or view has
    its own), the WSGI wrapper decides each request by itself and the before_request hook
    is removed: a Flask hook costs more than the whole decision.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._app_selector: Selector | None = None
        self._blueprints: dict[str, Selector] = {}
        # Endpoint (None: no rule matched) -> its selector, None when nothing covers it or
        # its view's @cross_origin decides. Flask refuses new routes and blueprints once
        # serving has begun, so an entry only goes stale when a selector changes.
        self._by_endpoint: dict[str | None, Selector | None] = {}
        # A rule without arguments always builds the same path. Keyed by identity (rules
        # are unhashable); the rule is kept with its path so the id stays its own.
        self._rule_paths: dict[int, tuple[Rule, str | None]] = {}
        # Set on the first request (every route and blueprint is registered by then):
        # the entry the WSGI wrapper applies, or None when the hook decides.
        self.resolved = False
        self.wsgi_entry: _Entry | None = None
        # Its policy when it needs nothing but one decide() call per request.
        self.static_policy: CORSPolicy | None = None

    @property
    def app_selector(self) -> Selector | None:
        return self._app_selector

    @app_selector.setter
    def app_selector(self, selector: Selector) -> None:
        self._app_selector = selector
        self._changed()

    def set_blueprint(self, name: str, selector: Selector) -> None:
        self._blueprints[name] = selector
        self._changed()

    def _changed(self) -> None:
        self._by_endpoint = {}
        self.resolved = False

    def resolve(self) -> None:
        """Choose who decides: the WSGI wrapper alone, or the hook per endpoint."""
        app = self.app
        selector = self._app_selector
        alone = (
            isinstance(selector, _Entry)
            and not self._blueprints
            and not any(hasattr(view, _POLICY_ATTR) for view in app.view_functions.values())
        )
        hook = self.before_request
        funcs = app.before_request_funcs[None]
        # New lists rather than edits: a concurrent request may be iterating the old one.
        if alone:
            if hook in funcs:
                others = [f for f in funcs if f != hook]
                if others:
                    app.before_request_funcs[None] = others
                else:  # as if CORS(app) had never registered one
                    del app.before_request_funcs[None]
        elif hook not in funcs:  # only after CORS(app) is called again once serving began
            app.before_request_funcs[None] = [*funcs, hook]
        entry = selector if alone and isinstance(selector, _Entry) else None
        self.wsgi_entry = entry
        self.static_policy = (
            entry.policy
            if entry is not None
            and entry.behaviour is _DEFAULT_BEHAVIOUR
            and not entry.policy.has_resolver
            else None
        )
        self.resolved = True

    def _selector_for(self, endpoint: str | None, blueprints: list[str]) -> Selector | None:
        view = self.app.view_functions.get(endpoint or "")
        if view is not None and hasattr(view, _POLICY_ATTR):
            return None  # the view's own @cross_origin decides
        for name in blueprints:
            selector = self._blueprints.get(name)
            if selector is not None:
                return selector
        return self._app_selector

    def before_request(self) -> Response | None:
        # One trip through the ``request`` proxy; attributes of the real object are cheap.
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        endpoint = None if rule is None else rule.endpoint
        by_endpoint = self._by_endpoint
        try:
            selector = by_endpoint[endpoint]
        except KeyError:
            selector = by_endpoint[endpoint] = self._selector_for(endpoint, req.blueprints)
        if selector is None:
            return None
        if isinstance(selector, _Entry):
            entry: _Entry | None = selector
        else:
            path = self.routed_path(req, rule)
            if path is None:
                if req.headers.get("Origin") is not None and _debug_enabled(_DEBUG):
                    log_non_canonical(
                        req.method == "OPTIONS" and "Access-Control-Request-Method" in req.headers,
                        req.method,
                        req.path,
                    )
                return None
            entry = selector.entry_for(path)
        if entry is None:
            return None
        return _decide(entry, req, self.app)

    def routed_path(self, req: Request, rule: Rule | None) -> str | None:
        """The path of the route Flask's router resolved for ``req`` (built from its URL
        rule and arguments), or the path Flask routed on when no rule matched; None when
        that path is not canonical."""
        if rule is None:
            path: str | None = req.path
        else:
            cached = self._rule_paths.get(id(rule))
            if cached is not None and cached[0] is rule:
                path = cached[1]
            else:
                path = _built_path(rule, req.view_args or {})
                if not rule.arguments:
                    self._rule_paths[id(rule)] = (rule, path)
        return path if path and is_canonical_path(path) else None


def _built_path(rule: Rule, view_args: Mapping[str, Any]) -> str | None:
    try:
        built = rule.build(view_args, append_unknown=False)
    except Exception:  # a converter refusing its own value: trust nothing
        return None
    return None if built is None else unquote(built[1])


def _install(app: Flask) -> _State:
    state = app.extensions.get(_EXTENSION)
    if state is None:
        state = app.extensions[_EXTENSION] = _State(app)
        app.before_request(state.before_request)
        app.wsgi_app = _Grant(app.wsgi_app, state)  # type: ignore[method-assign]
    assert isinstance(state, _State)
    return state


def _decide(entry: _Entry, req: Request, app: Flask) -> Response | None:
    """Decide ``req``: the preflight answer, or None with the response's headers left in
    the environ (actual requests, and preflights the app answers itself)."""
    environ = req.environ
    decision = decide_environ(entry.policy, req.method, environ)
    if not decision.allowed and _debug_enabled(_DEBUG):
        log_refusal(decision, req.method, req.path)
    behaviour = entry.behaviour
    if decision.kind is _PREFLIGHT and not behaviour.passthrough:
        response = app.response_class(status=decision.status)
        _apply(response.headers, _preflight_headers(decision, behaviour), "")
        return response
    environ[_PENDING_KEY] = _pending(decision, behaviour)
    return None


def _pending(decision: Decision, behaviour: _Behaviour) -> _Pending:
    headers: Sequence[tuple[str, str]] = decision.str_headers
    if behaviour is _DEFAULT_BEHAVIOUR:
        return headers, _vary(decision), decision.kind is _ACTUAL
    vary = _vary(decision)
    if decision.kind is _NOT_CORS and not behaviour.always_send:
        # Nothing for requests without Origin (Flask-CORS's always_send=False); Vary: Origin
        # keeps a cache from serving this header-less answer to a cross-origin request.
        headers, vary = (), "Origin"
    if not behaviour.vary:
        headers, vary = _without_vary(headers), ""
    return headers, vary, behaviour.intercept and decision.kind is _ACTUAL


def _preflight_headers(decision: Decision, behaviour: _Behaviour) -> Sequence[tuple[str, str]]:
    headers = decision.str_headers
    return headers if behaviour.vary else _without_vary(headers)


def _without_vary(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in headers if pair[0].lower() != "vary")


def _add_headers(response: Response) -> Response:
    """``@cross_origin``'s after_this_request function in an app without ``CORS(app)``:
    the grant for the response, error responses included."""
    pending: _Pending | None = request.environ.pop(_PENDING_KEY, None)
    if pending is not None:
        _apply(response.headers, pending[0], pending[1])
    return response


def _vary(decision: Decision) -> str:
    vary = _VARY_TEXT.get(decision.vary)
    return decision.vary.decode("latin-1") if vary is None else vary


def _apply(headers: Headers, cors_headers: Sequence[tuple[str, str]], vary: str) -> None:
    """Add the decision's headers to ``headers`` in place.

    Most responses have no ``Access-Control-*`` or ``Vary`` header of their own (one look at
    each name's first character proves it): ours are then only appended. Otherwise the
    core's merge decides the whole list, which replaces the old one.
    """
    for name, _ in headers:
        if not name or name[0] in _SPECIAL_FIRST:
            merged = merge_response_headers(list(headers), cors_headers, vary)
            headers.clear()
            headers.extend(merged)
            return
    headers.extend(cors_headers)
    if vary:
        headers.add("Vary", vary)


_ERROR_BODY: Final = b"Internal Server Error"
_STATUS_LINES: dict[int, str] = {}


class _Grant:
    """Around ``app.wsgi_app``: decides the request itself when one app-wide policy covers
    every request (see :class:`_State`), adds the decision's headers as the response
    starts, and answers the 500 for an exception Flask re-raises (debug/testing).

    At the WSGI level rather than in an after_request function: Flask has finished the
    response then (the app's own hooks and the session's ``Vary: Cookie`` included, so the
    policy has the last word), and it costs far less than a Flask hook.
    """

    __slots__ = ("app", "state", "wsgi_app")

    def __init__(self, wsgi_app: Callable[..., Any], state: _State) -> None:
        self.wsgi_app = wsgi_app
        self.state = state
        self.app = state.app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        state = self.state
        if not state.resolved:
            state.resolve()
        # Decided here when the wrapper decides alone; otherwise by the hook (or by
        # @cross_origin), which leaves what to add in the environ.
        pending: _Pending | None = None
        decided: Decision | None = None
        cors_headers: Sequence[tuple[str, str]] = ()
        vary = ""
        policy = state.static_policy
        if policy is not None:
            decided = policy.decide(
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("HTTP_ORIGIN"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
            )
            if decided.kind is _PREFLIGHT:
                return self._answer_preflight(decided, decided.str_headers, environ, start_response)
            if not decided.allowed and _debug_enabled(_DEBUG):
                log_refusal(decided, environ.get("REQUEST_METHOD", ""), wsgi_path(environ))
            cors_headers = decided.str_headers
            vary = _vary(decided)
        elif state.wsgi_entry is not None:
            entry = state.wsgi_entry
            found = decide_environ(entry.policy, environ.get("REQUEST_METHOD", "GET"), environ)
            if found.kind is _PREFLIGHT and not entry.behaviour.passthrough:
                headers = _preflight_headers(found, entry.behaviour)
                return self._answer_preflight(found, headers, environ, start_response)
            if not found.allowed and _debug_enabled(_DEBUG):
                log_refusal(found, environ.get("REQUEST_METHOD", ""), wsgi_path(environ))
            pending = _pending(found, entry.behaviour)
            cors_headers, vary = pending[0], pending[1]
        start_response_with_cors: Callable[..., Any]
        if decided is not None or pending is not None:

            def start_response_with_cors(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                return start_response(
                    status, add_cors_str_headers(headers, cors_headers, vary), exc_info
                )

        else:

            def start_response_with_cors(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                left: _Pending | None = environ.pop(_PENDING_KEY, None)
                if left is not None:
                    headers = add_cors_str_headers(headers, left[0], left[1])
                return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_response_with_cors)
        except Exception:
            if decided is not None:
                pending = (cors_headers, vary, decided.kind is _ACTUAL)
            elif pending is None:
                pending = environ.pop(_PENDING_KEY, None)
            if pending is None or not pending[2]:
                raise
            # Request values are quoted (sanitize): a path can carry a newline or a quote
            # that would otherwise forge a log line.
            self.app.logger.error(
                "Exception on %s [%s]",
                sanitize(wsgi_path(environ), 200),
                sanitize(str(environ.get("REQUEST_METHOD", "")), 20),
                exc_info=sys.exc_info(),
            )
            headers = merge_response_headers(
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(_ERROR_BODY))),
                ],
                pending[0],
                pending[1],
            )
            # No exc_info: Flask calls start_response only after dispatch succeeded, so
            # nothing was started, and some servers (and test clients) re-raise exc_info.
            start_response("500 INTERNAL SERVER ERROR", headers)
            return [_ERROR_BODY]

    @staticmethod
    def _answer_preflight(
        decision: Decision,
        cors_headers: Sequence[tuple[str, str]],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> list[bytes]:
        """Before Flask runs at all: the preflight is the policy's alone to answer."""
        if not decision.allowed:
            log_refusal(decision, "OPTIONS", wsgi_path(environ))
        headers = list(cors_headers)
        if decision.status != 204:
            headers.append(("Content-Length", "0"))
        status = decision.status
        line = _STATUS_LINES.get(status)
        if line is None:
            line = _STATUS_LINES[status] = _status_line(status)
        start_response(line, headers)
        return []
