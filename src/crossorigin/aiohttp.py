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
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any, Final, NamedTuple

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDictProxy

from .decision import Decision, RequestKind
from .errors import ConfigError, Problem
from .policy import CORSPolicy, policy_from_options
from .response import _SPECIAL_FIRST, log_refusal, logger, merge_response_headers
from .routes import RouteRules, Routes, policy_or_routes

__all__ = ["CORS", "ResourceOptions", "policy_from_aiohttp_cors", "setup"]

_server_logger = logging.getLogger("aiohttp.server")
_debug_enabled = logger.isEnabledFor
_DEBUG: Final = logging.DEBUG

_ERROR_TEXT: Final = "500 Internal Server Error\n\nServer got itself in trouble"


class ResourceOptions(NamedTuple):
    """aiohttp-cors's per-origin options, same fields and defaults (a drop-in import)."""

    allow_credentials: bool = False
    expose_headers: Any = ()
    allow_headers: Any = ()
    max_age: int | None = None
    allow_methods: Any = None


def _options_dict(value: object, origin: str, problems: list[Problem]) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        return dict(value)
    as_dict = getattr(value, "_asdict", None)  # aiohttp_cors.ResourceOptions is a namedtuple
    if callable(as_dict):
        return dict(as_dict())
    problems.append(
        Problem(
            f"config[{origin!r}]",
            value,
            "is not ResourceOptions or a dict",
            "pass ResourceOptions(...) or a dict of its fields",
        )
    )
    return None


def policy_from_aiohttp_cors(config: Mapping[str, Any], methods: Iterable[str] = ()) -> CORSPolicy:
    """Translate aiohttp-cors's ``{origin: ResourceOptions}`` into one :class:`CORSPolicy`.

    ``methods`` stand in for ``allow_methods=None`` (aiohttp-cors then allows the methods
    of the routes added). Options that differ between origins are refused: one policy has
    one set of options.
    """
    problems: list[Problem] = []
    by_origin: dict[str, dict[str, Any]] = {}
    for origin, value in config.items():
        options = _options_dict(value, origin, problems)
        if options is not None:
            by_origin[origin] = {**ResourceOptions()._asdict(), **options}
    distinct = {repr(sorted(options.items())) for options in by_origin.values()}
    if len(distinct) > 1:
        problems.append(
            Problem(
                "config",
                dict(config),
                "gives different options to different origins, which one policy cannot "
                "express (and the browser caches one answer per URL anyway)",
                "give all origins of a route the same ResourceOptions, or split the "
                "routes so each has one policy",
            )
        )
    if not by_origin and not problems:
        problems.append(
            Problem(
                "config",
                dict(config),
                "allows no origin",
                "pass {'https://app.example': ResourceOptions(...)}",
            )
        )
    if problems:
        raise ConfigError(problems)
    options = next(iter(by_origin.values()))
    unknown = set(options) - set(ResourceOptions._fields)
    allow_methods = options["allow_methods"]
    if allow_methods is None:
        allow_methods = sorted(set(methods)) or ("GET", "HEAD", "POST")
    kwargs: dict[str, Any] = {
        "allow_origins": list(by_origin),
        "allow_credentials": options["allow_credentials"],
        "expose_headers": options["expose_headers"],
        "allow_headers": options["allow_headers"],
        "max_age": options["max_age"],
        "allow_methods": allow_methods,
    }
    kwargs.update({name: options[name] for name in unknown})  # reported by the core
    return policy_from_options(None, kwargs)


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


# Each decision's pairs for a response (grant headers, then Vary) as str, built once per
# (shared, memoised) decision. Bounded: a resolver's decisions are built per request.
_PAIRS: dict[Decision, tuple[tuple[str, str], ...]] = {}
_PAIRS_ENTRIES: Final = 1024


def _pairs(decision: Decision) -> tuple[tuple[str, str], ...]:
    pairs = decision.str_headers
    if decision.vary:
        pairs = (*pairs, ("Vary", decision.vary.decode("latin-1")))
    if len(_PAIRS) >= _PAIRS_ENTRIES:
        _PAIRS.clear()
    _PAIRS[decision] = pairs
    return pairs


def _apply(decision: Decision, response: web.StreamResponse) -> None:
    # A response with no Access-Control-* or Vary header of its own (one look at each
    # name's first character proves it) just gets the decision's pairs; others merge.
    headers = response.headers
    for name in headers:
        if not name or name[0] in _SPECIAL_FIRST:
            break
    else:
        pairs = _PAIRS.get(decision)
        headers.extend(pairs if pairs is not None else _pairs(decision))
        return
    merged = merge_response_headers(
        list(headers.items()), decision.str_headers, decision.vary.decode("latin-1")
    )
    headers.clear()
    headers.extend(merged)


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
    ``defaults`` (aiohttp-cors's ``{origin: ResourceOptions}``) is what :meth:`add` uses
    when called without a config.
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
        self._defaults_config: Mapping[str, Any] = dict(defaults or {})
        if self._defaults_config:
            policy_from_aiohttp_cors(self._defaults_config)  # fail at setup, not per add()
        # resource -> (policy, the config it was built from, methods added so far)
        self._by_resource: dict[web.AbstractResource, tuple[CORSPolicy, object, set[str]]] = {}
        if app is not None:
            app.middlewares.append(self.middleware)
            # Handlers that prepare (stream) their own response send headers before the
            # middleware sees the response; this signal reaches them in time.
            app.on_response_prepare.append(_on_response_prepare)

    def add(self, routing_entity: Any, config: CORSPolicy | Mapping[str, Any] | None = None) -> Any:
        """Give a route (or a whole resource) its policy; returns ``routing_entity``.

        ``config`` is a :class:`CORSPolicy`, aiohttp-cors's ``{origin: ResourceOptions}``
        (merged over ``defaults`` per origin, as aiohttp-cors does), or None for the
        defaults.
        """
        if isinstance(routing_entity, web.AbstractRoute):
            resource = routing_entity.resource
            methods = {routing_entity.method}
        elif isinstance(routing_entity, web.AbstractResource):
            resource = routing_entity
            methods = {route.method for route in resource}
        else:
            raise ConfigError(
                [
                    Problem(
                        "routing_entity",
                        routing_entity,
                        "is not a route or a resource",
                        "pass what app.router.add_get(...) or add_resource(...) returns",
                    )
                ]
            )
        if resource is None:
            raise ConfigError(
                [Problem("routing_entity", routing_entity, "has no resource", "add a route")]
            )
        previous = self._by_resource.get(resource)
        key: object = config if isinstance(config, CORSPolicy) else repr(config)
        if previous is not None and previous[1] != key:
            raise ConfigError(
                [
                    Problem(
                        "config",
                        config,
                        f"{resource.canonical} already has a different CORS policy",
                        "give every route of one URL the same policy (browsers cache "
                        "preflight answers per URL, not per method)",
                    )
                ]
            )
        methods |= previous[2] if previous is not None else set()
        if isinstance(config, CORSPolicy):
            policy = config
        else:
            merged = {**self._defaults_config, **(config or {})}
            policy = policy_from_aiohttp_cors(merged, {m for m in methods if m != "*"})
        self._by_resource[resource] = (policy, key, methods)
        return routing_entity

    async def _preflighted_resource(
        self, request: web.Request
    ) -> tuple[CORSPolicy, object, set[str]] | None:
        # aiohttp's own resolution: a resource whose path matches reports the methods it
        # does register, even though OPTIONS is not among them.
        for resource, entry in self._by_resource.items():
            match, allowed_methods = await resource.resolve(request)
            if match is not None or allowed_methods:
                return entry
        return None

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
        if entry is not None:
            policy: CORSPolicy | None = entry[0]
        elif self._routes is not None:
            policy = self._routes.policy_for(request.path)
        else:
            policy = self._policy
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
        return response


def setup(app: web.Application, *, defaults: Mapping[str, Any] | None = None) -> CORS:
    """aiohttp-cors's ``setup(app, defaults=...)``: returns the object whose ``add()`` gives
    routes their policy. Routes never added get no CORS headers, as with aiohttp-cors.
    """
    return CORS(app, defaults=defaults)
