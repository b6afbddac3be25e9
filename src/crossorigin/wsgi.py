"""WSGI middleware: Flask, Django, Bottle, Falcon, Pyramid and any WSGI app.

``CORSMiddleware(app, allow_origins=[...])`` wraps a WSGI callable (for Flask:
``app.wsgi_app = CORSMiddleware(app.wsgi_app, ...)``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from types import TracebackType
from typing import Any, Protocol

from .decision import Decision, RequestKind
from .policy import CORSPolicy, StaticPath, static_path
from .response import (
    add_cors_str_headers,
    log_non_canonical,
    log_refusal,
    logger,
    merge_response_headers,
    passthrough_headers,
)
from .routes import RouteRules, Routes, is_canonical_path, policy_or_routes

# As typeshed spells it (a traceback, never None): a wider type here would make the
# middleware unassignable to every WSGI application type, Flask's wsgi_app included.
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
Environ = dict[str, Any]


class StartResponse(Protocol):
    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | tuple[None, None, None] | None = ...,
        /,
    ) -> Callable[[bytes], object]: ...


WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(_ERROR_BODY))),
)


# Refusals are logged at DEBUG, usually disabled: checking that here saves the call.
_debug_enabled = logger.isEnabledFor
_DEBUG = logging.DEBUG
_PREFLIGHT = RequestKind.PREFLIGHT  # a module global is cheaper to reach than an enum member
# The Vary values policies produce, already decoded (others are decoded per request).
_VARY_TEXT = {b"": "", b"Origin": "Origin"}


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class CORSMiddleware:
    """Answer CORS preflights and add CORS headers to every response of a WSGI ``app``.

    Pass either ``policy=CORSPolicy(...)``, :class:`~crossorigin.CORSPolicy`'s keyword
    options, or ``routes=[(pattern, policy), ...]`` for per-path policies (see
    :mod:`crossorigin.routes`; a path matching no rule passes through untouched, a path
    not in canonical form gets no grant at all). The app's response body is returned as is
    (streaming, ``wsgi.file_wrapper`` and ``close()`` are untouched).

    ``preflight_passthrough=True`` (Express's ``preflightContinue``, Flask-CORS's
    ``automatic_options=False``) lets the app answer CORS preflights itself; the grant, or
    nothing when the preflight is refused, is added to the app's answer.
    """

    __slots__ = (
        "_policy",
        "_static",
        "_status_lines",
        "app",
        "preflight_passthrough",
        "routes",
    )

    routes: Routes | None
    _policy: CORSPolicy

    def __init__(
        self,
        app: WSGIApp,
        policy: CORSPolicy | None = None,
        *,
        routes: Routes | RouteRules | None = None,
        preflight_passthrough: bool = False,
        **options: Any,
    ) -> None:
        self.app = app
        self._static: StaticPath | None = None
        self.preflight_passthrough = preflight_passthrough
        single, self.routes = policy_or_routes(policy, routes, options)
        if single is not None:
            self.policy = single
            policies: tuple[CORSPolicy, ...] = (single,)
        else:
            assert self.routes is not None
            policies = self.routes.policies
        self._status_lines = {
            status: _status_line(status)
            for status in (*(p.preflight_status for p in policies), 403)
        }

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

    def _decide_other(self, method: str, environ: Environ) -> Decision | None:
        """Routes mode, a policy with an origin resolver, or preflight passthrough; None
        when no rule matches, and a bare refusal for a path that is not canonical."""
        routes = self.routes
        if routes is None:
            policy: CORSPolicy | None = self._policy
        else:
            path = wsgi_path(environ)
            raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
            if not is_canonical_path(path, raw if isinstance(raw, str) else None):
                return _non_canonical(method, environ)
            policy = routes.policy_for(path)
        if policy is None:
            return None
        return decide_environ(policy, method, environ)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method: str = environ.get("REQUEST_METHOD", "GET")
        static = self._static
        if static is not None:
            decide, by_origin, decide_preflight = static
            origin = environ.get("HTTP_ORIGIN")
            request_method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
            if request_method is None or method != "OPTIONS":  # not a preflight
                found = by_origin.get(origin)
                if found is not None:
                    decision = found
                else:
                    decision = decide(
                        method,
                        origin,
                        request_method,
                        environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                        environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
                    )
            elif origin is not None and decide_preflight is not None:
                decision = decide_preflight(
                    origin,
                    request_method,
                    environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                    environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
                )
            else:
                decision = decide(
                    method,
                    origin,
                    request_method,
                    environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                    environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
                )
        else:
            selected = self._decide_other(method, environ)
            if selected is None:
                return self.app(environ, start_response)
            decision = selected
        if decision is _NON_CANONICAL or (
            decision is _NON_CANONICAL_PREFLIGHT and self.preflight_passthrough
        ):
            return self.app(environ, start_response)
        if decision.kind is _PREFLIGHT:
            if not self.preflight_passthrough:
                return self._answer_preflight(decision, environ, start_response)
            if not decision.allowed:
                log_refusal(decision, "OPTIONS", environ.get("PATH_INFO", ""))
            grant, vary_bytes = passthrough_headers(decision)
            cors_headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in grant)
            vary = vary_bytes.decode("latin-1")
        else:
            if not decision.allowed and _debug_enabled(_DEBUG):
                log_refusal(decision, method, environ.get("PATH_INFO", ""))
            cors_headers = decision.str_headers
            known = _VARY_TEXT.get(decision.vary)
            vary = decision.vary.decode("latin-1") if known is None else known

        def start_response_with_cors(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: ExcInfo | tuple[None, None, None] | None = None,
        ) -> Callable[[bytes], object]:
            return start_response(
                status, add_cors_str_headers(headers, cors_headers, vary), exc_info
            )

        try:
            return self.app(environ, start_response_with_cors)
        except Exception:
            # Headers are not sent before the app returns, so a 500 can still replace
            # whatever the app started: the browser sees the real error with its grant.
            start_response(
                "500 Internal Server Error",
                merge_response_headers(_ERROR_HEADERS, cors_headers, vary),
                sys.exc_info(),
            )
            return _ErrorBodyThenRaise(sys.exc_info()[1])

    def _answer_preflight(
        self, decision: Decision, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        if decision.refusals:  # a non-canonical path was logged when it was refused
            log_refusal(decision, "OPTIONS", environ.get("PATH_INFO", ""))
        headers = list(decision.str_headers)
        if decision.status != 204:
            headers.append(("Content-Length", "0"))
        start_response(
            self._status_lines.get(decision.status) or _status_line(decision.status), headers
        )
        return []


# Stands for "no grant, pass the request to the app as it is" (a non-canonical path).
_NON_CANONICAL = Decision(RequestKind.NOT_CORS, False, ())
_NON_CANONICAL_PREFLIGHT = Decision(RequestKind.PREFLIGHT, False, (), b"", 403)


def _non_canonical(method: str, environ: Environ) -> Decision:
    """The refusal for a CORS request whose path is not canonical (logged at DEBUG)."""
    if environ.get("HTTP_ORIGIN") is None:
        return _NON_CANONICAL
    preflight = method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    log_non_canonical(preflight, method, environ.get("PATH_INFO", ""))
    return _NON_CANONICAL_PREFLIGHT if preflight else _NON_CANONICAL


def wsgi_path(environ: Environ) -> str:
    """``PATH_INFO`` as the text the app routes on (PEP 3333 carries it as latin-1)."""
    path: str = environ.get("PATH_INFO", "")
    if path.isascii():
        return path
    return path.encode("latin-1", "replace").decode("utf-8", "replace")


def decide_environ(policy: CORSPolicy, method: str, environ: Environ) -> Decision:
    """``policy.decide`` fed from a WSGI environ (servers comma-join repeated headers);
    an origin resolver, if configured, is consulted (blocking)."""
    return policy.decide_blocking(
        method,
        environ.get("HTTP_ORIGIN"),
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
    )


class _ErrorBodyThenRaise:
    """Yields the 500 body, then re-raises the app's exception.

    The server has then sent a complete 500 (with CORS headers) and still sees the
    exception, so it logs it as it would without the middleware.
    """

    __slots__ = ("_error",)

    def __init__(self, error: BaseException | None) -> None:
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        yield _ERROR_BODY
        if self._error is not None:
            error, self._error = self._error, None
            raise error
