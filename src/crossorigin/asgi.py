"""ASGI middleware: Starlette, FastAPI, Litestar, Quart, Django (ASGI) and any ASGI app.

``CORSMiddleware(app, allow_origins=[...])`` takes Starlette's keyword names, so
``app.add_middleware(CORSMiddleware, ...)`` works unchanged; insecure settings that
Starlette accepts raise :class:`~crossorigin.ConfigError` here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .decision import Decision, RequestKind
from .policy import CORSPolicy, StaticPath, static_path
from .response import _SPECIAL_FIRST, add_cors_headers, log_refusal, logger, merge_response_headers
from .routes import RouteRules, Routes, policy_or_routes

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
    :mod:`crossorigin.routes`; a path matching no rule passes through untouched).
    Non-HTTP scopes (``lifespan``, ``websocket``) pass through untouched.
    """

    __slots__ = ("_policy", "_static", "app", "routes")

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
        **options: Any,
    ) -> None:
        if app is None:
            app = options.pop("app", None)
            if app is None:
                raise TypeError("CORSMiddleware needs the ASGI app it wraps")
        self.app = app
        self._static: StaticPath | None = None
        single, self.routes = policy_or_routes(policy, routes, options)
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
        self._static = static_path(policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
            policy = self.policy if routes is None else routes.policy_for(scope["path"])
            if policy is None:
                await self.app(scope, receive, send)
                return
            if policy.has_resolver:
                decision = await policy.decide_async(method, *read_cors_headers(scope["headers"]))
            else:
                decision = policy.decide(method, *read_cors_headers(scope["headers"]))
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
