"""The proxy itself: an ASGI app forwarding HTTP and WebSocket traffic to one fixed upstream.

It sits behind :class:`crossorigin.asgi.CORSMiddleware`, which answers preflights and adds the
policy's grant; this app only moves bytes. Requests can never be pointed anywhere but the
upstream: the target URL is built from the upstream's scheme, host and port plus the request's
path, never from the request's ``Host`` header, an absolute-form target or a scheme-relative
``//host`` path, and a path with ``.``/``..`` segments (which could climb out of the upstream's
base path) is refused.

Bodies stream both ways in bounded memory: uvicorn pauses reading the client when its buffer
fills, httpx reads the upstream in chunks and ``send`` waits for the client to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx

from crossorigin.asgi import Message, Receive, Scope, Send
from crossorigin.decision import sanitize

from .config import NOTE, Settings

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

# RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"http2-settings",
    }
)
# Rewritten or set by the proxy itself. Expect: httpx does not do 100-continue, and uvicorn
# already answered the client's.
_REQUEST_DROPPED: Final = HOP_BY_HOP | {
    b"host",
    b"expect",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
}
_ACCESS_CONTROL: Final = b"access-control-"
# Bytes that may not appear raw in a request target sent upstream: encoded, not refused.
_UNSAFE_TARGET_BYTES: Final = re.compile(rb"[^\x21-\x7e]")
_DOT_SEGMENT: Final = re.compile(rb"^(?:\.|%2e){1,2}$", re.IGNORECASE)
# WebSocket close codes an endpoint may send (RFC 6455 7.4): others are mapped.
_SENDABLE_CLOSE: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})
# httpcore's connection pool scans every connection on each request, under one lock: with
# tens of concurrent requests one pool costs more than the forwarding itself. Several
# smaller pools, used in turn, measured 3-10x the throughput at 32 concurrent requests.
POOLS: Final = 8
_URL_MEMO_ENTRIES: Final = 1024
_URL_MEMO_KEY_LENGTH: Final = 512
WEBSOCKET_MAX_SIZE: Final = 16 * 1024 * 1024  # uvicorn's own default for incoming messages
# Request headers worth passing on a WebSocket handshake (the rest are handshake mechanics).
_WS_FORWARDED: Final = frozenset(
    {b"cookie", b"authorization", b"user-agent", b"accept-language", b"x-requested-with"}
)


class BadTarget(Exception):
    """The request target cannot be forwarded (the message says why)."""


class ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class UpstreamBroke(Exception):
    """The upstream failed after the response had started: the client connection is cut so
    a truncated body never looks complete."""


def _encode_target(raw: bytes) -> bytes:
    return _UNSAFE_TARGET_BYTES.sub(lambda m: b"%%%02X" % m.group()[0], raw)


def target_path(scope: Scope) -> bytes:
    """The request's path and query, checked and encoded, as bytes to append to the upstream.

    Raises :class:`BadTarget` for anything but an origin-form path (``/...``) and for dot
    segments (browsers always remove them; sent upstream they could leave its base path).
    """
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw = bytes(raw)
    if not raw.startswith(b"/"):
        raise BadTarget("only paths starting with '/' are forwarded: this is not an open proxy")
    if b"\\" in raw:
        raise BadTarget("backslashes in the path are not forwarded")
    if any(_DOT_SEGMENT.match(segment) for segment in raw.split(b"/")):
        raise BadTarget("paths with '.' or '..' segments are not forwarded")
    query = bytes(scope.get("query_string") or b"")
    target = _encode_target(raw)
    if query:
        target += b"?" + _encode_target(query)
    return target


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (repeats comma-joined), latin-1 decoded."""
    found = [bytes(v).decode("latin-1") for k, v in scope["headers"] if bytes(k).lower() == name]
    return ", ".join(found) if found else None


def _connection_tokens(headers: Any) -> frozenset[bytes]:
    tokens: set[bytes] = set()
    for name, value in headers:
        if bytes(name).lower() == b"connection":
            tokens.update(t.strip().lower() for t in bytes(value).split(b","))
    return frozenset(tokens)


class ProxyApp:
    """Forward every HTTP request and WebSocket to ``settings.upstream``.

    The upstream connections are httpx's pooled keep-alive transports, used directly rather
    than through ``httpx.AsyncClient``: the client's layers (default headers, a cookie jar
    that would carry one user's cookies into the next user's requests, redirects, auth)
    are all things a proxy must not do, and skipping them saves about a fifth of the CPU
    per request. They are created at ASGI lifespan start-up (in the worker's own event
    loop) and closed at shutdown.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        upstream = settings.upstream
        self.upstream = upstream
        self._base = upstream.base_path.encode("ascii")
        self._url = httpx.URL(f"{upstream.scheme}://{upstream.netloc}")
        self._host_header = upstream.netloc.encode("ascii")
        self._origin = (self._url.scheme, self._url.host, self._url.port)
        self._urls: dict[bytes, httpx.URL] = {}
        self.transports: list[httpx.AsyncHTTPTransport] = []
        self._timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        )
        self._extensions = {"timeout": self._timeout.as_dict()}
        self._ssl: ssl.SSLContext | None = None
        self._turn = 0
        trusted = {ip.strip() for ip in settings.forwarded_allow_ips.split(",") if ip.strip()}
        self._trust_all = "*" in trusted
        self._trusted = frozenset(trusted)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            # One context for every pool: loading the CA bundle takes tens of milliseconds.
            self._ssl = ssl.create_default_context(cafile=self.settings.upstream_ca)
        return self._ssl

    def make_transport(self, connections: int) -> httpx.AsyncHTTPTransport:
        # A transport never reads HTTP_PROXY & co (only clients do), so nothing in the
        # environment can reroute the fixed upstream.
        return httpx.AsyncHTTPTransport(
            verify=self._tls(),
            trust_env=False,
            limits=httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=30,
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await self.websocket(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if not self.transports:
                    total = self.settings.max_connections
                    pools = min(POOLS, total)
                    # The pools share --max-connections between them.
                    self.transports = [
                        self.make_transport(total // pools + (i < total % pools))
                        for i in range(pools)
                    ]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for transport in self.transports:
                    await transport.aclose()
                self.transports = []
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- HTTP ---------------------------------------------------------------------------------

    def upstream_url(self, target: bytes) -> httpx.URL:
        """The upstream URL for a checked request target; memoised (httpx parses and
        validates every URL it is given, which costs more than the rest of the request
        preparation), in a bounded table so hostile targets cannot grow memory; when it is
        full it starts over, so it follows the paths in use."""
        memo = self._urls
        url = memo.get(target)
        if url is None:
            url = self._url.copy_with(raw_path=self._base + target)
            if (url.scheme, url.host, url.port) != self._origin:  # defence in depth
                raise BadTarget("this is not an open proxy")
            if len(target) <= _URL_MEMO_KEY_LENGTH:
                if len(memo) >= _URL_MEMO_ENTRIES:
                    memo.clear()
                memo[target] = url
        return url

    def request_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The headers sent upstream: hop-by-hop removed, Host and X-Forwarded-* set.

        X-Forwarded-For gets the peer's address appended. X-Forwarded-Proto and -Host are
        the proxy's own view, unless the peer is a trusted load balancer
        (``--forwarded-allow-ips``) that already set them.
        """
        incoming = scope["headers"]
        dropped = _REQUEST_DROPPED | _connection_tokens(incoming)
        headers: list[tuple[bytes, bytes]] = []
        host = forwarded_for = forwarded_proto = forwarded_host = None
        for name, value in incoming:
            name = bytes(name).lower()
            if name == b"host":
                host = bytes(value)
            elif name == b"x-forwarded-for":
                forwarded_for = bytes(value)
            elif name == b"x-forwarded-proto":
                forwarded_proto = bytes(value)
            elif name == b"x-forwarded-host":
                forwarded_host = bytes(value)
            if name not in dropped:
                headers.append((name, bytes(value)))
        if self.settings.preserve_host and host is not None:
            headers.append((b"host", host))
        else:
            headers.append((b"host", self._host_header))
        client = scope.get("client")
        peer = str(client[0]) if client else None
        if peer is not None:
            address = peer.encode("latin-1")
            headers.append(
                (
                    b"x-forwarded-for",
                    forwarded_for + b", " + address if forwarded_for else address,
                )
            )
        trusted = self._trust_all or peer in self._trusted
        if not (trusted and forwarded_proto):
            scheme = scope.get("scheme", "http")
            forwarded_proto = b"https" if scheme in ("https", "wss") else b"http"
        headers.append((b"x-forwarded-proto", forwarded_proto))
        if not (trusted and forwarded_host):
            forwarded_host = host
        if forwarded_host is not None:
            headers.append((b"x-forwarded-host", forwarded_host))
        return headers

    def response_headers(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The upstream's headers for the client: hop-by-hop and Access-Control-* removed
        (the policy supplies those), Location and Set-Cookie rewritten for the proxy."""
        dropped = HOP_BY_HOP | _connection_tokens(raw)
        headers: list[tuple[bytes, bytes]] = []
        for name, value in raw:
            name = name.lower()
            if name in dropped or name.startswith(_ACCESS_CONTROL):
                continue
            if name == b"location":
                value = self.rewrite_location(value.decode("latin-1")).encode("latin-1")
            elif name == b"set-cookie":
                value = self.rewrite_set_cookie(value.decode("latin-1")).encode("latin-1")
            headers.append((name, value))
        return headers

    def rewrite_location(self, value: str) -> str:
        """Point a redirect to the upstream at the proxy, as a path the browser resolves
        against the proxy's own URL (so no request header decides where it goes)."""
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            return value
        upstream = self.upstream
        if parts.netloc:
            scheme = (parts.scheme or upstream.scheme).lower()
            if scheme not in ("http", "https"):
                return value
            default = 443 if scheme == "https" else 80
            if (
                scheme != upstream.scheme
                or "@" in parts.netloc
                or (parts.hostname or "") != upstream.hostname
                or (port or default) != upstream.port
            ):
                return value  # another server: leave it
        elif parts.scheme or not parts.path.startswith("/"):
            return value  # another scheme, or a relative path: already right for the proxy
        path = parts.path or "/"
        base = upstream.base_path
        if base:
            if path == base or path.startswith(base + "/"):
                path = path[len(base) :] or "/"
            elif not parts.netloc:
                return value
            else:
                return value  # outside the proxied part of the upstream: leave it
        if path[1:2] in ("/", "\\"):
            # "//host" would be read as another host; "/." keeps it a path on the proxy.
            path = "/." + path
        rewritten = path
        if parts.query:
            rewritten += "?" + parts.query
        if parts.fragment:
            rewritten += "#" + parts.fragment
        return rewritten

    def rewrite_set_cookie(self, value: str) -> str:
        """Drop a ``Domain`` naming the upstream (or a parent of it): the cookie becomes the
        proxy's host-only cookie. A ``Path`` under the upstream's base path is shortened."""
        parts = value.split(";")
        kept = [parts[0]]
        hostname = self.upstream.hostname
        base = self.upstream.base_path
        for attribute in parts[1:]:
            name, _, attr_value = attribute.partition("=")
            name = name.strip().lower()
            if name == "domain":
                domain = attr_value.strip().lstrip(".").lower()
                if domain and (hostname == domain or hostname.endswith("." + domain)):
                    continue
            elif name == "path" and base:
                path = attr_value.strip()
                if path == base or path.startswith(base + "/"):
                    attribute = " Path=" + (path[len(base) :] or "/")
            kept.append(attribute)
        return ";".join(kept)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        if method == "CONNECT":
            scope[NOTE] = "CONNECT refused"
            await plain(send, 405, "crossorigin proxy: CONNECT is not supported")
            return
        try:
            url = self.upstream_url(target_path(scope))
        except (BadTarget, httpx.InvalidURL, UnicodeError) as error:
            scope[NOTE] = f"refused target: {error}"
            await plain(send, 400, f"crossorigin proxy: {error}")
            return
        first = await receive()
        if first["type"] != "http.request":
            return
        body_done = asyncio.Event()
        content: bytes | AsyncIterator[bytes]
        if first.get("more_body", False):
            content = _request_body(first, receive, body_done)
        else:
            content = first.get("body", b"")
            body_done.set()
        transports = self.transports
        assert transports, "the proxy app runs with its lifespan (uvicorn does that)"
        self._turn = turn = (self._turn + 1) % len(transports)
        transport = transports[turn]
        try:
            request = httpx.Request(
                method,
                url,
                headers=self.request_headers(scope),
                content=content,
                extensions=self._extensions,
            )
        except (httpx.HTTPError, ValueError) as error:  # e.g. a header httpx cannot encode
            await self._fail(scope, send, 400, f"the request cannot be forwarded ({error})")
            return

        # Cancel the upstream exchange when the client goes away. Listening starts once the
        # request body is fully read: before that, receive() belongs to the body stream.
        task = asyncio.current_task()
        assert task is not None
        gone = False

        async def watch() -> None:
            nonlocal gone
            await body_done.wait()
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            task.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await self._exchange(transport, request, scope, send)
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()
            scope[NOTE] = "client disconnected; upstream request cancelled"
        except ClientGone:
            scope[NOTE] = "client disconnected during upload; upstream request cancelled"
        finally:
            watcher.cancel()

    async def _exchange(
        self,
        transport: httpx.AsyncHTTPTransport,
        request: httpx.Request,
        scope: Scope,
        send: Send,
    ) -> None:
        upstream = self.upstream.url
        try:
            response = await transport.handle_async_request(request)
        except httpx.ConnectTimeout:
            await self._fail(scope, send, 504, f"timed out connecting to {upstream}")
            return
        except httpx.TimeoutException:
            await self._fail(scope, send, 504, f"{upstream} did not answer in time")
            return
        except httpx.ConnectError as error:
            await self._fail(scope, send, 502, f"cannot connect to {upstream} ({_cause(error)})")
            return
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            if isinstance(error.__context__, ClientGone) or isinstance(error.__cause__, ClientGone):
                raise ClientGone from error
            await self._fail(
                scope,
                send,
                502,
                f"{upstream} closed the connection without answering ({_cause(error)})",
            )
            return
        except httpx.LocalProtocolError as error:
            # The client's request is not valid HTTP to send on (a header value h11 refuses).
            await self._fail(scope, send, 400, f"the request cannot be forwarded ({error})")
            return
        except httpx.HTTPError as error:
            await self._fail(scope, send, 502, f"forwarding to {upstream} failed ({_cause(error)})")
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": self.response_headers(response.headers.raw),
                }
            )
            async for chunk in response.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError as error:
            scope[NOTE] = f"upstream failed mid-response ({_cause(error)}); connection cut"
            raise UpstreamBroke(str(error)) from error
        finally:
            await response.aclose()

    async def _fail(self, scope: Scope, send: Send, status: int, cause: str) -> None:
        scope[NOTE] = cause
        await plain(send, status, f"crossorigin proxy: {cause}")

    # --- WebSocket ----------------------------------------------------------------------------

    def websocket_origin_allowed(self, scope: Scope, origin: str | None) -> tuple[bool, str]:
        """Whether a page at ``origin`` may open this socket, and why (for the log).

        Browsers let any page open a WebSocket to any server, with cookies: only the
        ``Origin`` check stops another site from acting as the user (Cross-Site WebSocket
        Hijacking). Allowed: no Origin (not a browser), the proxy's own origin, or an origin
        the policy of this path grants.
        """
        if origin is None:
            return True, "no Origin"
        host = header(scope, b"host")
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        if host is not None and origin.lower() == f"{scheme}://{host}".lower():
            return True, "same origin"
        policy = self.settings.policy_for(scope.get("path", ""))
        if policy is None:
            return False, f"origin {sanitize(origin)} refused (no CORS rule for this path)"
        if policy.decide("GET", origin).allowed:
            return True, f"origin {sanitize(origin)} allowed"
        return False, f"origin {sanitize(origin)} refused"

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
        from websockets.typing import Origin, Subprotocol

        if (await receive())["type"] != "websocket.connect":
            return
        origin = header(scope, b"origin")
        policy = self.settings.policy_for(scope.get("path", ""))
        if origin is not None and policy is not None and policy.has_resolver:
            await policy.resolve_origin_async(origin)
        allowed, why = self.websocket_origin_allowed(scope, origin)
        if not allowed:
            scope[NOTE] = f"WebSocket refused: {why}"
            await deny_websocket(scope, send, 403, f"crossorigin proxy: {why}")
            return
        try:
            target = target_path(scope)
        except BadTarget as error:
            scope[NOTE] = f"refused target: {error}"
            await deny_websocket(scope, send, 400, f"crossorigin proxy: {error}")
            return
        url = self.upstream.websocket_url + target.decode("ascii")
        headers = [
            (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
            for name, value in self.request_headers(scope)
            if name in _WS_FORWARDED or name.startswith(b"x-forwarded-")
        ]
        protocols = header(scope, b"sec-websocket-protocol")
        subprotocols = [Subprotocol(p.strip()) for p in protocols.split(",")] if protocols else None
        upstream_name = self.upstream.websocket_url
        try:
            upstream = await connect(
                url,
                origin=Origin(origin) if origin is not None else None,
                subprotocols=subprotocols,
                additional_headers=headers,
                user_agent_header=None,
                proxy=None,  # never an HTTP proxy from the environment
                open_timeout=self.settings.connect_timeout,
                ping_interval=None,  # the two ends keep their own connection alive
                max_size=WEBSOCKET_MAX_SIZE,
                compression=None,
                ssl=self._tls() if self.upstream.scheme == "https" else None,
            )
        except InvalidStatus as error:
            status = error.response.status_code
            scope[NOTE] = f"upstream refused the WebSocket ({status})"
            await deny_websocket(
                scope, send, status, f"crossorigin proxy: upstream answered {status}"
            )
            return
        except TimeoutError:
            scope[NOTE] = f"timed out opening a WebSocket to {upstream_name}"
            await deny_websocket(scope, send, 504, f"crossorigin proxy: {scope[NOTE]}")
            return
        except (OSError, InvalidHandshake, InvalidURI, ValueError) as error:
            scope[NOTE] = f"cannot open a WebSocket to {upstream_name} ({_cause(error)})"
            await deny_websocket(scope, send, 502, f"crossorigin proxy: {scope[NOTE]}")
            return
        async with upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            scope[NOTE] = f"WebSocket {why}"
            await _relay(receive, send, upstream)


async def _relay(receive: Receive, send: Send, upstream: ClientConnection) -> None:
    from websockets.exceptions import ConnectionClosed

    async def client_to_upstream() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                try:
                    await upstream.send(text if text is not None else message.get("bytes") or b"")
                except ConnectionClosed:
                    return
            elif message["type"] == "websocket.disconnect":
                code = message.get("code", 1000)
                await upstream.close(
                    code if code in _SENDABLE_CLOSE or 3000 <= code < 5000 else 1000
                )
                return

    async def upstream_to_client() -> None:
        try:
            async for data in upstream:
                if isinstance(data, str):
                    await send({"type": "websocket.send", "text": data})
                else:
                    await send({"type": "websocket.send", "bytes": data})
        except ConnectionClosed:
            pass
        received = upstream.protocol.close_rcvd
        code = received.code if received is not None else 1011
        if not (code in _SENDABLE_CLOSE or 3000 <= code < 5000):
            code = 1000 if received is not None else 1011
        reason = received.reason if received is not None else "upstream connection lost"
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.close", "code": code, "reason": reason})

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _request_body(
    first: Message, receive: Receive, done: asyncio.Event
) -> AsyncIterator[bytes]:
    message = first
    while True:
        if message["type"] == "http.disconnect":
            raise ClientGone
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            done.set()
            return
        message = await receive()


def _cause(error: BaseException) -> str:
    """A short, safe description of a network error (the innermost cause's message)."""
    while error.__cause__ is not None or error.__context__ is not None:
        inner = error.__cause__ or error.__context__
        assert inner is not None
        error = inner
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    text = str(error) or type(error).__name__
    return sanitize(text, 100).strip("'")


async def plain(send: Send, status: int, text: str) -> None:
    """A short text/plain response (the CORS middleware outside adds the grant)."""
    body = (text + "\n").encode("utf-8", "replace")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def deny_websocket(scope: Scope, send: Send, status: int, text: str) -> None:
    """Refuse a WebSocket handshake with an HTTP status (and text) when the server can."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = (text + "\n").encode("utf-8", "replace")
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
