"""aiohttp contenders, driven in-process through ``Application._handle`` and ``prepare``.

That is the path aiohttp's own server takes per request (route, handler, then
``response.prepare`` which fires ``on_response_prepare``, where aiohttp-cors works), with the
socket replaced by a writer that discards bytes. Requests are built from a prebuilt
parser message, as aiohttp's protocol would hand them over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .harness import Config, Contender, Driver, Outcome, Request, outcome_from_pairs

BODY = b"ok"


class _Transport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name in ("peername", "sockname") else default

    def is_closing(self) -> bool:
        return False


class _Protocol:
    ssl_context = None
    peername = ("127.0.0.1", 50000)
    sockname = ("127.0.0.1", 8000)
    max_field_size = 8190
    max_line_length = 8190
    max_headers = 128

    def __init__(self) -> None:
        self.transport = _Transport()


class _Writer:
    """Stands in for the socket: accepts the status line, headers and body, sends nothing."""

    buffer_size = 0
    output_size = 0
    length: int | None = None

    def __init__(self) -> None:
        self.status_line = ""
        self.headers: Any = None
        self.transport = _Transport()

    async def write_headers(self, status_line: str, headers: Any) -> None:
        self.status_line = status_line
        self.headers = headers

    def send_headers(self) -> None:
        return None

    async def write(self, data: bytes) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None

    async def drain(self) -> None:
        return None

    def enable_chunking(self) -> None:
        return None

    def enable_compression(self, *args: Any, **kwargs: Any) -> None:
        return None


class AiohttpDriver:
    def __init__(self, app: Any) -> None:
        from aiohttp import web

        self.app = app
        self._loop = asyncio.new_event_loop()
        # Freezing is what AppRunner does before serving (it builds the middleware chain).
        self._loop.run_until_complete(self._startup())
        self._request_class = web.Request
        self._http_exception = web.HTTPException

    async def _startup(self) -> None:
        self.app.freeze()
        await self.app.startup()

    def _message(self, request: Request) -> Any:
        from aiohttp.http import HttpVersion11, RawRequestMessage
        from multidict import CIMultiDict, CIMultiDictProxy
        from yarl import URL

        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        raw = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers)
        return RawRequestMessage(
            request.method,
            request.path,
            HttpVersion11,
            headers,
            raw,
            False,
            None,
            False,
            False,
            URL(request.path),
        )

    def _request(self, message: Any, writer: _Writer) -> Any:
        from aiohttp.streams import EMPTY_PAYLOAD

        # Stand-ins for the protocol, the writer and the task: typed as Any on purpose.
        protocol: Any = _Protocol()
        stand_in_writer: Any = writer
        task: Any = None
        return self._request_class(
            message, EMPTY_PAYLOAD, protocol, stand_in_writer, task, self._loop
        )

    async def _one(self, message: Any) -> _Writer:
        writer = _Writer()
        request = self._request(message, writer)
        try:
            response = await self.app._handle(request)
        except self._http_exception as exc:  # aiohttp's server answers with the exception
            response = exc
        await response.prepare(request)
        await response.write_eof()
        return writer

    def check(self, request: Request) -> Outcome:
        writer = self._loop.run_until_complete(self._one(self._message(request)))
        status = int(writer.status_line.split(" ")[1])
        return outcome_from_pairs(status, list(writer.headers.items()))

    def loop(self, request: Request) -> Callable[[int], None]:
        message = self._message(request)
        one = self._one

        async def many(count: int) -> None:
            for _ in range(count):
                await one(message)

        run_until_complete = self._loop.run_until_complete

        def run(count: int) -> None:
            run_until_complete(many(count))

        return run


async def _index(request: Any) -> Any:
    from aiohttp import web

    return web.Response(body=BODY, content_type="text/plain", charset="utf-8")


_METHODS = ("GET", "POST", "PUT", "DELETE")


def _bare(config: Config) -> Driver:
    from aiohttp import web

    app = web.Application()
    app.router.add_route("*", "/", _index)
    return AiohttpDriver(app)


def _aiohttp_cors(config: Config) -> Driver:
    import aiohttp_cors
    from aiohttp import web

    resource_options: Any = aiohttp_cors.ResourceOptions

    app = web.Application()
    options = resource_options(
        allow_credentials=config.credentials,
        expose_headers=list(config.expose),
        allow_headers=list(config.headers),
        allow_methods=list(config.methods),
        max_age=config.max_age,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(config.origins, options))
    resource = cors.add(app.router.add_resource("/"))
    for method in _METHODS:
        cors.add(resource.add_route(method, _index))
    return AiohttpDriver(app)


def _crossorigin(config: Config) -> Driver:
    from aiohttp import web

    from crossorigin.aiohttp import CORS

    # The same app as the bare one, with the app-wide policy: the integration's own
    # spelling (aiohttp-cors's has to register every route with the CORS object).
    app = web.Application()
    app.router.add_route("*", "/", _index)
    CORS(app, **config.crossorigin_options())
    return AiohttpDriver(app)


AIOHTTP: tuple[Contender, ...] = (
    Contender("bare aiohttp app", "aiohttp", "bare", _bare),
    Contender(
        "crossorigin.aiohttp CORS(app)",
        "aiohttp",
        "crossorigin",
        _crossorigin,
        label="crossorigin.aiohttp",
    ),
    Contender("aiohttp-cors", "aiohttp", "incumbent", _aiohttp_cors),
)
