"""Tornado integration: a base ``RequestHandler`` that applies a CORS policy.

Tornado is neither ASGI nor WSGI; its idiom for cross-cutting behaviour is a base handler
class. Derive your handlers from :class:`CORSRequestHandler` and give the policy either
app-wide, as the ``cors_policy`` application setting, or per handler, as the
``cors_policy`` class attribute (which wins)::

    from crossorigin import CORSPolicy
    from crossorigin.tornado import CORSRequestHandler

    class Items(CORSRequestHandler):
        def get(self) -> None:
            self.write({"items": []})

    app = tornado.web.Application(
        [(r"/items", Items)],
        cors_policy=CORSPolicy(allow_origins=["https://app.example.com"]),
        default_handler_class=CORSNotFoundHandler,  # 404s keep their grant too
    )

Preflights are answered in ``prepare()`` before any method handler runs (a handler needs
no ``options`` method). Every other response, error pages from ``send_error`` included,
gets the grant when its headers are first flushed, so a failing handler shows the browser
its real 500 instead of a CORS error. A subclass that overrides ``prepare`` must call
``super().prepare()`` first (and await it when it returns an awaitable: it does when the
policy has an origin resolver).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import ClassVar

import tornado.web
from tornado.concurrent import Future
from tornado.httputil import HTTPHeaders

from .decision import Decision, RequestKind
from .policy import CORSPolicy
from .response import log_refusal, merge_response_headers

__all__ = ["CORSNotFoundHandler", "CORSRequestHandler"]

SETTING = "cors_policy"


def _joined(headers: HTTPHeaders, name: str, separator: str = ", ") -> str | None:
    # A repeated header reaches the policy comma-joined (HTTP list semantics), so a
    # repeated Origin is malformed and refused, as in every other adapter.
    values = headers.get_list(name)
    if not values:
        return None
    return separator.join(values)


class CORSRequestHandler(tornado.web.RequestHandler):
    """A ``RequestHandler`` whose responses follow a :class:`~crossorigin.CORSPolicy`."""

    #: This handler's policy; None takes the application's ``cors_policy`` setting.
    cors_policy: ClassVar[CORSPolicy | None] = None

    _cors_decision: Decision | None = None

    def _selected_cors_policy(self) -> CORSPolicy | None:
        policy = type(self).cors_policy
        if policy is not None:
            return policy
        setting = self.settings.get(SETTING)
        if setting is not None and not isinstance(setting, CORSPolicy):
            raise TypeError(
                f"the {SETTING!r} application setting must be a crossorigin.CORSPolicy, "
                f"not {type(setting).__name__}"
            )
        return setting

    def _cors_arguments(self) -> tuple[str, str | None, str | None, str | None, str | None]:
        headers = self.request.headers
        return (
            self.request.method or "GET",
            _joined(headers, "Origin"),
            _joined(headers, "Access-Control-Request-Method"),
            _joined(headers, "Access-Control-Request-Headers", ","),
            _joined(headers, "Access-Control-Request-Private-Network"),
        )

    def prepare(self) -> Awaitable[None] | None:
        """Decide the request; answer it here when it is a preflight."""
        policy = self._selected_cors_policy()
        if policy is None:
            return None
        if policy.has_resolver:
            return self._prepare_with_resolver(policy)
        self._apply_decision(policy.decide(*self._cors_arguments()))
        return None

    async def _prepare_with_resolver(self, policy: CORSPolicy) -> None:
        self._apply_decision(await policy.decide_async(*self._cors_arguments()))

    def _apply_decision(self, decision: Decision) -> None:
        self._cors_decision = decision
        if not decision.allowed:
            log_refusal(decision, self.request.method or "", self.request.path)
        if decision.kind is RequestKind.PREFLIGHT:
            self.clear()
            self.set_status(decision.status)
            for name, value in decision.str_headers:
                self.set_header(name, value)
            self.finish()

    def flush(self, include_footers: bool = False) -> Future[None]:
        decision = self._cors_decision
        if decision is None and not self._headers_written:
            # No prepare() ran (Tornado refused the method first, or a subclass's prepare
            # failed before calling ours): decide now, so even that answer is readable.
            try:
                policy = self._selected_cors_policy()
            except TypeError:  # already raised from prepare(): this is its error page
                policy = None
            if policy is not None and not policy.has_resolver:
                decision = policy.decide(*self._cors_arguments())
        if (
            decision is not None
            and decision.kind is not RequestKind.PREFLIGHT
            and not self._headers_written
        ):
            merged = merge_response_headers(
                list(self._headers.get_all()),
                decision.str_headers,
                decision.vary.decode("latin-1"),
            )
            headers = HTTPHeaders()
            for name, value in merged:
                headers.add(name, value)
            self._headers = headers
        return super().flush(include_footers)


class CORSNotFoundHandler(CORSRequestHandler):
    """A ``default_handler_class`` whose 404s carry the CORS grant, like every other
    response: a missing route then shows as a 404 in the browser, not a CORS error."""

    def prepare(self) -> Awaitable[None] | None:
        pending = super().prepare()
        if pending is not None:
            return self._then_not_found(pending)
        if not self._finished:
            raise tornado.web.HTTPError(404)
        return None

    async def _then_not_found(self, pending: Awaitable[None]) -> None:
        await pending
        if not self._finished:
            raise tornado.web.HTTPError(404)
