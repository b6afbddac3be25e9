"""aiohttp integration: a middleware, per-route policies, and aiohttp-cors's ``setup``/``add``.

Native use::

    cors = CORS(app, allow_origins=["https://app.example"])   # every route
    cors.add(app.router.add_get("/public", handler), CORSPolicy(allow_origins="*"))

aiohttp-cors migration (change the import)::

    cors = crossorigin.aiohttp.setup(app, defaults={
        "https://app.example": ResourceOptions(allow_headers=("Content-Type",)),
    })
    cors.add(app.router.add_post("/api", handler))      # uses the defaults

As with aiohttp-cors, ``defaults`` apply to the routes given to ``add()``; an app-wide
policy (``CORS(app, policy)``) covers every route. A route's own policy wins. Policies
belong to a *resource* (a URL): browsers cache preflight answers per URL, not per method.

Preflights are answered by the middleware even for resources that register no OPTIONS
handler (a route with only GET/POST). Errors keep the grant: ``HTTPException`` responses
get the headers, and an unhandled exception becomes a 500 with the headers (logged on
``aiohttp.server`` as aiohttp itself would).
"""

from __future__ import annotations

import logging
import warnings
from collections import ChainMap, namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Final, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDictProxy

from .decision import Decision, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy, policy_from_options
from .response import (
    _SPECIAL_FIRST,
    log_non_canonical,
    log_refusal,
    logger,
    merge_response_headers,
)
from .routes import RouteRules, Routes, is_canonical_path, policy_or_routes
from .tokens import SAFELISTED_RESPONSE_HEADERS, is_token

__all__ = [
    "CORS",
    "CorsViewMixin",
    "ResourceOptions",
    "custom_cors",
    "policy_from_aiohttp_cors",
    "setup",
]

V = TypeVar("V", bound=Callable[..., Any])

_server_logger = logging.getLogger("aiohttp.server")
_debug_enabled = logger.isEnabledFor
_DEBUG: Final = logging.DEBUG

_ERROR_TEXT: Final = "500 Internal Server Error\n\nServer got itself in trouble"


_FIELDS: Final = (
    "allow_credentials",
    "expose_headers",
    "allow_headers",
    "max_age",
    "allow_methods",
)
# Keys aiohttp-cors accepts in a plain dict of options (allow_methods only in ResourceOptions).
_DICT_KEYS: Final = frozenset(_FIELDS[:4])


def _invalid(option: str, value: object, message: str, fix: str) -> ConfigError:
    return ConfigError([Problem(option, value, message, fix)])


def _names(option: str, value: object, *, upper: bool) -> frozenset[str] | str:
    """``"*"``, or a sequence of names as a frozenset (upper-cased as aiohttp-cors does for
    methods and request headers)."""
    if value == "*":
        return "*"
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not all(isinstance(v, str) for v in value)
    ):
        raise _invalid(
            option, value, "must be '*' or a sequence of strings", f"pass {option}=('...',)"
        )
    return frozenset(v.upper() for v in value) if upper else frozenset(value)


class ResourceOptions(namedtuple("ResourceOptions", _FIELDS)):  # type: ignore[misc]
    """aiohttp-cors's per-origin options: same fields, defaults and normalisation.

    Headers and methods become upper-case frozensets (``"*"`` stays ``"*"``); a value
    aiohttp-cors refuses raises :class:`~crossorigin.ConfigError`, a ``ValueError`` as
    there.
    """

    __slots__ = ()

    allow_credentials: bool
    expose_headers: frozenset[str] | str
    allow_headers: frozenset[str] | str
    max_age: int | None
    allow_methods: frozenset[str] | str | None

    def __new__(
        cls,
        *,
        allow_credentials: bool = False,
        expose_headers: Iterable[str] | str = (),
        allow_headers: Iterable[str] | str = (),
        max_age: int | None = None,
        allow_methods: Iterable[str] | str | None = None,
    ) -> ResourceOptions:
        if not isinstance(allow_credentials, bool):
            raise _invalid("allow_credentials", allow_credentials, "must be a bool", "pass True")
        lists = {
            "expose_headers": _names("expose_headers", expose_headers, upper=False),
            "allow_headers": _names("allow_headers", allow_headers, upper=True),
            "allow_methods": None
            if allow_methods is None
            else _names("allow_methods", allow_methods, upper=True),
        }
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0
        ):
            raise _invalid("max_age", max_age, "must be a non-negative integer", "pass 600")
        values = (
            allow_credentials,
            lists["expose_headers"],
            lists["allow_headers"],
            max_age,
            lists["allow_methods"],
        )
        return tuple.__new__(cls, values)

    def is_method_allowed(self, method: str) -> bool:
        """As in aiohttp-cors: listed (case-insensitively), or ``"*"``; None allows none."""
        if self.allow_methods is None:
            return False
        return self.allow_methods == "*" or method.upper() in self.allow_methods


Config = Mapping[str, "ResourceOptions | Mapping[str, Any]"]


def _parse_config(config: object) -> dict[str, ResourceOptions]:
    """aiohttp-cors's ``{origin: ResourceOptions or dict}``, checked as aiohttp-cors checks
    it (its own ResourceOptions objects are accepted too)."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise _invalid("config", config, "must be a mapping", "pass {origin: ResourceOptions()}")
    parsed: dict[str, ResourceOptions] = {}
    for origin, value in config.items():
        if not isinstance(origin, str):
            raise _invalid("config", origin, "an origin must be a string", "write 'https://...'")
        if isinstance(value, ResourceOptions):
            parsed[origin] = value
            continue
        as_dict = getattr(value, "_asdict", None)  # aiohttp_cors.ResourceOptions
        if isinstance(value, tuple) and callable(as_dict):
            fields: dict[str, Any] = {
                k: sorted(v) if isinstance(v, frozenset) else v for k, v in as_dict().items()
            }
            parsed[origin] = ResourceOptions(**fields)
            continue
        if not isinstance(value, Mapping):
            raise _invalid(
                f"config[{origin!r}]",
                value,
                "is not ResourceOptions or a mapping",
                "pass ResourceOptions(...)",
            )
        unexpected = set(value) - _DICT_KEYS
        if unexpected:
            raise _invalid(
                f"config[{origin!r}]",
                value,
                "has unexpected keys " + ", ".join(sorted(map(str, unexpected))),
                "use " + ", ".join(sorted(_DICT_KEYS)) + " (or ResourceOptions for allow_methods)",
            )
        parsed[origin] = ResourceOptions(**value)
    return parsed


def _policy_options(options: ResourceOptions, methods: Iterable[str]) -> dict[str, Any]:
    def names(value: frozenset[str] | str) -> list[str]:
        return ["*"] if value == "*" else sorted(value)

    # expose_headers="*" with credentials: aiohttp-cors lists the response's own header
    # names, which browsers honour; a literal "*" they would not (see _expose_all).
    expose_all = options.allow_credentials and options.expose_headers == "*"
    return {
        "allow_credentials": options.allow_credentials,
        "expose_headers": [] if expose_all else names(options.expose_headers),
        "allow_headers": names(options.allow_headers),
        "max_age": options.max_age,
        "allow_methods": list(methods),
    }


def _compiled(options: dict[str, Any]) -> CORSPolicy:
    """A policy for aiohttp-cors options; problems name aiohttp-cors's terms (the origins
    are the configuration's keys, the other options ResourceOptions' fields)."""
    try:
        return policy_from_options(None, options)
    except ConfigError as error:
        raise ConfigError(
            [
                Problem(
                    "origin key" if p.option == "allow_origins" else p.option,
                    p.value,
                    p.message.replace("allow_origins", "the origin keys"),
                    p.fix.replace("allow_origins", "the origin keys"),
                )
                for p in error.problems
            ]
        ) from None


# The methods a policy built from some options allows (aiohttp-cors decides them per route).
MethodsOf = Callable[[ResourceOptions], list[str]]


class _OriginTable:
    """One aiohttp-cors configuration (``{origin: options}``) as CORS policies: origins
    with the same options share one policy; ``"*"`` covers the origins not listed."""

    __slots__ = ("_by_origin", "_fallback", "_patterns", "_star", "expose_all")

    def __init__(self, config: Mapping[str, ResourceOptions], methods: MethodsOf) -> None:
        groups: dict[tuple[ResourceOptions, tuple[str, ...]], list[str]] = {}
        star: CORSPolicy | None = None
        for origin, options in config.items():
            allowed = tuple(methods(options))
            if origin == "*":
                if options.allow_credentials:
                    raise _invalid(
                        "config['*']",
                        options,
                        "allow_credentials=True for every origin: aiohttp-cors reflects any "
                        "origin with credentials, so any website could read your users' data",
                        "list the trusted origins as keys, or set allow_credentials=False for '*'",
                    )
                star = _compiled({**_policy_options(options, allowed), "allow_origins": "*"})
            else:
                groups.setdefault((options, allowed), []).append(origin)
        by_origin: dict[str, CORSPolicy] = {}
        patterns: list[CORSPolicy] = []
        expose_all: set[int] = set()  # ids of the policies (kept alive by this table)
        for (options, allowed), origins in groups.items():
            policy = _compiled({**_policy_options(options, allowed), "allow_origins": origins})
            if options.allow_credentials and options.expose_headers == "*":
                expose_all.add(id(policy))
            listed = [o for o in policy.allow_origins if "*" not in o]
            by_origin.update(dict.fromkeys(listed, policy))
            if len(listed) < len(policy.allow_origins):
                patterns.append(policy)
        self._by_origin = by_origin
        self._patterns = tuple(patterns)
        self._star = star
        self.expose_all = frozenset(expose_all)
        # For a request whose origin nothing grants: a listed origin's policy, so the
        # refusal varies on Origin when the grant does.
        self._fallback = next(iter(by_origin.values()), patterns[0] if patterns else star)

    def policy(self, origin: str | None) -> CORSPolicy | None:
        if origin is not None:
            policy = self._by_origin.get(origin)
            if policy is not None:
                return policy
            for pattern in self._patterns:
                if pattern.is_origin_allowed(origin):
                    return pattern
            if self._star is not None:
                return self._star
        return self._fallback


def _listed_methods(options: ResourceOptions) -> list[str]:
    if options.allow_methods is None:
        return []
    return ["*"] if options.allow_methods == "*" else sorted(options.allow_methods)


def _view_class(route: web.AbstractRoute) -> type[Any] | None:
    handler = getattr(route, "handler", None)
    if isinstance(handler, type) and issubclass(handler, web.View):
        return handler
    return None


class _ResourceConfig:
    """aiohttp-cors's configuration of one resource: its own options, per-method options
    of the routes added, merged over the global defaults as aiohttp-cors merges them."""

    __slots__ = ("_defaults", "_tables", "default_config", "method_config")

    def __init__(
        self, defaults: dict[str, ResourceOptions], config: dict[str, ResourceOptions]
    ) -> None:
        self._defaults = defaults
        self.default_config = config
        self.method_config: dict[str, dict[str, ResourceOptions]] = {}
        self._tables: dict[object, _OriginTable] = {}

    def _table(
        self, key: object, config: Mapping[str, ResourceOptions], methods: MethodsOf
    ) -> _OriginTable:
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = _OriginTable(config, methods)
        return table

    def compile(self) -> None:
        """Build every table now, so a bad configuration fails in ``add()``."""
        self._tables.clear()
        self.base()
        for method in self.method_config:
            self.actual(method)
            self.preflight(method)

    def base(self) -> _OriginTable:
        merged = ChainMap(self.default_config, self._defaults)
        return self._table("base", merged, _listed_methods)

    def actual(self, method: str) -> _OriginTable:
        own = self.method_config.get(method)
        if own is None:
            return self.base()
        merged = ChainMap(own, self.default_config, self._defaults)
        return self._table(("actual", method), merged, _listed_methods)

    def preflight(self, method: str) -> _OriginTable:
        """aiohttp-cors allows a preflight's method when the route of that method was added,
        or when the resource's options list it (``allow_methods``)."""
        own = self.method_config.get(method)
        if own is None or not is_token(method) or method == "*":
            return self.base()
        merged = ChainMap(own, self.default_config, self._defaults)

        def methods(options: ResourceOptions) -> list[str]:
            listed = _listed_methods(options)
            return listed if listed == ["*"] else sorted({method, *listed})

        return self._table(("preflight", method), merged, methods)

    def view(self, view: type[Any], method: str, preflight: bool) -> _OriginTable:
        """A class-based view's options: the method's ``custom_cors``, the class's
        ``cors_config``, then the defaults (aiohttp-cors's CorsViewMixin)."""
        key = ("view", view, method, preflight)
        table = self._tables.get(key)
        if table is not None:
            return table
        handler = getattr(view, method.lower(), None) if is_token(method) else None
        custom = getattr(handler, f"{method.lower()}_cors_config", None) or {}
        merged = ChainMap(
            _parse_config(custom),
            _parse_config(getattr(view, "cors_config", None) or {}),
            self._defaults,
        )

        def methods(options: ResourceOptions) -> list[str]:
            listed = _listed_methods(options)
            if not preflight or handler is None or listed == ["*"]:
                return listed
            return sorted({method, *listed})

        if len(self._tables) > _TABLES_ENTRIES:
            self._tables.clear()
        table = self._tables[key] = _OriginTable(merged, methods)
        return table

    def policy(
        self, request: web.Request, origin: str | None, request_method: str | None
    ) -> tuple[CORSPolicy | None, bool]:
        """The policy for the request, and whether its grant exposes every response header."""
        view = _view_class(request.match_info.route)
        if view is not None and hasattr(view, "cors_config"):
            method = request_method if request_method is not None else request.method
            table = self.view(view, method, request_method is not None)
        elif request_method is not None:
            table = self.preflight(request_method)
        else:
            table = self.actual(request.method)
        policy = table.policy(origin)
        return policy, id(policy) in table.expose_all


_TABLES_ENTRIES: Final = 256


class CorsViewMixin:
    """aiohttp-cors's view mixin: ``cors_config`` on the class, ``@custom_cors(config)`` on
    a method; the middleware answers the view's preflights."""

    cors_config: Mapping[str, Any] | None = None


def custom_cors(config: Mapping[str, Any]) -> Callable[[V], V]:
    """aiohttp-cors's per-method options of a :class:`CorsViewMixin` view."""

    def wrapper(function: V) -> V:
        setattr(function, f"{function.__name__}_cors_config", config)
        return function

    return wrapper


def policy_from_aiohttp_cors(config: Mapping[str, Any], methods: Iterable[str] = ()) -> CORSPolicy:
    """Translate aiohttp-cors's ``{origin: ResourceOptions}`` into one :class:`CORSPolicy`.

    ``methods`` stand in for ``allow_methods=None`` (aiohttp-cors then allows the methods
    of the routes added). Options that differ between origins cannot be one policy (the
    ``setup``/``add`` API handles them, one policy per group of origins).
    """
    parsed = _parse_config(config)
    if not parsed or len(set(parsed.values())) > 1:
        raise _invalid(
            "config",
            dict(config),
            "allows no origin" if not parsed else "gives different origins different options",
            "pass {'https://app.example': ResourceOptions(...)} (or use setup()/add())",
        )
    options = next(iter(parsed.values()))
    allowed = _listed_methods(options) if options.allow_methods is not None else sorted(methods)
    return policy_from_options(
        None,
        {
            **_policy_options(options, allowed or ("GET", "HEAD", "POST")),
            "allow_origins": list(parsed),
        },
    )


def _read(headers: CIMultiDictProxy[str], name: str) -> str | None:
    """A request header's value; repeats comma-joined (HTTP list semantics)."""
    values = headers.getall(name, None)
    if not values:
        return None
    return values[0] if len(values) == 1 else ", ".join(values)


def _preflight_values(headers: CIMultiDictProxy[str]) -> tuple[str | None, str | None, str | None]:
    """The ``Access-Control-Request-*`` values :meth:`CORSPolicy.decide` takes."""
    return (
        _read(headers, "Access-Control-Request-Method"),
        _read(headers, "Access-Control-Request-Headers"),
        _read(headers, "Access-Control-Request-Private-Network"),
    )


def _apply(decision: Decision, response: web.StreamResponse) -> None:
    # A response with no Access-Control-* or Vary header of its own (one look at each
    # name's first character proves it) just gets the decision's pairs; others merge.
    headers = response.headers
    for name in headers:
        if not name or name[0] in _SPECIAL_FIRST:
            break
    else:
        headers.extend(decision.str_pairs)
        return
    merged = merge_response_headers(
        list(headers.items()), decision.str_headers, decision.vary.decode("latin-1")
    )
    headers.clear()
    headers.extend(merged)


def _expose_every_header(response: web.StreamResponse) -> None:
    """aiohttp-cors's ``expose_headers="*"`` with credentials: name each of the response's
    own headers, since browsers read a literal ``*`` as no header for such requests."""
    names = {
        name.lower(): name
        for name in response.headers
        if name.lower() not in SAFELISTED_RESPONSE_HEADERS
        and not name.lower().startswith("access-control-")
        and name.lower() not in ("vary", "set-cookie", "set-cookie2")
    }
    if names:
        response.headers["Access-Control-Expose-Headers"] = ", ".join(sorted(names.values()))


# The decision the middleware is applying, for the on_response_prepare receiver: a handler
# that prepares (streams) its own response sends the headers before the middleware sees
# it. Whoever applies it clears it, so a response is granted once. A context variable
# (the handler runs in the middleware's context) costs less than request storage.
_PENDING: Final[ContextVar[Decision | None]] = ContextVar(
    "crossorigin.aiohttp.pending", default=None
)


async def _on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    decision = _PENDING.get()
    if decision is not None:
        _PENDING.set(None)
        _apply(decision, response)


class CORS:
    """The middleware and its per-resource policies.

    ``CORS(app, ...)`` installs the middleware; the optional app-wide policy is given as
    ``policy=``, ``routes=`` (see :mod:`crossorigin.routes`) or CORSPolicy options.
    ``defaults`` (aiohttp-cors's ``{origin: ResourceOptions}``) is what :meth:`add` merges
    a route's own options over, as aiohttp-cors does.
    """

    def __init__(
        self,
        app: web.Application | None = None,
        policy: CORSPolicy | None = None,
        *,
        routes: Routes | RouteRules | None = None,
        defaults: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self._policy: CORSPolicy | None = None
        self._routes: Routes | None = None
        # Neither given is fine here: policies may come per route through add().
        if routes is not None or policy is not None or options:
            self._policy, self._routes = policy_or_routes(policy, routes, options)
        self.defaults: dict[str, ResourceOptions] = _parse_config(defaults)
        if self.defaults:
            _OriginTable(self.defaults, _listed_methods)  # fail at setup, not per add()
        # resource -> its own CORSPolicy, or aiohttp-cors's configuration of it
        self._by_resource: dict[web.AbstractResource, CORSPolicy | _ResourceConfig] = {}
        if app is not None:
            app.middlewares.append(self.middleware)
            # Handlers that prepare (stream) their own response send headers before the
            # middleware sees the response; this signal reaches them in time.
            app.on_response_prepare.append(_on_response_prepare)

    def add(
        self,
        routing_entity: Any,
        config: CORSPolicy | Mapping[str, Any] | None = None,
        webview: bool = False,
    ) -> Any:
        """Enable CORS for a route or a whole resource; returns ``routing_entity``.

        ``config`` is a :class:`CORSPolicy` (the resource's policy, every method), or
        aiohttp-cors's ``{origin: ResourceOptions}``: given with a resource, that
        resource's options; with a route, the options of that route's method (and of its
        resource, if the resource was not added first); None, the defaults.
        """
        if webview:
            warnings.warn(
                "webview is deprecated (aiohttp-cors too): views are recognised by themselves",
                DeprecationWarning,
                stacklevel=2,
            )
        if isinstance(routing_entity, web.AbstractRoute):
            resource = routing_entity.resource
            route: web.AbstractRoute | None = routing_entity
        elif isinstance(routing_entity, web.AbstractResource):
            resource, route = routing_entity, None
        else:
            raise _invalid(
                "routing_entity",
                routing_entity,
                "is not a route or a resource",
                "pass what app.router.add_get(...) or add_resource(...) returns",
            )
        if resource is None:
            raise _invalid("routing_entity", routing_entity, "has no resource", "add a route")
        previous = self._by_resource.get(resource)
        if isinstance(config, CORSPolicy) or isinstance(previous, CORSPolicy):
            if previous is not None and previous != config:
                raise _invalid(
                    "config",
                    config,
                    f"{resource.canonical} already has a different CORS configuration",
                    "give every route of one URL the same policy (browsers cache "
                    "preflight answers per URL, not per method)",
                )
            if isinstance(config, CORSPolicy):
                self._by_resource[resource] = config
            return routing_entity
        parsed = _parse_config(config)
        view = _view_class(route) if route is not None else None
        if view is not None and not hasattr(view, "cors_config"):
            raise _invalid(
                "routing_entity",
                routing_entity,
                "is a class-based view without CorsViewMixin",
                "derive the view from crossorigin.aiohttp.CorsViewMixin",
            )
        if route is None:
            if previous is not None:
                raise _invalid(
                    "routing_entity",
                    resource,
                    "already has its CORS configuration (aiohttp-cors refuses this too)",
                    "add each resource once; give routes their own options with add(route, ...)",
                )
            entry = _ResourceConfig(self.defaults, parsed)
        else:
            entry = previous if previous is not None else _ResourceConfig(self.defaults, parsed)
            if route.method in entry.method_config:
                raise _invalid(
                    "routing_entity",
                    route,
                    f"{route.method} of {resource.canonical} already has its CORS options",
                    "add each route once",
                )
            entry.method_config[route.method] = parsed
        entry.compile()  # a bad configuration fails here, before serving
        self._by_resource[resource] = entry
        return routing_entity

    async def _preflighted_resource(
        self, request: web.Request
    ) -> CORSPolicy | _ResourceConfig | None:
        # aiohttp's own resolution: a resource whose path matches reports the methods it
        # does register, even though OPTIONS is not among them.
        for resource, entry in self._by_resource.items():
            match, allowed_methods = await resource.resolve(request)
            if match is not None or allowed_methods:
                return entry
        return None

    def _route_policy(self, request: web.Request) -> CORSPolicy | None:
        """``routes=``: the rule for the path, only when every router reads it the same way
        (the raw path too: aiohttp routes on it, with ``%2F`` still encoded)."""
        assert self._routes is not None
        if not is_canonical_path(request.path, request.raw_path):
            if _debug_enabled(_DEBUG) and "Origin" in request.headers:
                log_non_canonical(
                    request.method == "OPTIONS"
                    and "Access-Control-Request-Method" in request.headers,
                    request.method,
                    request.raw_path,
                )
            return None
        return self._routes.policy_for(request.path)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # The policy: the route's own (the common app-wide case skips the lookup), else
        # the app-wide one. Only a preflight to a URL without an OPTIONS handler awaits.
        by_resource = self._by_resource
        entry = None
        if by_resource:
            match_info = request.match_info
            entry = by_resource.get(match_info.route.resource)  # type: ignore[arg-type]
            if (
                entry is None
                and match_info.http_exception is not None
                and request.method == "OPTIONS"
            ):
                entry = await self._preflighted_resource(request)
        policy: CORSPolicy | None
        expose_all = False
        if entry is None:
            policy = self._route_policy(request) if self._routes is not None else self._policy
        elif isinstance(entry, CORSPolicy):
            policy = entry
        else:
            origin_value = request.headers.get("Origin")
            policy, expose_all = entry.policy(
                request,
                origin_value,
                request.headers.get("Access-Control-Request-Method")
                if origin_value is not None and request.method == "OPTIONS"
                else None,
            )
        if policy is None:
            return await handler(request)
        # decide()'s arguments, read only where they count: without an Origin nothing else
        # does, and the Access-Control-Request-* headers only on an OPTIONS request.
        method = request.method
        headers = request.headers
        origins = headers.getall("Origin", None)
        if origins is None:
            decision = policy.decide(method, None)
        else:
            origin = origins[0] if len(origins) == 1 else ", ".join(origins)
            values = _preflight_values(headers) if method == "OPTIONS" else (None, None, None)
            if policy.has_resolver:
                decision = await policy.decide_async(method, origin, *values)
            else:
                decision = policy.decide(method, origin, *values)
            if not decision.allowed and _debug_enabled(_DEBUG):
                log_refusal(decision, method, request.path)
        if decision.kind is RequestKind.PREFLIGHT:
            return web.Response(status=decision.status, headers=decision.str_headers)
        _PENDING.set(decision)
        response: web.StreamResponse
        try:
            response = await handler(request)
        except web.HTTPException as error:
            pending = _PENDING.get()
            if pending is not None:
                _PENDING.set(None)
                _apply(pending, error)
            raise
        except Exception:
            _server_logger.exception("Error handling request")
            response = web.Response(status=500, text=_ERROR_TEXT)
        except BaseException:  # cancelled: leave nothing for a later request to apply
            _PENDING.set(None)
            raise
        # Unset when the handler prepared (streamed) its response: the signal applied it.
        pending = _PENDING.get()
        if pending is not None:
            _PENDING.set(None)
            if not response.prepared:
                _apply(pending, response)
                if expose_all and pending.allowed:
                    _expose_every_header(response)
        return response


def setup(app: web.Application, *, defaults: Mapping[str, Any] | None = None) -> CORS:
    """aiohttp-cors's ``setup(app, defaults=...)``: returns the object whose ``add()`` gives
    routes their policy. Routes never added get no CORS headers, as with aiohttp-cors.
    """
    return CORS(app, defaults=defaults)
