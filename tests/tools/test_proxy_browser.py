"""``crossorigin proxy`` in headless Chromium: a page on one origin reads an upstream that
sends no CORS headers, through the proxy on another origin; a refused origin is blocked and
cannot open the upstream's WebSocket (Cross-Site WebSocket Hijacking).

The page is served on ``http://localhost:P``; the proxy on ``http://localhost:Q`` (same site,
so cookies flow as they do for a dev server and its API); the refused page on
``http://evil.test:P`` (the browser maps ``*.test`` to 127.0.0.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.harness import PageServers, chromium

from .proxy_servers import HOST, RunningProxy, Seen, proxy, upstream

pytestmark = [pytest.mark.browser, pytest.mark.server]

TIMEOUT_MS = 8000


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Browser, str, str, str, RunningProxy, Seen]]:
    with PageServers() as pages, upstream() as (up_port, seen):
        allowed, refused = pages.localhost, pages.at("evil.test")
        argv = [
            f"http://{HOST}:{up_port}",
            "--allow-origin", allowed,
            "--allow-credentials",
            "--allow-method", "PUT",
            "--allow-header", "Content-Type",
            "--allow-header", "X-Token",
            "--expose-header", "X-Upstream",
        ]  # fmt: skip
        # Module scope, closed at the end: Playwright's sync API keeps an event loop in the
        # main thread while open, which later asyncio.run() tests must not inherit.
        with proxy(argv) as running, chromium() as browser:
            api = f"http://localhost:{running.port}"
            yield browser, allowed, refused, api, running, seen


@pytest.fixture
def env(
    setup: tuple[Browser, str, str, str, RunningProxy, Seen],
) -> Iterator[tuple[Any, str, str, str, RunningProxy, Seen]]:
    browser, allowed, refused, api, running, seen = setup
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    seen.requests.clear()

    def open_page(origin: str) -> Page:
        page = context.new_page()
        page.goto(origin + "/")
        return page

    try:
        yield open_page, allowed, refused, api, running, seen
    finally:
        context.close()


FETCH = """async ({url, init}) => {
  try {
    const response = await fetch(url, init);
    return {ok: true, status: response.status, body: await response.text(),
            upstream: response.headers.get("X-Upstream")};
  } catch (error) {
    return {ok: false, error: String(error)};
  }
}"""


def test_simple_request_through_the_proxy(env: Any) -> None:
    open_page, allowed, _, api, running, _ = env
    result = open_page(allowed).evaluate(FETCH, {"url": api + "/hello", "init": {}})
    assert result["ok"], result
    assert '"hello": "world"' in result["body"]
    assert result["upstream"] == "aiohttp"  # exposed by the policy
    running.line("GET", "/hello 200", f"CORS ok for '{allowed}'")


def test_preflighted_request_through_the_proxy(env: Any) -> None:
    open_page, allowed, _, api, running, seen = env
    init = {
        "method": "PUT",
        "headers": {"Content-Type": "application/json", "X-Token": "t"},
        "body": '{"a": 1}',
    }
    result = open_page(allowed).evaluate(FETCH, {"url": api + "/echo", "init": init})
    assert result["ok"], result
    assert '"method": "PUT"' in result["body"]
    running.line("OPTIONS", "/echo 204", "preflight ok")
    assert [method for method, _, _ in seen.requests] == ["PUT"]  # preflight answered by us


def test_credentialed_request_and_cookie_through_the_proxy(env: Any) -> None:
    open_page, allowed, _, api, _, _ = env
    page = open_page(allowed)
    init = {"credentials": "include"}
    first = page.evaluate(FETCH, {"url": api + "/cookie", "init": init})
    assert first["ok"], first
    # The upstream set the cookie for its own host; the proxy made it the proxy's.
    second = page.evaluate(FETCH, {"url": api + "/cookie", "init": init})
    assert second["ok"], second
    assert "session=abc" in json.loads(second["body"])["cookie"]


def test_streamed_response_is_read_as_it_comes(env: Any) -> None:
    open_page, allowed, _, api, _, seen = env
    page = open_page(allowed)
    first = page.evaluate(
        """async (url) => {
          const response = await fetch(url);
          window.reader = response.body.getReader();
          const {value} = await window.reader.read();
          return new TextDecoder().decode(value);
        }""",
        api + "/sse",
    )
    assert first == "data: first\n\n"  # the upstream holds the rest until the test says so
    seen.release_sse()
    rest = page.evaluate(
        """async () => {
          let text = "";
          for (;;) {
            const {value, done} = await window.reader.read();
            if (done) return text;
            text += new TextDecoder().decode(value);
          }
        }"""
    )
    assert rest == "data: second\n\n"


def test_refused_origin_is_blocked(env: Any) -> None:
    open_page, _, refused, api, running, _ = env
    result = open_page(refused).evaluate(FETCH, {"url": api + "/hello", "init": {}})
    assert not result["ok"]
    assert "TypeError" in result["error"]
    running.line("/hello 200", "CORS refused: origin 'http://evil.test")


WEBSOCKET = """(url) => new Promise((resolve) => {
  const socket = new WebSocket(url, "chat");
  const events = [];
  socket.onopen = () => { events.push("open"); socket.send("ping"); };
  socket.onmessage = (event) => {
    events.push("message:" + event.data);
    if (event.data.startsWith("echo:")) { socket.close(); }
  };
  socket.onerror = () => events.push("error");
  socket.onclose = (event) => { events.push("close:" + event.code); resolve(events); };
})"""


def test_websocket_from_the_allowed_origin(env: Any) -> None:
    open_page, allowed, _, api, _, _ = env
    events = open_page(allowed).evaluate(WEBSOCKET, api.replace("http", "ws") + "/ws")
    assert events[0] == "open"
    assert f'"origin": "{allowed}"' in events[1]
    assert events[2] == "message:echo:ping"


def test_refused_origin_cannot_open_the_websocket(env: Any) -> None:
    open_page, _, refused, api, running, seen = env
    events = open_page(refused).evaluate(WEBSOCKET, api.replace("http", "ws") + "/ws")
    assert "open" not in events
    assert events[-1] == "close:1006"
    assert seen.requests == []  # the upgrade never reached the upstream
    running.line("WS", "/ws 403", "WebSocket refused: origin 'http://evil.test")
