"""The floor: the least a CORS middleware can do, written by hand for one configuration.

It finds ``Origin``, looks it up in a dict and appends precomputed header bytes. It answers
no preflight, merges no ``Vary`` and drops no app header: it is not a usable middleware,
only the reference cost that any real one (crossorigin included) is compared with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

_VARY = (b"vary", b"Origin")


class FloorMiddleware:
    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        origins: tuple[str, ...],
        credentials: bool = False,
        expose: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        tail: list[tuple[bytes, bytes]] = []
        if credentials:
            tail.append((b"access-control-allow-credentials", b"true"))
        if expose:
            tail.append((b"access-control-expose-headers", ", ".join(expose).encode()))
        self.grants = {
            origin.encode(): ((b"access-control-allow-origin", origin.encode()), *tail, _VARY)
            for origin in origins
        }
        self.refused: tuple[tuple[bytes, bytes], ...] = (_VARY,)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.refused
        for name, value in scope["headers"]:
            if name == b"origin":
                extra = self.grants.get(value, self.refused)
                break

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
