"""Loopback servers, a request log and a fetch() driver for the browser conformance suite.

Two API servers run for the whole session, one per interface: uvicorn for the ASGI
middleware and waitress (a threaded production WSGI server) for the WSGI one. Each test
*mounts* its own routes on them: a fresh ``CORSMiddleware`` with the test's policy under a
unique path prefix. Unique URLs keep the browser's preflight and HTTP caches from leaking
between tests, and each route keeps its own log of what actually reached the server
(preflights included, which the wrapped app never sees).

Pages are served by a small threaded HTTP server on two ports of 127.0.0.1, so a test has
two same-site page origins, plus any ``*.test`` host name (the browser maps those to
127.0.0.1) and ``localhost``.

Every ``fetch()`` is also a differential test of ``crossorigin check``: right after the
browser answered, the checker plays the same request against the same live route and must
reach the same verdict (see :func:`compare_with_checker`). Its requests identify themselves
by their User-Agent and go to the route's ``checker_log``, never to ``log``, so the tests'
own assertions on the server's log and on the app's request counter see only the browser.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import uvicorn
from playwright.sync_api import Browser, Frame, Page, Playwright, sync_playwright
from waitress.server import create_server

from crossorigin import asgi, wsgi
from crossorigin.browser import Outcome, Profile, Request
from crossorigin.tools.check import (
    USER_AGENT,
    Report,
    check,
    http_sender,
    make_client,
    render_text,
)
from tests.conftest import require

from .engines import PlaywrightTab, Tab, normalise_message

Adapter = Literal["asgi", "wsgi"]
ADAPTERS: tuple[Adapter, ...] = ("asgi", "wsgi")

# Host names under .test reach 127.0.0.1 through the browser's resolver rules; everything
# else except loopback fails to resolve, so the browser never makes a real DNS lookup.
HOST_RESOLVER_RULES = (
    "--host-resolver-rules=MAP *.test 127.0.0.1, MAP * ~NOTFOUND, "
    "EXCLUDE localhost, EXCLUDE 127.0.0.1"
)

CHROMIUM = os.environ.get("CROSSORIGIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
INSTALL_HINT = (
    f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install chromium` "
    "(or set CROSSORIGIN_CHROMIUM=/path/to/chromium) to run the browser tests"
)

# Chromium with the Fetch standard's rule for `Access-Control-Allow-Headers: *` (never
# covering Authorization). Chromium keeps only the last --enable-features switch, so this
# one replaces Playwright's own list (screenshot and sign-in tweaks no test here needs).
STANDARD_HEADERS_FEATURE = "--enable-features=CorsNonWildcardRequestHeadersSupport"


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def launch_chromium(driver: Playwright, *extra: str) -> Browser:
    """Debian's headless Chromium (never a Playwright download), resolving only loopback."""
    return driver.chromium.launch(
        executable_path=CHROMIUM, args=[HOST_RESOLVER_RULES, *extra], timeout=30_000
    )


@contextlib.contextmanager
def chromium(*extra: str, rules: Profile | None = None) -> Iterator[Browser]:
    """A Chromium on a Playwright driver of its own, for suites outside tests/browser.

    With ``rules``, every :func:`fetch` in it is also compared with ``crossorigin check``
    under those rules. Hold it for a module or a package, never the session: Playwright's
    sync API keeps an event loop running in the main thread while it is open, which would
    break every later test that calls asyncio.run().
    """
    require(chromium_available(), INSTALL_HINT)
    with sync_playwright() as driver:
        browser = launch_chromium(driver, *extra)
        if rules is not None:
            register_browser(browser, rules)
        try:
            yield browser
        finally:
            unregister_browser(browser)
            browser.close()


# Every wait in the suite is bounded: a hung server or browser fails the test, never the run.
STARTUP_SECONDS = 10.0
FETCH_TIMEOUT_MS = 8000

EXPOSED_VALUE = "visible-to-js"
HIDDEN_VALUE = "not-for-js"


@dataclass
class Logged:
    """One request as the server received it, and what the server answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_preflight(self) -> bool:
        return self.method == "OPTIONS" and "access-control-request-method" in self.headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header pairs as a dict with lowercase names; repeats comma-joined as HTTP lists are."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


@dataclass
class Route:
    """A policy mounted under ``/r/<name>/`` on one API server, with its own request log."""

    adapter: Adapter
    origin: str
    name: str
    middleware: Any
    log: list[Logged] = field(default_factory=list)
    checker_log: list[Logged] = field(default_factory=list)
    """What ``crossorigin check`` sent here for the differential comparison."""

    def log_for(self, user_agent: str | None) -> list[Logged]:
        return self.checker_log if user_agent == USER_AGENT else self.log

    def url(self, path: str = "data", host: str | None = None) -> str:
        """The route's URL; ``host`` names the server another way (``localhost``)."""
        origin = self.origin if host is None else self.origin.replace("127.0.0.1", host, 1)
        return f"{origin}/r/{self.name}/{path}"

    @property
    def preflights(self) -> list[Logged]:
        return [entry for entry in self.log if entry.is_preflight]

    @property
    def actual(self) -> list[Logged]:
        """Every request that was not a preflight: these are the ones the app handles."""
        return [entry for entry in self.log if not entry.is_preflight]


def _app_answer(
    method: str, path: str, body: bytes, served: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """What the wrapped app answers, chosen by the last path segment.

    The body reads ``"<METHOD> #<n> <request body>"``, ``n`` counting the requests the app
    handled on this route, so JavaScript can tell a fresh response from a cached one.
    """
    leaf = path.rsplit("/", 1)[-1]
    if leaf == "boom":
        raise RuntimeError("the application failed (deliberately, for the 500 scenario)")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Exposed", EXPOSED_VALUE),
        ("X-Hidden", HIDDEN_VALUE),
    ]
    if leaf.startswith("cached"):
        # Cacheable, so the browser's HTTP cache is exercised: Vary decides what it reuses.
        headers.append(("Cache-Control", "max-age=600"))
    else:
        headers.append(("Cache-Control", "no-store"))
    text = f"{method} #{served} {body.decode('utf-8', 'replace')}".rstrip()
    return 200, headers, text.encode()


# Every mounted route by name, so fetch() can find the log of the URL it was given.
_MOUNTED: dict[str, Route] = {}


def mounted_route(url: str) -> Route | None:
    parts = urlsplit(url).path.split("/", 3)
    return _MOUNTED.get(parts[2]) if len(parts) > 2 and parts[1] == "r" else None


class ApiServer:
    """One real server on 127.0.0.1 for one adapter; routes are mounted per test."""

    adapter: Adapter
    origin: str

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def mount(self, **options: Any) -> Route:
        """A fresh middleware with ``options`` (CORSPolicy keywords) under a unique prefix."""
        return self._add(self._wrap(options))

    def mount_raw(self, app: Any) -> Route:
        """An app with no crossorigin middleware at all (to show browser behaviour itself)."""
        return self._add(app)

    def _add(self, app: Any) -> Route:
        name = uuid.uuid4().hex[:12]
        route = Route(self.adapter, self.origin, name, app)
        self._routes[name] = route
        _MOUNTED[name] = route
        return route

    def _wrap(self, options: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _find(self, path: str) -> Route | None:
        parts = path.split("/", 3)
        if len(parts) < 3 or parts[1] != "r":
            return None
        return self._routes.get(parts[2])

    def close(self) -> None:
        raise NotImplementedError


class AsgiServer(ApiServer):
    """uvicorn serving a dispatcher that logs each request, then runs the route's middleware."""

    adapter: Adapter = "asgi"

    def __init__(self) -> None:
        super().__init__()
        config = uvicorn.Config(
            self._dispatch,
            host="127.0.0.1",
            port=0,
            interface="asgi3",
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="asgi-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start on 127.0.0.1")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"

    def _wrap(self, options: dict[str, Any]) -> Any:
        return asgi.CORSMiddleware(_asgi_app, **options)

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        route = self._find(scope["path"])
        if route is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        entry = Logged(
            scope["method"],
            scope["path"],
            _joined((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
        )
        route.log_for(entry.headers.get("user-agent")).append(entry)
        scope["test.entry"] = entry
        scope["test.served"] = len(route.actual)

        async def logged_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                entry.response_headers = _joined(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                )
            await send(message)

        await route.middleware(scope, receive, logged_send)

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(STARTUP_SECONDS)


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    entry: Logged = scope["test.entry"]
    entry.body = body
    status, headers, payload = _app_answer(
        scope["method"], scope["path"], body, scope["test.served"]
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class WsgiServer(ApiServer):
    """waitress (threaded) serving a dispatcher that logs, then runs the route's middleware."""

    adapter: Adapter = "wsgi"

    def __init__(self) -> None:
        super().__init__()
        self._server = create_server(
            self._dispatch, host="127.0.0.1", port=0, threads=4, ident="crossorigin-test"
        )
        self.origin = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="wsgi-server", daemon=True)
        self._thread.start()

    def _wrap(self, options: dict[str, Any]) -> Any:
        return wsgi.CORSMiddleware(_wsgi_app, **options)

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        route = self._find(path)
        if route is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return []
        headers = [
            (key[5:].replace("_", "-"), value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", environ["CONTENT_TYPE"]))
        entry = Logged(environ["REQUEST_METHOD"], path, _joined(headers))
        route.log_for(entry.headers.get("user-agent")).append(entry)
        environ["test.entry"] = entry
        environ["test.served"] = len(route.actual)

        def logged_start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            entry.status = int(status.split(" ", 1)[0])
            entry.response_headers = _joined(response_headers)
            return start_response(status, response_headers, exc_info)  # type: ignore[no-any-return]

        return route.middleware(environ, logged_start_response)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown()
        # Open keep-alive channels keep waitress's loop running; close them so it ends.
        for channel in list(self._server._map.values()):
            with contextlib.suppress(Exception):
                channel.close()
        self._thread.join(STARTUP_SECONDS)


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = stream.read(length) if length else b""
    entry: Logged = environ["test.entry"]
    entry.body = body
    status, headers, payload = _app_answer(
        environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body, environ["test.served"]
    )
    headers.append(("Content-Length", str(len(payload))))
    start_response(f"{status} OK", headers)
    return [payload]


# --- pages -----------------------------------------------------------------------------------

_PAGE = b"<!doctype html><meta charset=utf-8><title>crossorigin browser suite</title><p>page"


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _PageServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A test that navigates on before a page finished loading drops the connection.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class PageServers:
    """Two page origins on 127.0.0.1 (same site, different origins); other hosts by name."""

    def __init__(self) -> None:
        self._servers = [_PageServer(("127.0.0.1", 0), _PageHandler) for _ in range(2)]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, name="pages", daemon=True).start()
        self.port = self._servers[0].server_address[1]
        self.second_port = self._servers[1].server_address[1]
        self.page = f"http://127.0.0.1:{self.port}"
        self.other = f"http://127.0.0.1:{self.second_port}"
        self.localhost = f"http://localhost:{self.port}"

    def at(self, host: str, port: int | None = None) -> str:
        """The page origin for ``host`` (``a.app.test``, ``localhost``...).

        On the first page port unless ``port`` is given.
        """
        return f"http://{host}:{port or self.port}"

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> PageServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- the page side -------------------------------------------------------------------------

# Resolves to a plain object either way: the fetch's outcome and what JavaScript could read.
_FETCH_JS = """
async ([url, init, timeoutMs]) => {
  const request = {...init, signal: AbortSignal.timeout(timeoutMs)};
  // The document's origin as fetch() sends it ('null' in a sandboxed frame).
  const origin = self.origin;
  try {
    const response = await fetch(url, request);
    const headers = {};
    response.headers.forEach((value, name) => { headers[name] = value; });
    return {ok: true, status: response.status, headers, body: await response.text(),
            error: null, message: null, origin};
  } catch (error) {
    return {ok: false, status: 0, headers: {}, body: null,
            error: error.name, message: String(error.message), origin};
  }
}
"""


@dataclass(frozen=True)
class FetchResult:
    """What the page's ``fetch()`` gave JavaScript."""

    ok: bool
    status: int
    headers: Mapping[str, str]
    body: str | None
    error: str | None
    message: str | None
    origin: str
    """The origin of the document that ran the fetch."""

    @property
    def blocked(self) -> bool:
        """The browser refused: the promise rejected with a TypeError (a CORS failure)."""
        return not self.ok and self.error == "TypeError"


@dataclass(frozen=True)
class ConsoleRecord:
    """What one engine said about one fetch: the error script saw and the console messages.

    Messages are normalised (``{url}``, ``{origin}``, ``{api}``, ``{other-origin}`` stand for
    this run's URLs); ``failures`` are the codes of the checks ``crossorigin check`` found
    failing for the same request, which is what ``crossorigin explain`` must name.
    """

    engine: str
    test: str
    method: str
    header_names: tuple[str, ...]
    credentials: bool
    blocked: bool
    error: str | None
    console: tuple[str, ...]
    failures: tuple[str, ...]


CONSOLE: list[ConsoleRecord] = []
"""Every console record of the run, in order (see ``console_corpus.py``)."""


def _as_tab(target: Page | Frame | Tab) -> Tab | None:
    return None if isinstance(target, (Page, Frame)) else target


def fetch(
    target: Page | Frame | Tab,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    credentials: str | None = None,
    checker_exempt: str | None = None,
) -> FetchResult:
    """Run ``fetch(url, init)`` inside ``target`` and return what JavaScript saw.

    ``target`` is a :class:`~tests.browser.engines.Tab` of any engine, or a Playwright page or
    frame of Chromium. Then ``crossorigin check`` must agree with the browser
    (:func:`compare_with_checker`), unless ``checker_exempt`` says why this call cannot be
    compared. For a tab, the console's CORS messages are recorded in :data:`CONSOLE`.
    """
    init: dict[str, Any] = {"method": method}
    if headers:
        init["headers"] = dict(headers)
    if body is not None:
        init["body"] = body
    if credentials is not None:
        init["credentials"] = credentials
    route = mounted_route(url)
    before = len(route.log) if route else 0
    tab = _as_tab(target)
    mark = tab.console_mark() if tab is not None else 0
    raw = target.evaluate(_FETCH_JS, [url, init, FETCH_TIMEOUT_MS])
    result = FetchResult(**raw)
    if not result.ok and result.error != "TypeError":
        raise AssertionError(f"fetch failed for a reason other than CORS: {result}")
    report: Report | None = None
    if checker_exempt is None:
        # The server logged each request before answering it, so by the time the promise
        # settled everything the browser sent for this fetch is in the log.
        wire = (route.log[:before], route.log[before:]) if route else None
        report = compare_with_checker(
            result,
            checker_request(result.origin, url, method, headers, body, credentials),
            profile_of(target),
            wire,
        )
        DIFFERENTIAL.compared += 1
        DIFFERENTIAL.by_profile[profile_of(target).name] += 1
    else:
        if not checker_exempt.strip():
            raise ValueError("checker_exempt needs the reason the call cannot be compared")
        DIFFERENTIAL.exempted[checker_exempt] += 1
    if tab is not None:
        messages = tab.console_since(mark, expect=result.blocked)
        if messages or result.blocked:
            CONSOLE.append(
                ConsoleRecord(
                    tab.engine,
                    os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
                    method,
                    tuple(sorted(name.lower() for name in headers or ())),
                    credentials == "include",
                    result.blocked,
                    f"{result.error}: {result.message}" if result.blocked else None,
                    tuple(normalise_message(m, url, result.origin) for m in messages),
                    tuple(dict.fromkeys(c.code for c in report.outcome.failures)) if report else (),
                )
            )
    return result


# --- the differential comparison with crossorigin check ----------------------------------------


@dataclass
class Tally:
    """How many fetches were compared with the checker, and why the others were not."""

    compared: int = 0
    exempted: Counter[str] = field(default_factory=Counter)
    by_profile: Counter[str] = field(default_factory=Counter)
    """Compared fetches per checker profile (so per engine)."""


DIFFERENTIAL = Tally()

# Which rules the checker applies for a page in each launched browser (stock Chromium:
# CHROMIUM; Chromium with the standard's Allow-Headers rule: SPEC; Firefox: FIREFOX; WebKit:
# WEBKIT). Registered by conftest.
_PROFILES: list[tuple[Browser, Profile]] = []
_ENGINE_PROFILES: dict[str, Profile] = {}
_checker_client: list[httpx.Client] = []


def register_browser(browser: Browser, profile: Profile) -> None:
    _PROFILES.append((browser, profile))


def unregister_browser(browser: Browser) -> None:
    _PROFILES[:] = [(b, p) for b, p in _PROFILES if b is not browser]


def register_engine(engine: str, profile: Profile) -> None:
    """The rules for every tab of a non-Playwright engine (``firefox``, ``webkit``)."""
    _ENGINE_PROFILES[engine] = profile


def profile_of(target: Page | Frame | Tab) -> Profile:
    if isinstance(target, PlaywrightTab):
        target = target.target
    tab = _as_tab(target)
    if tab is not None:
        rules: Profile | None = getattr(tab, "rules", None)
        if rules is not None:
            return rules
        if tab.engine not in _ENGINE_PROFILES:
            raise AssertionError(f"{tab.engine} was launched without register_engine()")
        return _ENGINE_PROFILES[tab.engine]
    assert isinstance(target, (Page, Frame))
    page = target.page if isinstance(target, Frame) else target
    owner = page.context.browser
    for browser, profile in _PROFILES:
        if browser is owner:
            return profile
    # Never guess: comparing against the wrong rules would hide or invent disagreements.
    raise AssertionError("this page's browser was launched without register_browser()")


# What fetch() adds to a string body when the page names no Content-Type (safelisted, so it
# never changes the verdict; sent so the checker's request is the browser's).
_STRING_BODY_TYPE = "text/plain;charset=UTF-8"


def checker_request(
    origin: str,
    url: str,
    method: str,
    headers: Mapping[str, str] | None,
    body: str | None,
    credentials: str | None,
) -> Request:
    """The checker's description of the ``fetch()`` call the page made."""
    pairs = tuple((headers or {}).items())
    if body is not None and not any(name.lower() == "content-type" for name, _ in pairs):
        pairs += (("Content-Type", _STRING_BODY_TYPE),)
    # Only "include" makes a cross-origin fetch credentialed; the checker sends no cookies,
    # which the verdict does not depend on (a CORS grant is the same with or without them).
    return Request(url, origin, method, pairs, credentials=credentials == "include")


_NOT_COMPARED_VALUES = frozenset({"date", "content-length"})


def _client() -> httpx.Client:
    if not _checker_client:
        _checker_client.append(make_client(FETCH_TIMEOUT_MS / 1000))
    return _checker_client[0]


def _asked(headers: Iterable[tuple[str, str]]) -> tuple[str | None, ...]:
    """What a preflight asks: origin, method, headers (lowercased names; absent is None)."""
    lowered = {name.lower(): value for name, value in headers}
    return tuple(
        lowered.get(name)
        for name in (
            "origin",
            "access-control-request-method",
            "access-control-request-headers",
            "access-control-request-private-network",
        )
    )


def _wire_problems(outcome: Outcome, earlier: list[Logged], sent: list[Logged]) -> list[str]:
    """Did the checker send what the browser sent: the same preflight, then the request?"""
    problems: list[str] = []
    browser_asked = [_asked(e.headers.items()) for e in sent if e.is_preflight]
    checker_asked = [_asked(s.request.headers) for s in outcome.steps if s.kind == "preflight"]
    # A preflight the browser answered from its preflight cache is the one exception: the
    # same question granted earlier (2xx) on this route.
    granted_before = {_asked(e.headers.items()) for e in earlier if e.is_preflight and e.ok}
    from_cache = not browser_asked and set(checker_asked) <= granted_before
    if browser_asked != checker_asked and not from_cache:
        problems.append(f"preflights: browser asked {browser_asked}, checker {checker_asked}")
    browser_sent = [e.method for e in sent if not e.is_preflight]
    checker_sent = [s.request.method for s in outcome.steps if s.kind == "request"]
    if browser_sent != checker_sent:
        problems.append(f"requests sent: browser {browser_sent}, checker {checker_sent}")
    return problems


def compare_with_checker(
    result: FetchResult,
    request: Request,
    profile: Profile,
    wire: tuple[list[Logged], list[Logged]] | None = None,
) -> Report:
    """``crossorigin check`` against the same live server must see what the browser showed.

    Compared: allowed (fetch resolved) or blocked (it rejected); when allowed, the status
    and the names of the response headers JavaScript could read. With ``wire`` (the route's
    log before this fetch, and what the browser sent for it) also whether a preflight was
    sent and what it asked (origin, method, headers), and whether the request itself went
    out. Probes are off: they are extra requests the browser never makes. The checker
    never caches, so where the browser answered from its HTTP cache the caller exempts the
    call instead; a preflight answered from the browser's preflight cache is recognised.
    """
    report = check(request, profile=profile, send=http_sender(_client()), probes=False)
    outcome = report.outcome
    problems: list[str] = _wire_problems(outcome, *wire) if wire else []
    if report.allowed != result.ok:
        problems.append(
            f"the browser {'allowed' if result.ok else 'blocked'} it, the checker says "
            f"{report.verdict}"
        )
    elif result.ok:
        status = outcome.steps[-1].response.status
        if status != result.status:
            problems.append(f"status: browser {result.status}, checker {status}")
        readable = sorted(outcome.readable_header_names)
        if readable != sorted(result.headers):
            problems.append(
                f"readable headers: browser {sorted(result.headers)}, checker {readable}"
            )
        else:
            # Values too, as JavaScript reads them (repeats joined), except two that are not
            # CORS's doing: Date ticks, and the app echoes the body, which the checker omits.
            differ = {
                name: (result.headers[name], value)
                for name, value in outcome.readable_headers
                if name not in _NOT_COMPARED_VALUES and result.headers[name] != value
            }
            if differ:
                problems.append(f"header values (browser, checker): {differ}")
    if problems:
        raise AssertionError(
            f"crossorigin check ({profile.name} rules) disagrees with the browser on "
            f"{request.method} {request.url} from {request.origin}: "
            + "; ".join(problems)
            + f"\nbrowser: {result}\nchecker report:\n{render_text(report)}"
        )
    return report


def sandboxed_frame(page: Page) -> Frame:
    """A sandboxed iframe (scripts only) inside ``page``: its fetches send ``Origin: null``."""
    page.set_content('<iframe sandbox="allow-scripts" srcdoc="<p>sandboxed"></iframe>')
    frame = page.frames[1]
    frame.wait_for_load_state()
    return frame


@contextlib.contextmanager
def servers() -> Iterator[tuple[PageServers, dict[Adapter, ApiServer]]]:
    pages = PageServers()
    apis: dict[Adapter, ApiServer] = {"asgi": AsgiServer(), "wsgi": WsgiServer()}
    try:
        yield pages, apis
    finally:
        while _checker_client:
            _checker_client.pop().close()
        for api in apis.values():
            api.close()
        pages.close()
