"""Many replicas, one truth: share verdicts through Redis and invalidate over pub/sub.

Every replica keeps its own :class:`~crossorigin.OriginResolver` (its local cache, single
flight, stale-if-error). :class:`SharedOrigins` wraps the real lookup (a database) so that:

- a replica that misses its local cache asks Redis first, and only on a Redis miss the
  database, storing the answer in Redis for the others (``verdict_ttl``);
- :meth:`SharedOrigins.invalidate` (called where a tenant adds or removes a domain) deletes
  the shared verdict and publishes the origin on a channel; every replica listening drops it
  from its local cache at once, so the next request asks again;
- when Redis goes away, replicas ask the database directly, and their local caches (and
  stale grants, if the database is down too) keep serving; the listener reconnects by
  itself. An invalidation published while a replica was cut off is missed: that replica
  catches up when its local TTL expires.

Needs ``pip install 'crossorigin[redis]'`` (the ``redis`` package's asyncio client)::

    from crossorigin import CORSPolicy
    from crossorigin.recipes.redis import SharedOrigins
    from crossorigin.recipes.sql import SQLOrigins

    shared = SharedOrigins(SQLOrigins("sqlite:///tenants.db"), url="redis://127.0.0.1:6379/0")
    policy = CORSPolicy(origin_resolver=shared.resolver)   # ttl, grace... via resolver_options

    # where a tenant removes a domain (any process, sync or async):
    SQLOrigins("sqlite:///tenants.db").remove("https://old.example")
    await shared.invalidate("https://old.example")     # or shared.invalidate_blocking(...)
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..resolver import OriginResolver

logger = logging.getLogger("crossorigin")

Lookup = Callable[[str], bool] | Callable[[str], Awaitable[bool]]


class SharedOrigins:
    """A resolver function backed by ``lookup`` and shared through Redis.

    :param lookup: the source of truth, ``f(origin) -> bool`` or ``async def``. A sync one
        is called directly from the resolver's event loop or thread, so it should be quick
        (SQLite, an in-process table); otherwise pass an async one.
    :param url: the Redis URL.
    :param prefix: key prefix for shared verdicts.
    :param channel: the pub/sub channel carrying invalidated origins.
    :param verdict_ttl: seconds a verdict stays in Redis (whole number).
    :param redis_timeout: seconds for any one Redis operation, so a dead Redis costs a
        request at most this much before the database is asked directly.
    :param resolver_options: passed to this replica's :class:`OriginResolver`
        (``ttl``, ``grace``, ``timeout``...).
    """

    def __init__(
        self,
        lookup: Lookup,
        *,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "crossorigin:origin:",
        channel: str = "crossorigin:invalidate",
        verdict_ttl: int = 60,
        redis_timeout: float = 0.25,
        **resolver_options: Any,
    ) -> None:
        self.lookup = lookup
        self.url = url
        self.prefix = prefix
        self.channel = channel
        self.verdict_ttl = verdict_ttl
        self.redis_timeout = redis_timeout
        self._lookup_is_async = inspect.iscoroutinefunction(lookup)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()
        self._stop = threading.Event()
        self.subscribed = threading.Event()  # set while the listener is subscribed
        self.resolver = OriginResolver(self.resolve, **resolver_options)

    def _client(self) -> aioredis.Redis:
        # A redis.asyncio client belongs to the loop that first used it.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.redis_timeout,
                socket_connect_timeout=self.redis_timeout,
                decode_responses=True,
            )
            self._clients[loop] = client
        return client

    async def resolve(self, origin: str) -> bool:
        """The resolver function: Redis first, then ``lookup`` (whose answer is shared)."""
        self.start()
        key = self.prefix + origin
        try:
            shared = await self._client().get(key)
        except (RedisError, OSError):
            shared = None  # Redis is away: the database answers alone
        if shared is not None:
            return bool(shared == "1")
        verdict: object = self.lookup(origin)
        if self._lookup_is_async:
            verdict = await verdict  # type: ignore[misc]
        if verdict is True or verdict is False:
            with contextlib.suppress(RedisError, OSError):
                await self._client().set(key, "1" if verdict else "0", ex=self.verdict_ttl)
        return verdict  # type: ignore[return-value]

    async def invalidate(self, origin: str) -> None:
        """Forget ``origin`` everywhere: the shared verdict, this replica's cache, and (via
        pub/sub) every other replica's. Call it after changing the source of truth."""
        self.resolver.invalidate(origin)
        client = self._client()
        await client.delete(self.prefix + origin)
        await client.publish(self.channel, origin)

    def invalidate_blocking(self, origin: str) -> None:
        """:meth:`invalidate` for synchronous code (runs its own short event loop)."""

        async def run() -> None:
            client = aioredis.Redis.from_url(self.url, socket_timeout=self.redis_timeout)
            try:
                await client.delete(self.prefix + origin)
                await client.publish(self.channel, origin)
            finally:
                await client.aclose()

        self.resolver.invalidate(origin)
        asyncio.run(run())

    # --- the listener ----------------------------------------------------------------------

    def start(self) -> None:
        """Start listening for invalidations (idempotent; done on the first lookup too).
        The listener has its own thread and event loop, so it runs under WSGI and ASGI
        servers alike."""
        if self._listener is not None:
            return
        with self._listener_lock:
            if self._listener is None:
                self._listener = threading.Thread(
                    target=lambda: asyncio.run(self._listen()),
                    name="crossorigin-redis-invalidation",
                    daemon=True,
                )
                self._listener.start()

    def stop(self) -> None:
        """Stop the listener (it exits within a second)."""
        self._stop.set()

    async def _listen(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=self.redis_timeout, decode_responses=True
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    delay = 0.1
                    while not self._stop.is_set():
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None and message.get("type") == "message":
                            self.resolver.invalidate(str(message["data"]))
            except (RedisError, OSError) as error:
                if self.subscribed.is_set():
                    logger.warning(
                        "origin invalidation channel lost (%s); local caches keep serving, "
                        "reconnecting",
                        type(error).__name__,
                    )
                self.subscribed.clear()
            finally:
                await client.aclose()
            if not self._stop.is_set():
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def __repr__(self) -> str:
        return f"SharedOrigins({self.lookup!r}, url={self.url!r}, channel={self.channel!r})"
