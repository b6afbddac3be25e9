"""Raw ASGI plumbing for the adapter tests: scopes, fake receive/send, header lookups.

Raw calls reach the middleware with bytes a client library refuses to send (control
characters, non-ASCII, repeated headers), and let a test see every ASGI message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from crossorigin.asgi import ASGIApp, Message, Scope

Headers = list[tuple[bytes, bytes]]


def http_scope(
    method: str = "GET", path: str = "/", headers: Iterable[tuple[bytes, bytes]] = ()
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class Exchange:
    """One request's fake ``receive`` and recording ``send``."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._requested = False

    async def receive(self) -> Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        # A snapshot, as a server serialises the message when it is sent.
        snapshot = dict(message)
        if "headers" in snapshot:
            snapshot["headers"] = list(snapshot["headers"])
        self.sent.append(snapshot)

    @property
    def start(self) -> Message:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent
        return starts[0]

    @property
    def status(self) -> int:
        status: int = self.start["status"]
        return status

    @property
    def headers(self) -> Headers:
        return [(bytes(name), bytes(value)) for name, value in self.start.get("headers", ())]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def run(awaitable: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await awaitable

    return asyncio.run(main())


def call(
    app: ASGIApp,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    path: str = "/",
) -> Exchange:
    """Run one HTTP request through ``app`` on a fresh event loop; return what it sent."""
    exchange = Exchange()
    run(app(http_scope(method, path, headers), exchange.receive, exchange.send))
    return exchange


def values(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


def cors_headers(headers: Sequence[tuple[bytes, bytes]]) -> Headers:
    return [(k, v) for k, v in headers if k.lower().startswith(b"access-control-")]
