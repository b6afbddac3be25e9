"""ASGI middleware: Starlette, FastAPI, Litestar, Quart, Django (ASGI) and any ASGI app.

``CORSMiddleware(app, allow_origins=[...])`` takes Starlette's keyword names, so
``app.add_middleware(CORSMiddleware, ...)`` works unchanged; insecure settings that
Starlette accepts raise :class:`~crossorigin.ConfigError` here.

Starlette and FastAPI build their middleware stack on the first ASGI call (the lifespan),
and uvicorn's default ``lifespan="auto"`` takes an exception there for "lifespan not
supported", then serves every request with a 500. So when the stack is being built that
way, a :class:`~crossorigin.ConfigError` is not raised but held: the middleware answers
the lifespan startup with ``lifespan.startup.failed`` carrying the error's text (uvicorn and
hypercorn log it and exit before serving anything) and, should a server run without a
lifespan, answers every request with a 500 and logs the error.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

from .decision import Decision, RequestKind
from .errors import ConfigError
from .policy import CORSPolicy, StaticPath, static_path
from .response import (
    _SPECIAL_FIRST,
    add_cors_headers,
    log_non_canonical,
    log_refusal,
    logger,
    merge_response_headers,
    passthrough_headers,
)
from .routes import RouteRules, Routes, is_canonical_path, policy_or_routes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_ERROR_BODY)).encode("ascii")),
)
_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
_CONNECTION_CLOSE = (b"connection", b"close")
# Refusals are logged at DEBUG, usually disabled: checking that here saves the call.
_debug_enabled = logger.isEnabledFor
_DEBUG = logging.DEBUG
_PREFLIGHT = RequestKind.PREFLIGHT  # a module global is cheaper to reach than an enum member
_ORIGIN = b"origin"
_ACRM = b"access-control-request-method"
_ACRH = b"access-control-request-headers"
# ASGI servers lowercase request header names, so one set lookup per header tells whether
# it matters to CORS at all (most do not).
_CORS_REQUEST_HEADERS = frozenset(
    (
        b"origin",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"access-control-request-private-network",
    )
)


def read_cors_headers(
    headers: Any,
) -> tuple[str | None, str | None, str | None, str | None]:
    """Origin, ACRM, ACRH and ACRPN from ASGI header pairs; repeats comma-joined.

    Runs for every request: one set lookup per header, and only the few CORS headers are
    decoded.
    """
    origin = request_method = request_headers = private_network = None
    for name, value in headers:
        try:
            relevant = name in _CORS_REQUEST_HEADERS
        except TypeError:  # an unhashable name (a bytearray): not what servers send
            name = bytes(name)
            relevant = name in _CORS_REQUEST_HEADERS
        if not relevant:
            continue
        text = bytes(value).decode("latin-1")
        if name == _ORIGIN:
            origin = text if origin is None else f"{origin}, {text}"
        elif name == _ACRM:
            request_method = text if request_method is None else f"{request_method}, {text}"
        elif name == _ACRH:
            request_headers = text if request_headers is None else f"{request_headers},{text}"
        else:
            private_network = text if private_network is None else f"{private_network}, {text}"
    return origin, request_method, request_headers, private_network


class CORSMiddleware:
    """Answer CORS preflights and add CORS headers to every HTTP response of ``app``.

    Pass either ``policy=CORSPolicy(...)``, :class:`~crossorigin.CORSPolicy`'s keyword
    options directly, or ``routes=[(pattern, policy), ...]`` for per-path policies (see
    :mod:`crossorigin.routes`; a path matching no rule passes through untouched, a path
    not in canonical form gets no grant at all). Non-HTTP scopes (``lifespan``,
    ``websocket``) pass through untouched.

    ``preflight_passthrough=True`` (Express's ``preflightContinue``, Flask-CORS's
    ``automatic_options=False``) lets the app answer CORS preflights itself; the grant, or
    nothing when the preflight is refused, is added to the app's answer.
    """

    __slots__ = ("_config_error", "_policy", "_static", "app", "preflight_passthrough", "routes")

    routes: Routes | None
    _policy: CORSPolicy

    # ``app`` is positional-only: with a named ``app`` beside ``**options``, mypy cannot
    # match the class to Starlette's middleware factory protocol, and every
    # ``app.add_middleware(CORSMiddleware, ...)`` fails type checking. Litestar's
    # ``DefineMiddleware`` passes it by keyword instead, so ``app=`` is taken from options.
    def __init__(
        self,
        app: ASGIApp | None = None,
        /,
        policy: CORSPolicy | None = None,
        *,
        routes: Routes | RouteRules | None = None,
        preflight_passthrough: bool = False,
        **options: Any,
    ) -> None:
        if app is None:
            app = options.pop("app", None)
            if app is None:
                raise TypeError("CORSMiddleware needs the ASGI app it wraps")
        self.app = app
        self._static: StaticPath | None = None
        self._config_error: Exception | None = None
        self.preflight_passthrough = preflight_passthrough
        self.routes = None
        if policy is None and routes is None:
            options = _with_starlette_defaults(options)
        try:
            single, self.routes = policy_or_routes(policy, routes, options)
        except Exception as error:  # ConfigError, or a bug of ours: either must stop startup
            if not _built_lazily_by_a_framework():
                raise
            self._config_error = error
            return
        if single is not None:
            self.policy = single

    @property
    def policy(self) -> CORSPolicy:
        """The single policy (not set in routes mode). Assigning a new one swaps it
        atomically for the following requests."""
        return self._policy

    @policy.setter
    def policy(self, policy: CORSPolicy) -> None:
        self._policy = policy
        # The fast path answers preflights itself, so passthrough takes the general one.
        self._static = None if self.preflight_passthrough else static_path(policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if self._config_error is not None:
                await _refuse_to_serve(self._config_error, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        static = self._static
        if static is not None:
            # read_cors_headers inlined (this runs for every request): one set lookup per
            # header, and only the few CORS headers are decoded. Anything but a list of
            # byte pairs takes the general reader, which gives the same answer or error.
            headers = scope["headers"]
            origin = request_method = request_headers = private_network = None
            if type(headers) is list:
                try:
                    for name, value in headers:
                        if name in _CORS_REQUEST_HEADERS:
                            text = value.decode("latin-1")
                            if name == _ORIGIN:
                                origin = text if origin is None else f"{origin}, {text}"
                            elif name == _ACRM:
                                request_method = (
                                    text if request_method is None else f"{request_method}, {text}"
                                )
                            elif name == _ACRH:
                                request_headers = (
                                    text if request_headers is None else f"{request_headers},{text}"
                                )
                            else:
                                private_network = (
                                    text
                                    if private_network is None
                                    else f"{private_network}, {text}"
                                )
                except Exception:
                    origin, request_method, request_headers, private_network = read_cors_headers(
                        headers
                    )
            else:
                origin, request_method, request_headers, private_network = read_cors_headers(
                    headers
                )
            decide, by_origin, decide_preflight = static
            if request_method is None or method != "OPTIONS":  # not a preflight
                decision = by_origin.get(origin)
                if decision is None:
                    decision = decide(
                        method, origin, request_method, request_headers, private_network
                    )
            elif origin is not None and decide_preflight is not None:
                decision = decide_preflight(
                    origin, request_method, request_headers, private_network
                )
            else:
                decision = decide(method, origin, request_method, request_headers, private_network)
        else:
            routes = self.routes
            if routes is None:
                if self._config_error is not None:
                    await _refuse_to_serve(self._config_error, scope, receive, send)
                    return
                policy: CORSPolicy | None = self.policy
            else:
                path: str = scope["path"]
                if not is_canonical_path(path, scope.get("raw_path")):
                    await self._refuse_non_canonical(scope, receive, send)
                    return
                policy = routes.policy_for(path)
            if policy is None:
                await self.app(scope, receive, send)
                return
            if policy.has_resolver:
                decision = await policy.decide_async(method, *read_cors_headers(scope["headers"]))
            else:
                decision = policy.decide(method, *read_cors_headers(scope["headers"]))
            if decision.kind is _PREFLIGHT and self.preflight_passthrough:
                await self._pass_preflight(decision, scope, receive, send)
                return
        if decision.kind is _PREFLIGHT:
            if not decision.allowed and _debug_enabled(_DEBUG):
                log_refusal(decision, "OPTIONS", scope.get("path", ""))
            # A new list each time: servers and outer middleware may modify it.
            await send(
                {
                    "type": "http.response.start",
                    "status": decision.status,
                    "headers": list(decision._tail),
                }
            )
            await send(_EMPTY_BODY)
            return
        if not decision.allowed and _debug_enabled(_DEBUG):
            log_refusal(decision, method, scope.get("path", ""))
        response_started = False

        # Not a coroutine function: it returns the server's own awaitable, so the app's
        # messages cost no extra coroutine each.
        def send_with_cors(message: Message) -> Awaitable[None]:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                # A new dict: the app's may be a constant it sends on every request.
                message = message.copy() if type(message) is dict else {**message}
                # add_cors_headers inlined, with the decision's prebuilt tail: when no app
                # header name starts with a or v (any case), nothing can clash and the
                # merge is one concatenation; anything else takes the full merge.
                app_headers = message.get("headers", ())
                merged = None
                if type(app_headers) is list:
                    try:
                        for name, _ in app_headers:
                            if name[0] in _SPECIAL_FIRST:
                                break
                        else:
                            merged = app_headers + decision._tail
                    except (IndexError, TypeError, ValueError):  # an empty name, a bad pair
                        pass
                if merged is None:
                    merged = add_cors_headers(app_headers, decision.headers, decision.vary)
                message["headers"] = merged
            return send(message)

        try:
            await self.app(scope, receive, send_with_cors)
        except Exception:
            if not response_started:
                # The browser should see the real 500, not a misleading CORS error.
                await _send_error(send, decision, scope.get("http_version", "1.1"))
            raise

    async def _refuse_non_canonical(self, scope: Scope, receive: Receive, send: Send) -> None:
        """No grant for a path routers read differently: a preflight gets a bare 403 (the
        app's own, with passthrough), anything else reaches the app without CORS headers."""
        origin, request_method, _, _ = read_cors_headers(scope["headers"])
        method: str = scope["method"]
        if origin is not None:
            preflight = method == "OPTIONS" and request_method is not None
            log_non_canonical(preflight, method, scope.get("path", ""))
            if preflight and not self.preflight_passthrough:
                await send({"type": "http.response.start", "status": 403, "headers": []})
                await send(_EMPTY_BODY)
                return
        await self.app(scope, receive, send)

    async def _pass_preflight(
        self, decision: Decision, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The app answers the preflight; the decision's headers are merged into it."""
        if not decision.allowed and _debug_enabled(_DEBUG):
            log_refusal(decision, "OPTIONS", scope.get("path", ""))
        cors_headers, vary = passthrough_headers(decision)
        response_started = False

        async def send_with_cors(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message = {**message}
                message["headers"] = add_cors_headers(
                    message.get("headers", ()), cors_headers, vary
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_cors)
        except Exception:
            if not response_started:
                await _send_error(
                    send,
                    Decision(decision.kind, decision.allowed, cors_headers, vary),
                    scope.get("http_version", "1.1"),
                )
            raise


# Starlette's CORSMiddleware always allows these request headers (and lists them in its
# preflight answers); with its option names, so do we, or a JSON POST that worked under
# Starlette would be refused after the switch.
STARLETTE_ALWAYS_ALLOWED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")


# Starlette's own default, kept for the same options: it changes how often a browser repeats
# a preflight, never what it allows.
STARLETTE_MAX_AGE = 600
# With no origin given, Starlette's middleware starts and grants nothing; so do we, with a
# policy built around this origin, which no browser sends (.invalid never resolves), so
# every other option is still validated.
NO_ORIGIN = "https://no-origin-configured.invalid"
_ORIGIN_OPTIONS = ("allow_origins", "allow_origin_regex", "origin_resolver")


def _with_starlette_defaults(options: dict[str, Any]) -> dict[str, Any]:
    """Starlette's meaning of its own keyword options where ours would differ visibly:
    the safelisted request headers always allowed, ``max_age=600``, and no origin given
    meaning "grant nothing" (with a warning) rather than an error."""
    options = _with_starlette_headers(options)
    if "max_age" not in options:
        options = {**options, "max_age": STARLETTE_MAX_AGE}
    gives_origins = any(options.get(name) not in (None, (), [], "") for name in _ORIGIN_OPTIONS)
    if not gives_origins and options.get("dangerously_reflect_any_origin") is not True:
        logger.warning(
            "CORSMiddleware has no allowed origins (allow_origins, allow_origin_regex or "
            "origin_resolver), so it refuses every cross-origin request, as Starlette's "
            "does; list them, e.g. allow_origins=['https://app.example.com']"
        )
        options = {**options, "allow_origins": [NO_ORIGIN]}
    return options


def _with_starlette_headers(options: dict[str, Any]) -> dict[str, Any]:
    headers = options.get("allow_headers", ())
    if isinstance(headers, str):
        headers = [headers]
    try:
        given = list(headers)
    except TypeError:  # not iterable: CORSPolicy reports it, with its fix
        return options
    if not all(isinstance(name, str) for name in given) or "*" in given:
        return options
    listed = {name.lower() for name in given}
    extra = [name for name in STARLETTE_ALWAYS_ALLOWED_HEADERS if name.lower() not in listed]
    return {**options, "allow_headers": [*given, *extra]} if extra else options


def _built_lazily_by_a_framework() -> bool:
    """Whether this construction runs inside Starlette's (or FastAPI's) lazy
    ``build_middleware_stack``, that is during the server's first ASGI call, where a
    raised error would be taken for "lifespan unsupported" and then served as 500s."""
    # The caller of __init__ (type.__call__ adds no Python frame).
    frame: FrameType | None = sys._getframe(2)
    for _ in range(4):  # allow for subclasses calling super().__init__
        if frame is None:
            return False
        if frame.f_code.co_name == "build_middleware_stack":
            return True
        frame = frame.f_back
    return False


async def _refuse_to_serve(error: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """A misconfigured middleware built during the first ASGI call: fail the startup, and
    never serve a response without the policy the user asked for."""
    shown = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
    text = f"crossorigin.asgi.CORSMiddleware cannot start: {shown}"
    kind = scope["type"]
    if kind == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            # uvicorn and hypercorn log this text and exit, whatever their lifespan mode;
            # raising after it, as Starlette's own lifespan does, reaches test clients.
            await send({"type": "lifespan.startup.failed", "message": text})
            raise error
        await send({"type": "lifespan.shutdown.complete"})
        return
    logger.error("%s", text)
    if kind == "http":
        await _send_error(send, _NO_GRANT, scope.get("http_version", "1.1"))
    elif kind == "websocket":
        await send({"type": "websocket.close", "code": 1011})


_NO_GRANT = Decision(RequestKind.NOT_CORS, False, ())


async def _send_error(send: Send, decision: Decision, http_version: str) -> None:
    headers = merge_response_headers(_ERROR_HEADERS, decision.headers, decision.vary)
    if http_version.startswith("1."):
        # Servers drop the connection after an app's exception (uvicorn does); without
        # this a client reusing it for its next request gets a reset. HTTP/2+ forbids it.
        headers.append(_CONNECTION_CLOSE)
    try:
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": _ERROR_BODY})
    except Exception:  # the connection may be gone; the original error matters more
        return
