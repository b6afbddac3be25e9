"""Dynamic origins: a user callable deciding whether an origin is allowed, behind a cache.

For allow-lists that live in a database (tenants registering their domains). The policy's
static origins are checked first; only an origin they do not grant reaches the resolver.
Verdicts are cached per resolver in a bounded table with a TTL, so the callable runs at
most once per origin per TTL. The resolver never makes a request fail: an exception, a
timeout or a non-bool answer means "refused", is logged (WARNING, ``crossorigin`` logger,
sanitised) and is cached for a shorter time so a flapping backend recovers quickly.

Only syntactically valid serialized origins are ever passed to the callable (never
``null``, never garbage), so it can use the value in a query without further checks.

:meth:`CORSPolicy.decide` stays pure and synchronous: it only reads this cache. Adapters
call :meth:`CORSPolicy.decide_async` (ASGI, aiohttp: async resolvers are awaited, sync ones
run in a worker thread so the event loop never blocks) or
:meth:`CORSPolicy.decide_blocking` (WSGI: the callable runs in a small thread pool so the
timeout holds), and only when a resolver is configured.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from time import monotonic
from typing import Final

from .decision import sanitize
from .origins import parse_request_origin

logger = logging.getLogger("crossorigin")

ResolverFunction = Callable[[str], bool] | Callable[[str], Awaitable[bool]]

# Failures are remembered briefly: long enough to shield a struggling backend from a
# request flood, short enough that a tenant is not locked out after a blip.
_FAILURE_TTL: Final = 5.0
_POOL_WORKERS: Final = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _blocking_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_POOL_WORKERS, thread_name_prefix="crossorigin-resolver")
        return _pool


class OriginResolver:
    """A resolver callable plus its cache settings. Pass it (or just the callable) as
    ``CORSPolicy(origin_resolver=...)``.

    :param function: ``f(origin) -> bool``, or ``async def f(origin) -> bool``.
    :param ttl: seconds a verdict stays cached (at least 1).
    :param timeout: seconds to wait for ``function`` before refusing.
    :param max_entries: bound on the cache (the least recently resolved entries are
        evicted first).
    """

    __slots__ = ("_cache", "_lock", "function", "is_async", "max_entries", "timeout", "ttl")

    def __init__(
        self,
        function: ResolverFunction,
        *,
        ttl: float = 60.0,
        timeout: float = 2.0,
        max_entries: int = 1024,
    ) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - async callable objects
        )
        self.ttl = ttl
        self.timeout = timeout
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self._lock = threading.Lock()

    def problems(self) -> list[tuple[str, object, str, str]]:
        """Configuration problems as (option, value, message, fix) tuples."""
        found: list[tuple[str, object, str, str]] = []
        if not callable(self.function):
            found.append(
                (
                    "origin_resolver",
                    self.function,
                    "is not callable",
                    "pass a function taking the origin and returning True or False",
                )
            )
        for name, value, low in (
            ("ttl", self.ttl, 1.0),
            ("timeout", self.timeout, 0.001),
            ("max_entries", self.max_entries, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
                found.append(
                    (
                        f"origin_resolver.{name}",
                        value,
                        f"must be a number of at least {low}",
                        f"pass {name}= a number >= {low}",
                    )
                )
        return found

    # --- the cache ---------------------------------------------------------------------------

    def cached(self, origin: str) -> bool | None:
        """The fresh cached verdict for ``origin``, or None when absent or expired."""
        entry = self._cache.get(origin)
        if entry is None:
            return None
        verdict, expires = entry
        if expires <= monotonic():
            return None
        return verdict

    def needs_call(self, origin: str) -> bool:
        """True when ``origin`` is a valid origin with no fresh verdict."""
        return self.cached(origin) is None and _resolvable(origin)

    def _store(self, origin: str, verdict: bool, ttl: float) -> None:
        with self._lock:
            cache = self._cache
            cache[origin] = (verdict, monotonic() + ttl)
            cache.move_to_end(origin)
            while len(cache) > self.max_entries:
                cache.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached verdict (e.g. after a tenant removed a domain)."""
        with self._lock:
            self._cache.clear()

    # --- calling the function ------------------------------------------------------------------

    def _record(self, origin: str, result: object) -> bool:
        if result is True or result is False:
            self._store(origin, result, self.ttl)
            return result
        logger.warning(
            "origin resolver returned %s for %s, not a bool: refused",
            sanitize(repr(result), 60),
            sanitize(origin),
        )
        self._store(origin, False, min(self.ttl, _FAILURE_TTL))
        return False

    def _failed(self, origin: str, why: str) -> bool:
        logger.warning("origin resolver failed for %s (%s): refused", sanitize(origin), why)
        self._store(origin, False, min(self.ttl, _FAILURE_TTL))
        return False

    async def resolve_async(self, origin: str) -> bool:
        """Ask the function (awaited, or in a worker thread if sync). Never raises."""
        if not _resolvable(origin):
            return False
        try:
            if self.is_async:
                result = await asyncio.wait_for(self.function(origin), self.timeout)  # type: ignore[arg-type]
            else:
                result = await asyncio.wait_for(
                    asyncio.to_thread(self.function, origin),  # type: ignore[arg-type]
                    self.timeout,
                )
        except TimeoutError:
            return self._failed(origin, f"timed out after {self.timeout} s")
        except Exception as error:
            return self._failed(origin, sanitize(f"{type(error).__name__}: {error}", 100))
        return self._record(origin, result)

    def resolve_blocking(self, origin: str) -> bool:
        """Ask the function from synchronous code, in a worker thread so the timeout holds.
        An async function runs on its own event loop there. Never raises."""
        if not _resolvable(origin):
            return False
        function = self.function
        call: Callable[[], object]
        if self.is_async:

            def call() -> object:
                return asyncio.run(function(origin))  # type: ignore[arg-type]

        else:

            def call() -> object:
                return function(origin)

        try:
            result = _blocking_pool().submit(call).result(timeout=self.timeout)
        except FutureTimeout:
            return self._failed(origin, f"timed out after {self.timeout} s")
        except Exception as error:
            return self._failed(origin, sanitize(f"{type(error).__name__}: {error}", 100))
        return self._record(origin, result)

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        return f"OriginResolver({name}, ttl={self.ttl}, timeout={self.timeout})"


def _resolvable(origin: str) -> bool:
    return origin != "null" and parse_request_origin(origin) is not None
