"""Django integration: a middleware reading django-cors-headers' settings, a per-view
decorator, and a system check.

Replace ``corsheaders`` with ``crossorigin``::

    INSTALLED_APPS = [..., "crossorigin.django.CrossOriginConfig"]  # the system check
    MIDDLEWARE = ["crossorigin.django.CorsMiddleware", ...]          # as high as possible

The ``CORS_*`` settings keep their names and meaning, except where django-cors-headers'
meaning is insecure (see docs/migration.md): regexes (``CORS_ALLOWED_ORIGIN_REGEXES``,
``CORS_URLS_REGEX``) must match the *whole* origin or path, and ``CORS_ALLOW_ALL_ORIGINS``
cannot be combined with ``CORS_ALLOW_CREDENTIALS``. ``CROSSORIGIN_POLICY`` may instead
hold a ready :class:`~crossorigin.CORSPolicy` or :class:`~crossorigin.routes.Routes`.

The middleware works in sync and async stacks. Errors keep the grant: Django turns a
view's exception into a 500 response inside the middleware chain, and the headers are
added to it like to any other response.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any, Final, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase, ResponseHeaders
from django.urls import Resolver404, get_urlconf, resolve

from .decision import Decision, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy, join_origin_regexes, policy_from_options
from .response import log_refusal, merge_response_headers
from .routes import Routes
from .wsgi import decide_environ

__all__ = [
    "CORSMiddleware",
    "CorsMiddleware",
    "CrossOriginConfig",
    "check_settings",
    "cross_origin",
    "selector_from_settings",
]

Selector = CORSPolicy | Routes
V = TypeVar("V", bound=Callable[..., Any])

_POLICY_ATTR: Final = "_crossorigin_policy"
_DECISION_ATTR: Final = "_crossorigin_decision"

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
DEFAULT_MAX_AGE: Final = 86400
_DEFAULT_URLS_REGEX: Final = r"^.*$"

# Setting -> CORSPolicy option, for those that translate one to one.
_SETTINGS: Final = {
    "CORS_ALLOW_METHODS": ("allow_methods", DEFAULT_METHODS),
    "CORS_ALLOW_HEADERS": ("allow_headers", DEFAULT_HEADERS),
    "CORS_EXPOSE_HEADERS": ("expose_headers", ()),
    "CORS_PREFLIGHT_MAX_AGE": ("max_age", DEFAULT_MAX_AGE),
    "CORS_ALLOW_CREDENTIALS": ("allow_credentials", False),
    "CORS_ALLOW_PRIVATE_NETWORK": ("allow_private_network", False),
}
# django-cors-headers still honours these pre-3.5 names.
_OLD_NAMES: Final = {
    "CORS_ALLOW_ALL_ORIGINS": "CORS_ORIGIN_ALLOW_ALL",
    "CORS_ALLOWED_ORIGINS": "CORS_ORIGIN_WHITELIST",
    "CORS_ALLOWED_ORIGIN_REGEXES": "CORS_ORIGIN_REGEX_WHITELIST",
}


def _setting(name: str, default: Any) -> tuple[str, Any]:
    """A setting's value and the name it was found under (new name first, then old)."""
    if hasattr(settings, name):
        return name, getattr(settings, name)
    old = _OLD_NAMES.get(name)
    if old is not None and hasattr(settings, old):
        return old, getattr(settings, old)
    return name, default


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
    for setting, (option, default) in _SETTINGS.items():
        _, kwargs[option] = _setting(setting, default)
        names[option] = setting
    all_name, allow_all = _setting("CORS_ALLOW_ALL_ORIGINS", False)
    origins_name, origins = _setting("CORS_ALLOWED_ORIGINS", ())
    regexes_name, regexes = _setting("CORS_ALLOWED_ORIGIN_REGEXES", ())
    entries = list(origins) if not isinstance(origins, str) else [origins]
    if allow_all is True:
        entries.append("*")
    elif allow_all is not False:
        problems.append(Problem(all_name, allow_all, "must be True or False", "set a bool"))
    kwargs["allow_origins"] = entries
    names["allow_origins"] = origins_name
    regex_list = [regexes] if isinstance(regexes, str | re.Pattern) else list(regexes)
    kwargs["allow_origin_regex"] = join_origin_regexes(regexes_name, regex_list, problems)
    names["allow_origin_regex"] = regexes_name
    policy: CORSPolicy | None = None
    try:
        policy = CORSPolicy(**kwargs)
    except ConfigError as error:
        problems.extend(
            Problem(
                all_name
                if p.option == "allow_origins" and p.value == "*"
                else names.get(p.option, p.option),
                p.value,
                p.message,
                p.fix,
            )
            for p in error.problems
        )
    urls_regex = getattr(settings, "CORS_URLS_REGEX", _DEFAULT_URLS_REGEX)
    pattern: re.Pattern[str] | None = None
    if urls_regex != _DEFAULT_URLS_REGEX:
        try:
            pattern = urls_regex if isinstance(urls_regex, re.Pattern) else re.compile(urls_regex)
        except (re.error, TypeError) as error:
            problems.append(
                Problem(
                    "CORS_URLS_REGEX",
                    urls_regex,
                    f"is not a valid regular expression ({error})",
                    "write a regex matching the whole path, e.g. r'/api/.*'",
                )
            )
    if problems:
        raise ConfigError(problems)
    assert policy is not None
    if pattern is None:
        return policy
    try:
        return Routes([(pattern, policy)])
    except ConfigError as error:
        raise ConfigError(
            [Problem("CORS_URLS_REGEX", p.value, p.message, p.fix) for p in error.problems]
        ) from None


def _policy_for(selector: Selector | None, path: str) -> CORSPolicy | None:
    if selector is None or isinstance(selector, CORSPolicy):
        return selector
    return selector.policy_for(path)


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


def _decide(policy: CORSPolicy, request: HttpRequest) -> Decision:
    method = request.method or "GET"
    decision = decide_environ(policy, method, request.META)
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
        # The one policy for every path, when there is no rule table to consult.
        self._policy = self.selector if isinstance(self.selector, CORSPolicy) else None
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _preflight(
        self, request: HttpRequest, view_policy: CORSPolicy | None
    ) -> HttpResponse | None:
        """Only OPTIONS can be a preflight; the view's own policy takes precedence."""
        policy = view_policy or _policy_for(self.selector, request.path_info)
        if policy is None:
            return None
        decision = _decide(policy, request)
        if decision.kind is RequestKind.PREFLIGHT:
            return _preflight_response(decision)
        setattr(request, _DECISION_ATTR, decision)
        return None

    def _finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        decision: Decision | None = getattr(request, _DECISION_ATTR, None)
        if decision is None:
            policy = self._policy or _policy_for(self.selector, request.path_info)
            if policy is None:
                return response
            decision = _decide(policy, request)
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
            policy = self._policy or _policy_for(self.selector, request.path_info)
            if policy is None:
                return response
            decision = _decide(policy, request)
        _apply(decision, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        origin = request.META.get("HTTP_ORIGIN")
        options = request.method == "OPTIONS"
        view_policy = _view_policy(request) if options else None
        if origin is not None:
            # Consult origin resolvers here, without blocking the loop, so the
            # synchronous decisions below find their verdicts cached.
            policy = _policy_for(self.selector, request.path_info)
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
    - ``crossorigin.W001``: the middleware is not in ``MIDDLEWARE``;
    - ``crossorigin.W002``: django-cors-headers' middleware is installed too (two
      middlewares would both write CORS headers).
    """
    messages: list[checks.CheckMessage] = []
    try:
        selector_from_settings()
    except ConfigError as error:
        messages.extend(
            checks.Error(
                f"{problem.option}={problem.value!r}: {problem.message}",
                hint=problem.fix,
                id="crossorigin.E001",
            )
            for problem in error.problems
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
