"""Flask integration: ``CORS(app, ...)``, per-blueprint policies and ``@cross_origin(...)``.

A drop-in replacement for Flask-CORS: the same names (``CORS``, ``cross_origin``) and the
same option names, translated onto one :class:`~crossorigin.CORSPolicy` each. Options whose
Flask-CORS meaning is insecure or cannot be honoured raise :class:`~crossorigin.ConfigError`
naming the safe equivalent (see docs/migration.md).

Which policy applies to a request, most specific first: the view's ``@cross_origin``, then
the innermost blueprint given ``CORS(blueprint, ...)``, then the app's ``CORS(app, ...)``
(its ``resources`` rules in declared order, see :mod:`crossorigin.routes`). A request none
of them covers gets no CORS headers at all.

Error responses carry the grant: error handlers, ``abort()`` and unhandled exceptions in
production go through Flask's normal response path, where the headers are added. In debug
and testing mode Flask re-raises unhandled exceptions instead; for cross-origin requests
the app's WSGI callable then answers a plain 500 carrying the grant (the traceback goes to
``app.logger``), because a script reading the response cannot use a debugger page anyway.
Requests without ``Origin`` (a developer opening the URL) still reach the debugger.

How it runs: ``CORS(app)`` wraps ``app.wsgi_app``, which adds the headers as the response
starts, after every Flask hook (so the policy has the last word on ``Access-Control-*``
headers, and ``Vary`` is merged with the app's). When the app-wide policy covers every
request (no blueprint or view has its own) the wrapper also decides, and answers
preflights before Flask runs; otherwise a ``before_request`` function decides per
endpoint. ``@cross_origin`` in an app without ``CORS(app)`` uses ``after_this_request``.
Nothing is process-wide: an app without ``CORS(app)`` or ``@cross_origin`` runs none of this.
"""

from __future__ import annotations

import datetime
import functools
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar, cast

from flask import Blueprint, Flask, Request, after_this_request, current_app, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response

from .decision import Decision, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy, join_origin_regexes
from .response import (
    _SPECIAL_FIRST,
    add_cors_str_headers,
    log_refusal,
    logger,
    merge_response_headers,
)
from .routes import Routes
from .wsgi import _status_line, decide_environ, wsgi_path

__all__ = ["CORS", "cross_origin", "policy_from_flask_cors"]

F = TypeVar("F", bound=Callable[..., Any])
Selector = CORSPolicy | Routes

_DECISION_KEY: Final = "crossorigin.decision"
_POLICY_ATTR: Final = "_crossorigin_policy"
_EXTENSION: Final = "crossorigin"
_PREFLIGHT: Final = RequestKind.PREFLIGHT
# Refusals are logged at DEBUG, usually disabled: checking that first saves the call.
_debug_enabled = logger.isEnabledFor
_DEBUG: Final = logging.DEBUG
# The Vary values policies produce, already decoded (others are decoded per request).
_VARY_TEXT: Final = {b"": "", b"Origin": "Origin"}

# Flask-CORS's defaults, kept so a migrated app allows the same methods as before.
FLASK_CORS_METHODS: Final = ("GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE")

# Flask-CORS option name -> CORSPolicy option name, for those that translate one to one.
_RENAMES: Final = {
    "methods": "allow_methods",
    "allow_headers": "allow_headers",
    "expose_headers": "expose_headers",
    "supports_credentials": "allow_credentials",
    "max_age": "max_age",
    "allow_private_network": "allow_private_network",
}
_BACK: Final = {ours: theirs for theirs, ours in _RENAMES.items()} | {
    "allow_origins": "origins",
    "allow_origin_regex": "origins",
}

# Flask-CORS options that only have one value we can honour; the other is refused.
_FIXED: Final = {
    "vary_header": (
        True,
        "without Vary: Origin a shared cache serves one origin's answer to another "
        "(wrong denials, or leaks)",
        "remove vary_header: Vary is always sent when the answer depends on the origin",
    ),
    "automatic_options": (
        True,
        "preflights are always answered by crossorigin, never by the view",
        "remove automatic_options; plain OPTIONS requests (no Access-Control-Request-Method) "
        "still reach your view",
    ),
    "intercept_exceptions": (
        True,
        "error responses always carry the grant, so the browser shows the real error",
        "remove intercept_exceptions",
    ),
    "always_send": (
        True,
        "Vary: Origin (and '*' for public policies) is sent on every response of a covered "
        "route, with or without Origin, so caches stay correct",
        "remove always_send",
    ),
}
_ACCEPTED: Final = (
    "origins",
    *_RENAMES,
    "send_wildcard",
    *_FIXED,
)


def policy_from_flask_cors(options: Mapping[str, Any]) -> CORSPolicy:
    """Translate Flask-CORS options (without ``resources``) into one :class:`CORSPolicy`."""
    problems: list[Problem] = []
    kwargs: dict[str, Any] = {}
    for name, value in options.items():
        if name in _RENAMES:
            kwargs[_RENAMES[name]] = value
        elif name in _FIXED:
            expected, why, fix = _FIXED[name]
            if value is not expected:
                problems.append(Problem(name, value, why, fix))
        elif name not in ("origins", "send_wildcard"):
            problems.append(
                Problem(
                    name,
                    value,
                    "is not a Flask-CORS option crossorigin.flask understands",
                    "use one of " + ", ".join((*_ACCEPTED, "resources", "policy")),
                )
            )
    # send_wildcard only chose between '*' and echoing the origin for origins='*'; browsers
    # treat both alike for non-credentialed requests, so either value is honoured.
    if "origins" not in options:
        problems.append(
            Problem(
                "origins",
                None,
                "Flask-CORS allows every origin by default; crossorigin has no default allow-list",
                "pass origins='*' for public data, or the list of origins that call you",
            )
        )
    else:
        origins = options["origins"]
        entries = [origins] if isinstance(origins, str | bytes) else list(_iterable(origins))
        kwargs["allow_origins"] = [e for e in entries if not _is_regex(e)]
        kwargs["allow_origin_regex"] = join_origin_regexes(
            "origins", [e for e in entries if _is_regex(e)], problems
        )
    kwargs.setdefault("allow_methods", FLASK_CORS_METHODS)
    if isinstance(kwargs.get("max_age"), datetime.timedelta):
        kwargs["max_age"] = int(kwargs["max_age"].total_seconds())
    if "allow_headers" not in kwargs:
        if kwargs.get("allow_credentials") is True:
            problems.append(
                Problem(
                    "allow_headers",
                    None,
                    "Flask-CORS echoes every requested header by default, but a wildcard "
                    "is not valid for credentialed requests",
                    "list the request headers your clients send, e.g. "
                    "allow_headers=['Content-Type', 'Authorization']",
                )
            )
        else:
            kwargs["allow_headers"] = "*"
    try:
        policy = CORSPolicy(**kwargs)
    except ConfigError as error:
        problems.extend(
            Problem(_BACK.get(p.option, p.option), p.value, p.message, p.fix)
            for p in error.problems
        )
    if problems:
        raise ConfigError(problems)
    return policy


def _iterable(value: object) -> Iterable[object]:
    return value if isinstance(value, Iterable) else (value,)


def _is_regex(entry: object) -> bool:
    return isinstance(entry, re.Pattern)


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
        return policy
    if resources is None:
        return policy_from_flask_cors(options)
    if isinstance(resources, str):
        resources = [resources]
    rules: list[tuple[Any, CORSPolicy]] = []
    problems: list[Problem] = []
    items = resources.items() if isinstance(resources, Mapping) else ((r, {}) for r in resources)
    for pattern, overrides in items:
        if pattern == "*":
            pattern = "/*"  # Flask-CORS's spelling of "every path"
        try:
            if isinstance(overrides, CORSPolicy):
                rules.append((pattern, overrides))
            else:
                rules.append((pattern, policy_from_flask_cors({**options, **overrides})))
        except ConfigError as error:
            problems.extend(
                Problem(f"resources[{pattern!r}].{p.option}", p.value, p.message, p.fix)
                for p in error.problems
            )
    if problems:
        raise ConfigError(problems)
    return Routes(rules)


def _config_options(app: Flask) -> dict[str, Any]:
    """Flask-CORS's ``CORS_*`` app config keys, as defaults for ``CORS(app)``."""
    names = (*_ACCEPTED, "resources")
    return {
        name: app.config[f"CORS_{name.upper()}"]
        for name in names
        if f"CORS_{name.upper()}" in app.config
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
    if not isinstance(selector, CORSPolicy):
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
    policy = selector

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
            decision = _decide(policy, req)
            if decision.kind is _PREFLIGHT:
                return _preflight_response(current_app, decision)
            if _EXTENSION not in current_app.extensions:
                # Without CORS(app) no WSGI wrapper adds the headers: this request's own
                # after-request function does (error responses included).
                after_this_request(_add_headers)
            if req.method == "OPTIONS":
                # Flask's own automatic answer, since the rule now routes OPTIONS here.
                return current_app.make_default_options_response()
            return current_app.ensure_sync(view)(*args, **kwargs)

        # Route OPTIONS to the wrapper so it can answer preflights itself.
        wrapper.provide_automatic_options = False  # type: ignore[attr-defined]
        wrapper.required_methods = {  # type: ignore[attr-defined]
            *getattr(view, "required_methods", ()),
            "OPTIONS",
        }
        setattr(wrapper, _POLICY_ATTR, policy)
        return wrapper  # type: ignore[return-value]

    return decorate


# --- machinery shared by the three entry points ----------------------------------------------


class _State:
    """Per-app state: the app-wide selector, the per-blueprint ones, and which of them
    covers each endpoint (worked out on an endpoint's first request, then looked up).

    When the app-wide selector covers every request (no blueprint or view has its own),
    the WSGI wrapper decides each request by itself and the before_request hook is
    removed: a Flask hook costs more than the whole decision.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._app_selector: Selector | None = None
        self._blueprints: dict[str, Selector] = {}
        # Endpoint (None: no rule matched) -> its selector, None when nothing covers it or
        # its view's @cross_origin decides. Flask refuses new routes and blueprints once
        # serving has begun, so an entry only goes stale when a selector changes.
        self._by_endpoint: dict[str | None, Selector | None] = {}
        # Set on the first request (every route and blueprint is registered by then):
        # the selector the WSGI wrapper applies, or None when the hook decides.
        self.resolved = False
        self.wsgi_selector: Selector | None = None
        # The same when it is a plain CORSPolicy (no resolver): decided with one call.
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
        alone = (
            self._app_selector is not None
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
        selector = self._app_selector if alone else None
        self.wsgi_selector = selector
        self.static_policy = (
            selector if isinstance(selector, CORSPolicy) and not selector.has_resolver else None
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
        if isinstance(selector, CORSPolicy):
            policy = selector
        else:
            found = selector.policy_for(req.path)
            if found is None:
                return None
            policy = found
        decision = _decide(policy, req)
        if decision.kind is _PREFLIGHT:
            return _preflight_response(self.app, decision)
        return None


def _install(app: Flask) -> _State:
    state = app.extensions.get(_EXTENSION)
    if state is None:
        state = app.extensions[_EXTENSION] = _State(app)
        app.before_request(state.before_request)
        app.wsgi_app = _Grant(app.wsgi_app, state)  # type: ignore[method-assign]
    assert isinstance(state, _State)
    return state


def _decide(policy: CORSPolicy, req: Request) -> Decision:
    """Decide ``req``; actual requests keep the decision (in the environ) for the response."""
    environ = req.environ
    decision = decide_environ(policy, req.method, environ)
    if not decision.allowed and _debug_enabled(_DEBUG):
        log_refusal(decision, req.method, req.path)
    if decision.kind is not _PREFLIGHT:
        environ[_DECISION_KEY] = decision
    return decision


def _preflight_response(app: Flask, decision: Decision) -> Response:
    response = app.response_class(status=decision.status)
    _apply(response.headers, decision.str_headers, "")
    return response


def _add_headers(response: Response) -> Response:
    """``@cross_origin``'s after_this_request function in an app without ``CORS(app)``:
    the grant for the response, error responses included."""
    decision: Decision | None = request.environ.pop(_DECISION_KEY, None)
    if decision is not None:
        _apply(response.headers, decision.str_headers, _vary(decision))
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
    """Around ``app.wsgi_app``: decides the request itself when the app-wide policy covers
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
        # Decided here when the wrapper decides alone; otherwise by the hook, which leaves
        # it in the environ (so does @cross_origin).
        decided: Decision | None = None
        policy = state.static_policy
        if policy is not None:
            decided = policy.decide(
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("HTTP_ORIGIN"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
            )
        elif state.wsgi_selector is not None:
            decided = self._decide_other(state.wsgi_selector, environ)
        start_response_with_cors: Callable[..., Any]
        if decided is not None:
            if decided.kind is _PREFLIGHT:
                return self._answer_preflight(decided, environ, start_response)
            if not decided.allowed and _debug_enabled(_DEBUG):
                log_refusal(decided, environ.get("REQUEST_METHOD", ""), wsgi_path(environ))
            cors_headers = decided.str_headers
            vary = _vary(decided)

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
                decision: Decision | None = environ.pop(_DECISION_KEY, None)
                if decision is not None:
                    headers = add_cors_str_headers(headers, decision.str_headers, _vary(decision))
                return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_response_with_cors)
        except Exception:
            decision = decided if decided is not None else environ.pop(_DECISION_KEY, None)
            if decision is None or decision.kind is not RequestKind.ACTUAL:
                raise
            self.app.logger.error(
                "Exception on %s [%s]",
                environ.get("PATH_INFO"),
                environ.get("REQUEST_METHOD"),
                exc_info=sys.exc_info(),
            )
            headers = merge_response_headers(
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(_ERROR_BODY))),
                ],
                decision.str_headers,
                _vary(decision),
            )
            # No exc_info: Flask calls start_response only after dispatch succeeded, so
            # nothing was started, and some servers (and test clients) re-raise exc_info.
            start_response("500 INTERNAL SERVER ERROR", headers)
            return [_ERROR_BODY]

    @staticmethod
    def _decide_other(selector: Selector, environ: dict[str, Any]) -> Decision | None:
        """Per-path rules, or a policy with an origin resolver; None when no rule matches."""
        policy = (
            selector
            if isinstance(selector, CORSPolicy)
            else selector.policy_for(wsgi_path(environ))
        )
        if policy is None:
            return None
        return decide_environ(policy, environ.get("REQUEST_METHOD", "GET"), environ)

    @staticmethod
    def _answer_preflight(
        decision: Decision, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """Before Flask runs at all: the preflight is the policy's alone to answer."""
        if not decision.allowed:
            log_refusal(decision, "OPTIONS", wsgi_path(environ))
        headers = list(decision.str_headers)
        if decision.status != 204:
            headers.append(("Content-Length", "0"))
        status = decision.status
        line = _STATUS_LINES.get(status)
        if line is None:
            line = _STATUS_LINES[status] = _status_line(status)
        start_response(line, headers)
        return []
