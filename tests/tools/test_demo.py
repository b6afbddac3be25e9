"""``crossorigin demo``: the printed walkthrough, the live servers, Ctrl-C, and the page.

Every test here runs the real thing: uvicorn on 127.0.0.1 (free ports), real HTTP with
httpx, and for the page a headless Chromium clicking its buttons.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from crossorigin import browser
from crossorigin.tools import cli, demo
from crossorigin.tools.demo_page import render_page
from tests.conftest import require

URL = re.compile(r"^\s+(API|page)\s+(http://127\.0\.0\.1:\d+)\s", re.MULTILINE)
WAIT = 10.0  # seconds; bounds every wait on a subprocess
DEMO = [sys.executable, "-m", "crossorigin.tools.demo", "--api-port", "0", "--page-port", "0"]


def blocks(output: str) -> dict[str, str]:
    """The printed exchanges keyed by their number ("1".."5")."""
    found: dict[str, str] = {}
    for block in output.split("\n\n"):
        match = re.match(r"(\d)\. ", block)
        if match:
            found[match.group(1)] = block
    return found


def urls(output: str) -> dict[str, str]:
    return dict(URL.findall(output))


# --- --once: the printed walkthrough ----------------------------------------------------------


@pytest.mark.server
def test_once_prints_urls_headers_and_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--once", "--api-port", "0", "--page-port", "0"]) == 0
    output = capsys.readouterr().out
    found = urls(output)
    api, page = found["API"], found["page"]
    assert api != page
    shown = blocks(output)
    assert sorted(shown) == ["1", "2", "3", "4", "5"]

    simple = shown["1"]
    assert "> GET /api/greeting" in simple
    assert f"> Origin: {page}" in simple
    assert "< 200 OK" in simple
    assert f"< access-control-allow-origin: {page}" in simple
    assert "< access-control-allow-credentials: true" in simple
    assert "< access-control-expose-headers: X-Request-Id" in simple
    assert "< vary: Origin" in simple
    assert "= browser allows" in simple
    readable, hidden = re.search(r"script can read: (.*); hidden: (.*)", simple).groups()  # type: ignore[union-attr]
    assert "x-request-id" in readable.split(", ")
    assert "x-served-by" in hidden.split(", ")

    preflight = shown["2"]
    assert "> OPTIONS /api/items/42" in preflight
    assert "> Access-Control-Request-Method: PUT" in preflight
    assert "< 204 No Content" in preflight
    assert f"< access-control-allow-origin: {page}" in preflight
    assert "< access-control-allow-headers: Content-Type, Authorization, X-Request-Id" in preflight
    assert "< access-control-allow-methods: GET, POST, PUT, DELETE" in preflight
    assert "< access-control-max-age: 600" in preflight
    assert "= browser allows: it sends the PUT next" in preflight

    put = shown["3"]
    assert "> Authorization: Bearer demo-token" in put
    assert "< 200 OK" in put
    assert f"< access-control-allow-origin: {page}" in put
    assert "= browser allows" in put

    refused_origin = shown["4"]
    assert "> Origin: http://evil.example" in refused_origin
    assert "< 200 OK" in refused_origin  # the app answered; only the grant is missing
    assert "access-control-allow-origin" not in refused_origin
    assert "< vary: Origin" in refused_origin
    assert "= browser blocks: origin 'http://evil.example' is not allowed" in refused_origin

    refused_header = shown["5"]
    assert "< 403 Forbidden" in refused_header
    assert "access-control-allow-origin" not in refused_header
    assert "= browser blocks: request header(s) 'x-debug' not allowed" in refused_header

    # The demo flags any disagreement between the middleware's decision and its headers.
    assert "server decision said" not in output
    # Not a terminal: plain text, no escape sequences.
    assert "\x1b[" not in output


# --- ports --------------------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        yield occupier.getsockname()[1]


def test_default_port_moves_aside_when_taken(taken_port: int) -> None:
    with demo.bind_port(None, "--api-port", taken_port) as sock:
        host, port = sock.getsockname()
    assert host == "127.0.0.1"
    assert port not in (0, taken_port)


def test_explicit_port_taken_is_an_error(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(OSError, match=r"choose another --page-port, or --page-port 0"):
        demo.bind_port(taken_port, "--page-port", 8001)
    assert demo.main(["--once", "--api-port", str(taken_port), "--page-port", "0"]) == 2
    assert f"cannot listen on 127.0.0.1:{taken_port}" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["-1", "65536", "http"])
def test_port_option_rejects_non_ports(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--api-port", bad])
    assert exit_info.value.code == 2
    assert "--api-port" in capsys.readouterr().err


# --- the example API and the page, as ASGI apps ---------------------------------------------


def call(app: object, method: str, url: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.request(method, url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_example_api_routes() -> None:
    api = demo.ExampleAPI()
    greeting = call(api, "GET", "/api/greeting")
    assert greeting.status_code == 200
    assert greeting.json() == {"message": "hello from the API"}
    assert greeting.headers["x-served-by"] == "crossorigin-demo"
    assert greeting.headers["x-request-id"].startswith("api-")
    put = call(
        api,
        "PUT",
        "/api/items/7",
        json={"a": 1},
        headers={"Authorization": "Bearer t", "X-Request-Id": "r1"},
    )
    assert put.json() == {"item": "7", "saved": {"a": 1}, "authorized": True}
    assert put.headers["x-request-id"] == "r1"
    assert call(api, "PUT", "/api/items/7", content=b"{").status_code == 400
    too_big = call(api, "PUT", "/api/items/7", content=b"1" * (demo.MAX_BODY + 1))
    assert too_big.status_code == 413
    wrong_method = call(api, "DELETE", "/api/greeting")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD"
    assert call(api, "GET", "/api/items/7/x").status_code == 404
    assert call(api, "GET", "/nowhere").status_code == 404


def test_page_app_serves_the_page_wired_to_the_api() -> None:
    app = demo.page_app("http://127.0.0.1:1234")
    page = call(app, "GET", "/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'const API = "http://127.0.0.1:1234";' in page.text
    for button in ("run-get", "run-put", "run-refused-header", "run-null-origin"):
        assert f'id="{button}"' in page.text
    assert call(app, "GET", "/other").status_code == 404


def test_page_keeps_the_api_origin_inert() -> None:
    hostile = 'http://x</script><script>alert("x")</script>'
    page = render_page(hostile).decode("utf-8")
    assert "</script><script>alert" not in page
    assert "&lt;/script&gt;" in page


# --- the browser-side verdict ---------------------------------------------------------------

PAGE = "http://127.0.0.1:8001"


def response(status: int = 200, /, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers=[(name.replace("_", "-"), value) for name, value in headers.items()]
    )


GET = demo.Exchange("get", "GET", "/", PAGE)
PUBLIC_GET = demo.Exchange("get", "GET", "/", PAGE, credentialed=False)
PREFLIGHT = demo.Exchange(
    "preflight",
    "OPTIONS",
    "/",
    PAGE,
    {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"},
)
PUBLIC_PREFLIGHT = demo.Exchange(
    "preflight",
    "OPTIONS",
    "/",
    PAGE,
    {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-a"},
    credentialed=False,
)
GRANT = {"access_control_allow_origin": PAGE, "access_control_allow_credentials": "true"}


@pytest.mark.parametrize(
    ("exchange", "answer", "failure"),
    [
        (GET, response(**GRANT), None),
        (PUBLIC_GET, response(access_control_allow_origin="*"), None),
        (GET, response(), ("allow-origin", "no Access-Control-Allow-Origin")),
        (
            GET,
            response(access_control_allow_origin="*"),
            ("allow-origin", "'*' but the request is credentialed"),
        ),
        (
            GET,
            response(access_control_allow_origin="http://a.example"),
            ("allow-origin", "does not match the origin"),
        ),
        (
            GET,
            response(access_control_allow_origin=PAGE),
            ("allow-credentials", "no Access-Control-Allow-Credentials"),
        ),
        (
            GET,
            response(access_control_allow_origin=f"{PAGE}, {PAGE}"),
            ("allow-origin", "a list; the header holds exactly one origin"),
        ),
        (
            PREFLIGHT,
            response(
                204,
                **GRANT,
                access_control_allow_methods="GET, PUT",
                access_control_allow_headers="Authorization",
            ),
            None,
        ),
        (
            PREFLIGHT,
            response(403, **GRANT, access_control_allow_methods="PUT"),
            ("preflight-status", "status 403 is not a 2xx"),
        ),
        (
            PREFLIGHT,
            response(204, **GRANT, access_control_allow_headers="authorization"),
            ("allow-methods", "method PUT is not allowed"),
        ),
        (
            PREFLIGHT,
            response(204, **GRANT, access_control_allow_methods="PUT"),
            ("allow-headers", "header 'authorization' is not allowed"),
        ),
        (
            PUBLIC_PREFLIGHT,
            response(
                204,
                access_control_allow_origin="*",
                access_control_allow_methods="*",
                access_control_allow_headers="*",
            ),
            None,
        ),
        (
            PREFLIGHT,
            response(
                204,
                **GRANT,
                access_control_allow_methods="*",
                access_control_allow_headers="authorization",
            ),
            # '*' is literal with credentials
            ("allow-methods", "'*' is not a wildcard but a method named '*'"),
        ),
    ],
)
def test_failed_checks(
    exchange: demo.Exchange, answer: httpx.Response, failure: tuple[str, str] | None
) -> None:
    found = demo.failed_checks(exchange, answer)
    if failure is None:
        assert found == []
    else:
        code, text = failure
        assert any(c.code == code and text in f"{c.summary}: {c.cause}" for c in found), found


@pytest.mark.parametrize(
    ("profile", "blocked"),
    [
        (browser.SPEC, True),
        (browser.FIREFOX, False),
        (browser.WEBKIT, False),
        (browser.CHROMIUM, False),
    ],
)
def test_wildcard_allow_headers_never_covers_authorization_but_in_chromium(
    profile: browser.Profile, blocked: bool
) -> None:
    exchange = demo.Exchange(
        "p",
        "OPTIONS",
        "/",
        PAGE,
        {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
        credentialed=False,
    )
    answer = response(204, access_control_allow_origin="*", access_control_allow_headers="*")
    summaries = [c.summary for c in demo.failed_checks(exchange, answer, profile)]
    assert summaries == (["header 'authorization' is not allowed"] if blocked else [])


def test_script_reads_safelisted_and_exposed_headers_only() -> None:
    answer = response(
        content_type="application/json",
        x_request_id="1",
        x_secret="s",
        set_cookie="a=b",
        access_control_expose_headers="X-Request-Id, Set-Cookie",
    )
    readable, hidden = demo.script_headers(GET, answer)
    assert readable == ["content-type", "x-request-id"]
    assert hidden == ["x-secret", "set-cookie"]
    public = response(x_secret="s", access_control_expose_headers="*")
    assert demo.script_headers(PUBLIC_GET, public) == (["x-secret"], [])
    assert demo.script_headers(GET, public) == ([], ["x-secret"])


# --- the long-running demo: live log, page, Ctrl-C ------------------------------------------


class RunningDemo:
    """``python -m crossorigin.tools.demo`` in a subprocess, its output read line by line."""

    def __init__(self) -> None:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            DEMO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for("Press Ctrl-C")
        found = urls("\n".join(self.seen))
        self.api, self.page = found["API"], found["page"]

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {WAIT} s; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"demo exited before {text!r}; got {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


@pytest.fixture
def running_demo() -> Iterator[RunningDemo]:
    require(sys.platform != "win32", "these tests stop the demo with SIGINT (POSIX only)")
    running = RunningDemo()
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


@pytest.mark.server
def test_serves_logs_live_requests_and_stops_on_ctrl_c(running_demo: RunningDemo) -> None:
    with httpx.Client(trust_env=False, timeout=WAIT) as client:
        page = client.get(running_demo.page + "/")
        assert page.status_code == 200
        assert f'const API = "{running_demo.api}";' in page.text

        granted = client.get(
            running_demo.api + "/api/greeting", headers={"Origin": running_demo.page}
        )
        assert granted.headers["access-control-allow-origin"] == running_demo.page
        line = running_demo.wait_for("api <- GET /api/greeting")
        assert f"from {running_demo.page} -> 200 granted" in line

        refused = client.options(
            running_demo.api + "/api/items/1",
            headers={"Origin": "null", "Access-Control-Request-Method": "PUT"},
        )
        assert refused.status_code == 403
        line = running_demo.wait_for("api <- OPTIONS /api/items/1")
        assert "403 no grant: origin 'null' is not allowed" in line

    code, errors = running_demo.stop()
    assert code == 0
    assert errors == ""
    assert running_demo.wait_for("Stopped.") == "Stopped.\n"


# --- the page in a real browser -------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.server
def test_page_buttons_in_chromium(running_demo: RunningDemo) -> None:
    require(os.path.exists(CHROMIUM), "Chromium not found (Debian: apt install chromium)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.goto(running_demo.page + "/")
            expected = {
                "get": "ok",
                "put": "ok",
                "refused-header": "blocked",
                "null-origin": "blocked",
            }
            for name, outcome in expected.items():
                tab.click(f"#run-{name}")
                expect(tab.locator(f"#out-{name}")).to_have_class(outcome, timeout=WAIT * 1000)
            texts = {name: tab.inner_text(f"#out-{name}") for name in expected}
        finally:
            browser.close()

    # Only the exposed header reaches the script.
    assert "X-Request-Id (exposed): api-" in texts["get"]
    assert "X-Served-By (not exposed): null" in texts["get"]
    assert '"authorized": true' in texts["put"]
    assert "X-Request-Id (exposed): page-put" in texts["put"]
    # The server saw what the browser sent, and said why it refused.
    running_demo.wait_for("preflight for PUT, headers content-type,x-debug")
    assert "no grant: request header(s) 'x-debug' not allowed" in running_demo.seen[-1]
    line = running_demo.wait_for("from null")
    assert "200 no grant: origin 'null' is not allowed" in line
    code, _ = running_demo.stop()
    assert code == 0


@pytest.mark.server
@pytest.mark.parametrize(("no_color", "styled"), [("", True), ("1", False)])
def test_terminal_output_is_styled_unless_no_color(
    no_color: str, styled: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # FORCE_COLOR makes rich treat the captured stdout as a terminal.
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.delenv("TERM", raising=False)
    assert demo.main(["--once", "--api-port", "0", "--page-port", "0"]) == 0
    output = capsys.readouterr().out
    assert ("\x1b[" in output) is styled
    assert "= browser blocks: origin 'http://evil.example' is not allowed" in output


@pytest.mark.server
def test_closed_stdout_ends_quietly() -> None:
    # `crossorigin demo | head` closes the pipe early; no traceback, and nothing left running.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        finished = subprocess.run(
            [*DEMO, "--once"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            check=False,
        )
    finally:
        os.close(write_end)
    assert finished.returncode == 1
    assert finished.stderr == ""
