"""Django integration: a middleware reading django-cors-headers' settings, a per-view
decorator, and a system check.

Replace ``corsheaders`` with ``crossorigin``::

    INSTALLED_APPS = [..., "crossorigin.django.CrossOriginConfig"]  # the system check
    MIDDLEWARE = ["crossorigin.django.CorsMiddleware", ...]          # as high as possible

The ``CORS_*`` settings keep their names and meaning (``CORS_URLS_REGEX`` is matched from
the start of ``request.path_info``, the ``check_request_enabled`` signal is sent), except
where django-cors-headers' meaning is insecure (see docs/migration.md): origin regexes
must match the *whole* origin, and ``CORS_ALLOW_ALL_ORIGINS`` cannot be combined with
``CORS_ALLOW_CREDENTIALS``. ``CROSSORIGIN_POLICY`` may instead hold a ready
:class:`~crossorigin.CORSPolicy` or :class:`~crossorigin.routes.Routes`.

Paths are read as Django routes them: ``request.path_info``, the string ``resolve()``
matches, and for ``@cross_origin`` views the view ``resolve()`` returns. A rule table never
grants a path Django would read differently from the table (``.``/``..`` segments, ``//``).

The middleware works in sync and async stacks. Errors keep the grant: Django turns a
view's exception into a 500 response inside the middleware chain, and the headers are
added to it like to any other response.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase, ResponseHeaders
from django.urls import Resolver404, get_urlconf, resolve

from .decision import Decision, Reason, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy, join_origin_regexes, policy_from_options
from .response import log_refusal, merge_response_headers
from .routes import Routes, is_canonical_path
from .wsgi import decide_environ

__all__ = [
    "CORSMiddleware",
    "CorsMiddleware",
    "CrossOriginConfig",
    "SettingsPolicy",
    "check_request_enabled",
    "check_settings",
    "cross_origin",
    "default_headers",
    "default_methods",
    "selector_from_settings",
]

V = TypeVar("V", bound=Callable[..., Any])

_POLICY_ATTR: Final = "_crossorigin_policy"
_DECISION_ATTR: Final = "_crossorigin_decision"
_SIGNAL_ATTR: Final = "_crossorigin_signal"

# django-cors-headers' defaults, kept so a migrated project allows what it allowed before.
DEFAULT_METHODS: Final = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_HEADERS: Final = (
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
)
# django-cors-headers sends 86400, which Chromium cuts to 7200 while Firefox keeps it, so
# browsers disagree on how long a preflight stays cached (``crossorigin check`` warns about
# it). 7200 is what Chromium already does with 86400.
DEFAULT_MAX_AGE: Final = 7200
# django-cors-headers' names for the defaults (corsheaders.defaults), so settings that
# extend them keep working after the import changes.
default_methods: Final = DEFAULT_METHODS
default_headers: Final = DEFAULT_HEADERS
_DEFAULT_URLS_REGEX: Final = r"^.*$"

# Setting -> (CORSPolicy option, default, expected shape), for those that translate one to one.
_LIST: Final = "a list or tuple of strings"
_BOOL: Final = "True or False"
_SETTINGS: Final = {
    "CORS_ALLOW_METHODS": ("allow_methods", DEFAULT_METHODS, _LIST),
    "CORS_ALLOW_HEADERS": ("allow_headers", DEFAULT_HEADERS, _LIST),
    "CORS_EXPOSE_HEADERS": ("expose_headers", (), _LIST),
    "CORS_PREFLIGHT_MAX_AGE": ("max_age", DEFAULT_MAX_AGE, ""),
    "CORS_ALLOW_CREDENTIALS": ("allow_credentials", False, _BOOL),
    "CORS_ALLOW_PRIVATE_NETWORK": ("allow_private_network", False, _BOOL),
}
# django-cors-headers still honours these pre-3.5 names.
_OLD_NAMES: Final = {
    "CORS_ALLOW_ALL_ORIGINS": "CORS_ORIGIN_ALLOW_ALL",
    "CORS_ALLOWED_ORIGINS": "CORS_ORIGIN_WHITELIST",
    "CORS_ALLOWED_ORIGIN_REGEXES": "CORS_ORIGIN_REGEX_WHITELIST",
}
# Settings django-cors-headers removed; its check reports them, and so does ours.
_REMOVED: Final = {
    "CORS_MODEL": "CORS_MODEL (a model of allowed origins) was removed from django-cors-headers",
    "CORS_REPLACE_HTTPS_REFERER": "CORS_REPLACE_HTTPS_REFERER was removed from django-cors-headers",
}
# With no origin listed, the settings' policy is built for this one, which no browser can
# send (.invalid never resolves): every other setting is still validated and applied, and
# every request is refused unless a check_request_enabled receiver grants it.
_NO_ORIGIN: Final = "https://no-origin-configured.invalid"

check_request_enabled = Signal()
"""django-cors-headers' signal, under the same name: a receiver returning a truthy value
enables CORS for the request's path even outside ``CORS_URLS_REGEX`` and grants its
origin even when no setting lists it. Receivers connected to
``corsheaders.signals.check_request_enabled`` are consulted too, without importing
django-cors-headers (it only counts when the project imports it)."""


def _setting(name: str, default: Any) -> tuple[str, Any]:
    """A setting's value and the name it was found under (new name first, then old)."""
    if hasattr(settings, name):
        return name, getattr(settings, name)
    old = _OLD_NAMES.get(name)
    if old is not None and hasattr(settings, old):
        return old, getattr(settings, old)
    return name, default


def _listed(name: str, value: object, problems: list[Problem], regexes: bool = False) -> list[Any]:
    """A list setting's entries; a value that is not a list is a problem, never a TypeError."""
    if isinstance(value, str) or (regexes and isinstance(value, re.Pattern)):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping | bytes):
        return list(value)
    problems.append(
        Problem(
            name,
            value,
            "must be a list or tuple of "
            + ("strings or compiled regexes" if regexes else "strings"),
            f"write {name} = [...]",
        )
    )
    return []


# CORSPolicy option -> the setting users write, for messages that name options in prose.
_OPTION_SETTINGS: Final = {
    "allow_origins": "CORS_ALLOWED_ORIGINS",
    "allow_origin_regex": "CORS_ALLOWED_ORIGIN_REGEXES",
    "allow_methods": "CORS_ALLOW_METHODS",
    "allow_headers": "CORS_ALLOW_HEADERS",
    "expose_headers": "CORS_EXPOSE_HEADERS",
    "allow_credentials": "CORS_ALLOW_CREDENTIALS",
    "max_age": "CORS_PREFLIGHT_MAX_AGE",
    "allow_private_network": "CORS_ALLOW_PRIVATE_NETWORK",
}
_OPTION_WORDS: Final = re.compile(
    r"allow_origins=\[?'\*'\]?|\b(" + "|".join(_OPTION_SETTINGS) + r")\b(=)?"
)


def _in_setting_names(text: str) -> str:
    """``text`` with CORSPolicy option names replaced by the Django settings."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "CORS_ALLOW_ALL_ORIGINS = True"
        return _OPTION_SETTINGS[match.group(1)] + (" = " if match.group(2) else "")

    return _OPTION_WORDS.sub(replace, text)


def _as_setting_problem(problem: Problem, names: Mapping[str, str]) -> Problem:
    return Problem(
        names.get(problem.option, _OPTION_SETTINGS.get(problem.option, problem.option)),
        problem.value,
        _in_setting_names(problem.message),
        _in_setting_names(problem.fix),
    )


class SettingsPolicy:
    """What django-cors-headers' ``CORS_*`` settings compile to.

    ``policy`` applies to the paths ``urls_regex`` matches from their start (``re.match``
    on ``request.path_info``, as django-cors-headers does; None: every path) and to paths a
    ``check_request_enabled`` receiver enables. ``origins_listed`` is False when no setting
    allows an origin: then only such a receiver can grant one.
    """

    __slots__ = ("_grants", "_options", "origins_listed", "policy", "urls_regex")

    policy: CORSPolicy
    urls_regex: re.Pattern[str] | None
    origins_listed: bool
    _options: dict[str, Any]
    _grants: dict[str, CORSPolicy | None]

    def __init__(
        self,
        policy: CORSPolicy,
        urls_regex: re.Pattern[str] | None,
        origins_listed: bool,
        options: dict[str, Any],
    ) -> None:
        self.policy = policy
        self.urls_regex = urls_regex
        self.origins_listed = origins_listed
        self._options = options
        self._grants = {}

    def grant_for(self, origin: str) -> CORSPolicy | None:
        """The settings' policy for ``origin`` alone, for a request a signal receiver
        allowed; None when the core refuses that origin in any configuration (malformed,
        or ``null`` with credentials)."""
        grants = self._grants
        if origin in grants:
            return grants[origin]
        try:
            grant: CORSPolicy | None = CORSPolicy(**self._options, allow_origins=[origin])
        except ConfigError:
            grant = None
        if len(grants) >= _GRANTS_ENTRIES:
            grants.clear()
        grants[origin] = grant
        return grant

    def __repr__(self) -> str:
        return f"SettingsPolicy({self.policy!r}, urls_regex={self.urls_regex!r})"


_GRANTS_ENTRIES: Final = 256

Selector = CORSPolicy | Routes | SettingsPolicy


def selector_from_settings() -> Selector:
    """The project's policy (or rule table) built from ``settings``; raises ConfigError.

    Problems name the setting to change, not the CORSPolicy option.
    """
    ready = getattr(settings, "CROSSORIGIN_POLICY", None)
    if ready is not None:
        if not isinstance(ready, CORSPolicy | Routes):
            raise ConfigError(
                [
                    Problem(
                        "CROSSORIGIN_POLICY",
                        ready,
                        "is neither a CORSPolicy nor a Routes table",
                        "set CROSSORIGIN_POLICY = CORSPolicy(...) or remove it",
                    )
                ]
            )
        return ready
    problems: list[Problem] = []
    kwargs: dict[str, Any] = {}
    names: dict[str, str] = {}
    for setting, (option, default, shape) in _SETTINGS.items():
        _, value = _setting(setting, default)
        if shape is _LIST:
            value = _listed(setting, value, problems)
        elif shape is _BOOL and not isinstance(value, bool):
            problems.append(Problem(setting, value, "must be True or False", "set a bool"))
            value = default
        kwargs[option] = value
        names[option] = setting
    if kwargs["max_age"] is None:
        problems.append(
            Problem(
                "CORS_PREFLIGHT_MAX_AGE",
                None,
                "must be a whole number of seconds",
                "write CORS_PREFLIGHT_MAX_AGE = 0 to send no Max-Age",
            )
        )
    elif type(kwargs["max_age"]) is int and kwargs["max_age"] == 0:
        kwargs["max_age"] = None  # django-cors-headers sends no Max-Age for 0
    credentials = kwargs["allow_credentials"]
    all_name, allow_all = _setting("CORS_ALLOW_ALL_ORIGINS", False)
    origins_name, origins = _setting("CORS_ALLOWED_ORIGINS", ())
    regexes_name, regexes = _setting("CORS_ALLOWED_ORIGIN_REGEXES", ())
    entries = _listed(origins_name, origins, problems)
    if allow_all is True:
        if credentials:
            problems.append(
                Problem(
                    all_name,
                    allow_all,
                    "cannot be combined with CORS_ALLOW_CREDENTIALS = True (browsers reject "
                    "'*' with credentials, and django-cors-headers' way around it, reflecting "
                    "every origin, lets any site read your users' data)",
                    f"list the origins that need credentials in {origins_name} and remove "
                    f"{all_name}, or set CORS_ALLOW_CREDENTIALS = False for public data",
                )
            )
        else:
            entries.append("*")
    elif allow_all is not False:
        problems.append(Problem(all_name, allow_all, "must be True or False", "set a bool"))
    regex_list = _listed(regexes_name, regexes, problems, regexes=True)
    listed = bool(entries or regex_list)
    kwargs["allow_origins"] = entries if listed else [_NO_ORIGIN]
    names["allow_origins"] = origins_name
    kwargs["allow_origin_regex"] = join_origin_regexes(regexes_name, regex_list, problems)
    names["allow_origin_regex"] = regexes_name
    policy: CORSPolicy | None = None
    try:
        policy = CORSPolicy(**kwargs)
    except ConfigError as error:
        problems.extend(_as_setting_problem(p, names) for p in error.problems)
    urls_regex = getattr(settings, "CORS_URLS_REGEX", _DEFAULT_URLS_REGEX)
    pattern: re.Pattern[str] | None = None
    if urls_regex != _DEFAULT_URLS_REGEX:
        try:
            pattern = urls_regex if isinstance(urls_regex, re.Pattern) else re.compile(urls_regex)
        except (re.error, TypeError, OverflowError, RecursionError) as error:
            problems.append(
                Problem(
                    "CORS_URLS_REGEX",
                    urls_regex,
                    f"is not a valid regular expression ({error})",
                    r"write a regex matched from the start of request.path_info, e.g. "
                    r"r'^/api/'",
                )
            )
    if problems:
        raise ConfigError(problems)
    assert policy is not None
    options = {k: v for k, v in kwargs.items() if k not in ("allow_origins", "allow_origin_regex")}
    return SettingsPolicy(policy, pattern, listed, options)


def _listened_signals() -> list[Signal]:
    """Our ``check_request_enabled`` and django-cors-headers' (when the project imported
    it), those with receivers connected."""
    theirs = sys.modules.get("corsheaders.signals")
    signals = (check_request_enabled, getattr(theirs, "check_request_enabled", None))
    # ``receivers`` first: a plain list, empty in most projects, so the usual answer costs
    # no lock (has_listeners() also drops receivers that were garbage-collected).
    return [s for s in signals if isinstance(s, Signal) and s.receivers and s.has_listeners()]


def _signal_allows(request: HttpRequest) -> bool:
    """Whether a ``check_request_enabled`` receiver returns a truthy value for the
    request; asked at most once per request."""
    signals = _listened_signals()
    if not signals:
        return False
    answer: bool | None = getattr(request, _SIGNAL_ATTR, None)
    if answer is None:
        answer = any(
            value for signal in signals for _, value in signal.send(sender=None, request=request)
        )
        setattr(request, _SIGNAL_ATTR, answer)
    return answer


def _path_policy(selector: Selector, request: HttpRequest) -> CORSPolicy | None:
    """The policy for the request's path, read from ``request.path_info``: the very string
    Django's ``resolve()`` routes, with no second reading of its own (no dot-segment
    collapsing, no slash merging, ``%2F`` already decoded as Django sees it)."""
    if isinstance(selector, CORSPolicy):
        return selector
    if isinstance(selector, Routes):
        # Routes collapse dot segments, Django does not: a non-canonical path gets no rule.
        path = request.path_info
        return selector.policy_for(path) if is_canonical_path(path) else None
    regex = selector.urls_regex
    if regex is None or regex.match(request.path_info) or _signal_allows(request):
        return selector.policy
    return None


# Set once any view is decorated with cross_origin: until then no view has a policy of its
# own, so a preflight need not resolve its URL to look for one.
_views_decorated = False


def _view_policy(request: HttpRequest) -> CORSPolicy | None:
    """The ``@cross_origin`` policy of the view serving the request, if any (OPTIONS only:
    a preflight is answered before Django resolves the URL)."""
    urlconf = getattr(request, "urlconf", None)
    if not _views_decorated:
        # Importing the URLconf imports its views (include() imports eagerly), which runs
        # their decorators; only while it is not imported yet can a decorated view hide.
        name = urlconf if urlconf is not None else get_urlconf()
        if not isinstance(name, str) or name in sys.modules:
            return None
    try:
        match = resolve(request.path_info, urlconf)
    except Resolver404:
        return None
    policy = getattr(match.func, _POLICY_ATTR, None)
    return policy if isinstance(policy, CORSPolicy) else None


def _decide(policy: CORSPolicy, request: HttpRequest, selector: object = None) -> Decision:
    method = request.method or "GET"
    meta = request.META
    decision = decide_environ(policy, method, meta)
    if not decision.allowed:
        if (
            isinstance(selector, SettingsPolicy)
            and any(refusal.reason is Reason.ORIGIN for refusal in decision.refusals)
            and _signal_allows(request)
        ):
            # django-cors-headers grants an origin no setting lists when a receiver says so.
            grant = selector.grant_for(meta["HTTP_ORIGIN"])
            if grant is not None:
                decision = decide_environ(grant, method, meta)
        if not decision.allowed:
            log_refusal(decision, method, request.path_info)
    return decision


def _preflight_response(decision: Decision) -> HttpResponse:
    response = HttpResponse(status=decision.status, headers=decision.str_headers)
    # Django logs every 4xx answer as a "django.request" warning ("Forbidden: /"); a
    # refused preflight is already logged by crossorigin (DEBUG), and a log line per
    # refused preflight would let any page flood the project's warnings. Django's own
    # marker for an answer that needs no logging (django.utils.log.log_response).
    response._has_been_logged = True
    return response


def _direct_store_works() -> bool:
    """Whether ``ResponseHeaders`` keeps its items as Django 3.2 to 5.2 do, in a ``_store``
    dict of ``{lowercase name: (name, value)}`` that every read goes through."""
    try:
        probe = ResponseHeaders({"X-Probe": "1"})
        store = probe._store
        if type(store) is not dict or store != {"x-probe": ("X-Probe", "1")}:
            return False
        store["x-other"] = ("X-Other", "2")
        del store["x-probe"]
        return list(probe.items()) == [("X-Other", "2")] and probe["x-other"] == "2"
    except Exception:  # any other layout: use the public interface
        return False


# Setting a header through ResponseHeaders re-validates name and value, which costs
# more than the rest of the middleware together; the decision's pairs need none of it
# (lowercase names, and values the core built from validated configuration or a strictly
# parsed Origin: latin-1, no CR or LF). Only the exact class is written to directly.
_DIRECT_STORE: Final = _direct_store_works()
_PREFIX: Final = "access-control-"


def _apply(decision: Decision, response: HttpResponseBase) -> None:
    """Add the decision's headers to a response, changing only what CORS owns.

    Django keeps one value per header name, case-insensitively: the app's own
    ``Access-Control-*`` headers are dropped, the policy's set, and ``Vary`` merged (the
    core's merge: the app's tokens first, ours appended, ``*`` left alone).
    """
    headers = response.headers
    vary = decision.vary
    if _DIRECT_STORE and type(headers) is ResponseHeaders:
        store = headers._store
        for key in store:
            if key.startswith(_PREFIX):
                for stale in [key for key in store if key.startswith(_PREFIX)]:
                    del store[stale]
                break
        for pair in decision.str_headers:
            store[pair[0]] = pair
        if vary:
            app_vary = store.get("vary")
            if app_vary is None:
                store["vary"] = ("Vary", vary.decode("latin-1"))
            else:
                store["vary"] = (app_vary[0], _merged_vary(app_vary[1], vary))
        return
    for name in [name for name in headers if name.lower().startswith(_PREFIX)]:
        del headers[name]
    for name, value in decision.str_headers:
        headers[name] = value
    if vary:
        app_value = headers.get("Vary")
        headers["Vary"] = (
            vary.decode("latin-1") if app_value is None else _merged_vary(app_value, vary)
        )


def _merged_vary(app_value: str, vary: bytes) -> str:
    ((_, merged),) = merge_response_headers([("vary", app_value)], (), vary.decode("latin-1"))
    return merged


class CorsMiddleware:
    """Answer preflights and add CORS headers, per django-cors-headers' ``CORS_*`` settings.

    A view decorated with :func:`cross_origin` uses its own policy instead.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], Any], selector: Selector | None = None
    ) -> None:
        self.get_response = get_response
        self.selector = selector if selector is not None else selector_from_settings()
        # The one policy for every path, when no rule table or CORS_URLS_REGEX picks one
        # (a check_request_enabled receiver can still grant an origin it refuses).
        selector = self.selector
        self._policy = (
            selector
            if isinstance(selector, CORSPolicy)
            else selector.policy
            if isinstance(selector, SettingsPolicy) and selector.urls_regex is None
            else None
        )
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _policy_for(self, request: HttpRequest) -> CORSPolicy | None:
        return self._policy or _path_policy(self.selector, request)

    def _preflight(
        self, request: HttpRequest, view_policy: CORSPolicy | None
    ) -> HttpResponse | None:
        """Only OPTIONS can be a preflight; the view's own policy takes precedence."""
        if view_policy is not None:
            decision = _decide(view_policy, request)
        else:
            policy = self._policy_for(request)
            if policy is None:
                return None
            decision = _decide(policy, request, self.selector)
        if decision.kind is RequestKind.PREFLIGHT:
            return _preflight_response(decision)
        setattr(request, _DECISION_ATTR, decision)
        return None

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        decision: Decision | None = getattr(request, _DECISION_ATTR, None)
        if decision is None:
            policy = self._policy_for(request)
            if policy is None:
                return response
            decision = _decide(policy, request, self.selector)
        _apply(decision, response)
        return response

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        if request.method == "OPTIONS":
            answer = self._preflight(request, _view_policy(request))
            if answer is not None:
                return answer
        response = self.get_response(request)
        # _finish, inlined: this is the path every request takes.
        decision: Decision | None = getattr(request, _DECISION_ATTR, None)
        if decision is None:
            policy = self._policy or _path_policy(self.selector, request)
            if policy is None:
                return response
            decision = _decide(policy, request, self.selector)
        _apply(decision, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        origin = request.META.get("HTTP_ORIGIN")
        options = request.method == "OPTIONS"
        view_policy = _view_policy(request) if options else None
        if origin is not None:
            # Consult origin resolvers here, without blocking the loop, so the
            # synchronous decisions below find their verdicts cached.
            policy = self._policy_for(request)
            if policy is not None:
                await policy.resolve_origin_async(origin)
            if view_policy is not None:
                await view_policy.resolve_origin_async(origin)
        if options:
            answer = self._preflight(request, view_policy)
            if answer is not None:
                return answer
        response = await self.get_response(request)
        return self._finish(request, response)


CORSMiddleware = CorsMiddleware


def cross_origin(policy: CORSPolicy | None = None, **options: Any) -> Callable[[V], V]:
    """Give one view its own policy: ``@cross_origin(allow_origins=[...])`` (CORSPolicy's
    option names) or ``@cross_origin(policy)``. Works for sync and async views, with or
    without the middleware (with it, errors raised by the view keep the grant too).
    """
    chosen = policy_from_options(policy, options)

    def decorate(view: V) -> V:
        global _views_decorated
        _views_decorated = True
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                await chosen.resolve_origin_async(request.META.get("HTTP_ORIGIN"))
                decision = _decide(chosen, request)
                if decision.kind is RequestKind.PREFLIGHT:
                    return _preflight_response(decision)
                setattr(request, _DECISION_ATTR, decision)
                response = await view(request, *args, **kwargs)
                _apply(decision, response)
                return response

            wrapper: Callable[..., Any] = async_wrapper
        else:

            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                decision = _decide(chosen, request)
                if decision.kind is RequestKind.PREFLIGHT:
                    return _preflight_response(decision)
                setattr(request, _DECISION_ATTR, decision)
                response = view(request, *args, **kwargs)
                _apply(decision, response)
                return response

            wrapper = sync_wrapper
        wrapped = functools.wraps(view)(wrapper)
        setattr(wrapped, _POLICY_ATTR, chosen)
        return wrapped  # type: ignore[return-value]

    return decorate


# --- system check -------------------------------------------------------------------------

_MIDDLEWARE_PATHS: Final = frozenset(
    {"crossorigin.django.CorsMiddleware", "crossorigin.django.CORSMiddleware"}
)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check``: each configuration problem becomes an error with an id.

    - ``crossorigin.E001``: a CORS setting is invalid or insecure (one per problem);
    - ``crossorigin.E002``: a setting django-cors-headers removed is still set;
    - ``crossorigin.W001``: the middleware is not in ``MIDDLEWARE``;
    - ``crossorigin.W002``: django-cors-headers' middleware is installed too (two
      middlewares would both write CORS headers);
    - ``crossorigin.W003``: no setting allows an origin (and no ``check_request_enabled``
      receiver is connected), so no response gets CORS headers.
    """
    messages: list[checks.CheckMessage] = []
    selector: Selector | None = None
    try:
        selector = selector_from_settings()
    except ConfigError as error:
        messages.extend(
            checks.Error(
                f"{problem.option} = {problem.value!r}: {problem.message}",
                hint=problem.fix,
                id="crossorigin.E001",
            )
            for problem in error.problems
        )
    for name, why in _REMOVED.items():
        if hasattr(settings, name):
            messages.append(
                checks.Error(
                    f"{why}; it has no effect",
                    hint=f"remove {name} from your settings",
                    id="crossorigin.E002",
                )
            )
    if (
        isinstance(selector, SettingsPolicy)
        and not selector.origins_listed
        and not _listened_signals()
    ):
        messages.append(
            checks.Warning(
                "no origin is allowed (CORS_ALLOWED_ORIGINS, CORS_ALLOWED_ORIGIN_REGEXES "
                "and CORS_ALLOW_ALL_ORIGINS are unset or empty), so no response gets "
                "CORS headers",
                hint="list the origins that may call this site, e.g. "
                "CORS_ALLOWED_ORIGINS = ['https://app.example.com']",
                id="crossorigin.W003",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if not _MIDDLEWARE_PATHS.intersection(middleware):
        messages.append(
            checks.Warning(
                "crossorigin.django.CorsMiddleware is not in MIDDLEWARE, so the CORS "
                "settings have no effect",
                hint="add 'crossorigin.django.CorsMiddleware' near the top of MIDDLEWARE",
                id="crossorigin.W001",
            )
        )
    if "corsheaders.middleware.CorsMiddleware" in middleware:
        messages.append(
            checks.Warning(
                "django-cors-headers' CorsMiddleware is installed as well",
                hint="remove 'corsheaders.middleware.CorsMiddleware' (and 'corsheaders')",
                id="crossorigin.W002",
            )
        )
    return messages


class CrossOriginConfig(AppConfig):  # type: ignore[misc]  # Django ships no type stubs
    """Add ``"crossorigin.django.CrossOriginConfig"`` to INSTALLED_APPS for the checks."""

    name = "crossorigin"
    label = "crossorigin"
    verbose_name = "crossorigin (CORS)"
    default = False

    def ready(self) -> None:
        checks.register(check_settings, checks.Tags.security)
