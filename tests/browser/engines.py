"""Three browser engines behind one small interface: a :class:`Tab` runs script in a page.

- **Chromium**: Debian's ``/usr/bin/chromium`` through Playwright (``conftest.py`` launches
  it; :class:`PlaywrightTab` wraps a page of it).
- **Firefox**: Debian's ``firefox-esr`` through Mozilla's ``marionette_driver`` (no
  geckodriver). ``network.dns.forceResolve`` sends every host name to 127.0.0.1.
- **WebKit**: WebKitGTK's ``WebKitWebDriver`` through Selenium, under a private Xvfb display
  (MiniBrowser has no headless mode). WebKit has no resolver switch, so it browses through
  :class:`LoopbackProxy`, a forwarding HTTP proxy that sends every host name to 127.0.0.1.

Every launch is bounded in time and every process started here is ended by its PID.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from crossorigin.browser import Profile

EngineName = Literal["chromium", "firefox", "webkit"]
ENGINES: tuple[EngineName, ...] = ("chromium", "firefox", "webkit")

FIREFOX = (
    os.environ.get("CROSSORIGIN_FIREFOX") or shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
)
WEBKIT_DRIVER = (
    os.environ.get("CROSSORIGIN_WEBKIT_DRIVER")
    or shutil.which("WebKitWebDriver")
    or "/usr/bin/WebKitWebDriver"
)
XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"

INSTALL_HINTS: dict[EngineName, str] = {
    "chromium": "install it with `sudo apt-get install chromium` (or set CROSSORIGIN_CHROMIUM)",
    "firefox": "install it with `sudo apt-get install firefox-esr` (or set CROSSORIGIN_FIREFOX)",
    "webkit": "install it with `sudo apt-get install webkit2gtk-driver xvfb` "
    "(or set CROSSORIGIN_WEBKIT_DRIVER)",
}

LAUNCH_SECONDS = 40.0
SCRIPT_SECONDS = 20.0


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def missing(name: EngineName, chromium: str) -> str | None:
    """Why ``name`` cannot run here (None: it can)."""
    if name == "chromium":
        found = _executable(chromium)
        where = chromium
    elif name == "firefox":
        found = _executable(FIREFOX)
        where = FIREFOX
    else:
        found = _executable(WEBKIT_DRIVER) and _executable(XVFB)
        where = f"{WEBKIT_DRIVER} (and {XVFB})"
    return None if found else f"{name} not found at {where}: {INSTALL_HINTS[name]}"


# Engines never run script the same way; every page-side call goes through this wrapper, which
# turns ``async (arg) => value`` source into the WebDriver-style "call back when done" form.
_ASYNC_WRAPPER = """
const done = arguments[arguments.length - 1];
const fn = (%s);
Promise.resolve().then(() => fn(arguments[0])).then(
  (value) => done({value: value === undefined ? null : value}),
  (error) => done({error: String(error)}));
"""


class Tab(Protocol):
    """One browsing context the suite controls; the only thing scenarios talk to."""

    engine: EngineName

    @property
    def url(self) -> str: ...

    def goto(self, url: str) -> None: ...

    def evaluate(self, source: str, arg: Any = None) -> Any:
        """Run ``async (arg) => ...`` (its source) in the page; return what it resolves to."""
        ...

    def sandboxed_frame(self) -> Tab:
        """A sandboxed iframe (scripts only) in this page: its fetches send ``Origin: null``."""
        ...

    def console_mark(self) -> int:
        """A position in the console log, for :meth:`console_since`."""
        ...

    def console_since(self, mark: int, *, expect: bool) -> list[str]:
        """The CORS console messages logged after ``mark``; ``expect``: wait briefly for one."""
        ...


_SANDBOX_HTML = '<iframe sandbox="allow-scripts" srcdoc="<p>sandboxed"></iframe>'


# --- Chromium (Playwright) --------------------------------------------------------------------


class PlaywrightTab:
    """A Playwright page or frame of Chromium, with its console messages collected."""

    engine: EngineName = "chromium"

    def __init__(self, target: Any, console: list[str] | None = None) -> None:
        from playwright.sync_api import Frame

        self.target = target
        self._page = target.page if isinstance(target, Frame) else target
        if console is None:
            console = []
            self._page.on("console", lambda message: console.append(message.text))
        self._console = console

    @property
    def url(self) -> str:
        return str(self.target.url)

    def goto(self, url: str) -> None:
        self.target.goto(url)

    def evaluate(self, source: str, arg: Any = None) -> Any:
        return self.target.evaluate(source, arg)

    def sandboxed_frame(self) -> PlaywrightTab:
        self._page.set_content(_SANDBOX_HTML)
        frame = self._page.frames[1]
        frame.wait_for_load_state()
        return PlaywrightTab(frame, self._console)

    def console_mark(self) -> int:
        return len(self._console)

    def console_since(self, mark: int, *, expect: bool) -> list[str]:
        # Chromium reports the CORS error to the console asynchronously, after fetch() failed.
        deadline = time.monotonic() + (1.0 if expect else 0.0)
        while True:
            found = [m for m in self._console[mark:] if "CORS" in m]
            if found or time.monotonic() >= deadline:
                return found
            self._page.wait_for_timeout(20)


# --- Firefox (Marionette) ----------------------------------------------------------------------


class _ScriptTab:
    """Shared by the WebDriver-style engines: script, navigation and the sandboxed frame."""

    engine: EngineName
    rules: Profile | None = None

    def __init__(self, frame: Any = None) -> None:
        self._frame = frame

    @property
    def url(self) -> str:
        return self._current_url()

    def evaluate(self, source: str, arg: Any = None) -> Any:
        if self._frame is not None:
            self._enter(self._frame)
        try:
            answer = self._run_async(_ASYNC_WRAPPER % source, arg)
        finally:
            if self._frame is not None:
                self._leave()
        if not isinstance(answer, dict) or "value" not in answer:
            raise AssertionError(f"script failed in {self.engine}: {answer}")
        return answer["value"]

    def sandboxed_frame(self) -> Tab:
        self.evaluate(
            """async (html) => {
              document.body.innerHTML = html;
              const frame = document.querySelector("iframe");
              await new Promise((resolve) => { frame.onload = resolve; });
            }""",
            _SANDBOX_HTML,
        )
        return self._with_frame(self._find_iframe())

    # Engine specifics.
    def _current_url(self) -> str:
        raise NotImplementedError

    def _run_async(self, script: str, arg: Any) -> Any:
        raise NotImplementedError

    def _find_iframe(self) -> Any:
        raise NotImplementedError

    def _enter(self, frame: Any) -> None:
        raise NotImplementedError

    def _leave(self) -> None:
        raise NotImplementedError

    def _with_frame(self, frame: Any) -> Tab:
        raise NotImplementedError


class FirefoxTab(_ScriptTab):
    engine: EngineName = "firefox"

    def __init__(self, browser: FirefoxBrowser, frame: Any = None) -> None:
        super().__init__(frame)
        self.browser = browser
        self.rules = browser.rules
        self._m = browser.marionette

    def _current_url(self) -> str:
        return str(self._m.get_url())

    def goto(self, url: str) -> None:
        self._m.navigate(url)

    def _run_async(self, script: str, arg: Any) -> Any:
        return self._m.execute_async_script(
            script, script_args=[arg], sandbox=None, script_timeout=int(SCRIPT_SECONDS * 1000)
        )

    def _find_iframe(self) -> Any:
        from marionette_driver.by import By

        return self._m.find_element(By.TAG_NAME, "iframe")

    def _enter(self, frame: Any) -> None:
        self._m.switch_to_frame(frame)

    def _leave(self) -> None:
        self._m.switch_to_parent_frame()

    def _with_frame(self, frame: Any) -> Tab:
        return FirefoxTab(self.browser, frame)

    def console_mark(self) -> int:
        return self.browser.console_mark()

    def console_since(self, mark: int, *, expect: bool) -> list[str]:
        return self.browser.console_since(mark, expect=expect)


@dataclass
class FirefoxBrowser:
    """One Firefox for the whole session (a fresh profile in a temporary directory)."""

    marionette: Any
    version: str
    log_path: str
    rules: Profile | None = None
    """The checker's rules for this browser when they are not its engine's (see harness)."""

    @classmethod
    def launch(cls, prefs: dict[str, Any] | None = None) -> FirefoxBrowser:
        """``prefs``: extra preferences (a Firefox switched to other rules)."""
        logging.getLogger("mozversion").setLevel(logging.ERROR)
        from marionette_driver.marionette import Marionette

        fd, log_path = tempfile.mkstemp(prefix="crossorigin-gecko-", suffix=".log")
        os.close(fd)
        marionette = Marionette(
            bin=FIREFOX,
            headless=True,
            port=0,
            gecko_log=log_path,
            startup_timeout=int(LAUNCH_SECONDS),
            # Chrome-context script (reading the browser console) needs system access.
            app_args=["-remote-allow-system-access"],
            prefs={
                "network.dns.forceResolve": "127.0.0.1",
                # Nothing of the browser's own talks to the network during the run.
                "app.update.enabled": False,
                "browser.safebrowsing.malware.enabled": False,
                "browser.safebrowsing.phishing.enabled": False,
                **(prefs or {}),
            },
        )
        try:
            marionette.start_session()
            marionette.timeout.page_load = 15
            version = str(marionette.session_capabilities.get("browserVersion", "?"))
        except BaseException:
            with contextlib.suppress(Exception):
                marionette.cleanup()
            raise
        return cls(marionette, version, log_path)

    def tab(self) -> FirefoxTab:
        return FirefoxTab(self)

    def _console(self, script: str) -> Any:
        with self.marionette.using_context("chrome"):
            return self.marionette.execute_script(script)

    def console_mark(self) -> int:
        # The console service keeps a bounded buffer: empty it, and count from zero.
        self._console("Services.console.reset(); return 0;")
        return 0

    def console_since(self, mark: int, *, expect: bool) -> list[str]:
        messages: list[str] = self._console(
            """
            const found = [];
            for (const message of Services.console.getMessageArray()) {
              if (message instanceof Ci.nsIScriptError && message.category.startsWith("CORS"))
                found.push(message.errorMessage);
            }
            return found;
            """
        )
        return messages[mark:]

    def clear_cookies(self) -> None:
        self._console("Services.cookies.removeAll(); return 0;")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.marionette.cleanup()
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)


# --- WebKit (WebKitGTK under Xvfb, through Selenium) -------------------------------------------


class WebKitTab(_ScriptTab):
    engine: EngineName = "webkit"

    def __init__(self, browser: WebKitBrowser, frame: Any = None) -> None:
        super().__init__(frame)
        self.browser = browser
        self._d = browser.driver

    def _current_url(self) -> str:
        return str(self._d.current_url)

    def goto(self, url: str) -> None:
        self._d.get(url)

    def _run_async(self, script: str, arg: Any) -> Any:
        return self._d.execute_async_script(script, arg)

    def _find_iframe(self) -> Any:
        from selenium.webdriver.common.by import By

        return self._d.find_element(By.TAG_NAME, "iframe")

    def _enter(self, frame: Any) -> None:
        self._d.switch_to.frame(frame)

    def _leave(self) -> None:
        self._d.switch_to.default_content()

    def _with_frame(self, frame: Any) -> Tab:
        return WebKitTab(self.browser, frame)

    def console_mark(self) -> int:
        return 0

    def console_since(self, mark: int, *, expect: bool) -> list[str]:
        # WebKitWebDriver offers no console log, and MiniBrowser's automation views ignore
        # --enable-write-console-messages-to-stdout: only the TypeError reaches the suite.
        return []


class Xvfb:
    """A private X display for MiniBrowser, which has no headless mode."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            pass_fds=[write],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        # Read until the newline: closing the pipe before Xvfb wrote it all can kill it.
        number = b""
        deadline = time.monotonic() + LAUNCH_SECONDS
        try:
            while not number.endswith(b"\n"):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("Xvfb did not start")
                chunk = os.read(read, 16)
                if not chunk:
                    raise RuntimeError("Xvfb closed its display pipe without a display number")
                number += chunk
        except BaseException:
            self.close()
            raise
        finally:
            os.close(read)
        self.display = ":" + number.decode().strip()

    def close(self) -> None:
        _end(self.process)


def _end(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc), deepest last."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    parents: dict[int, int] = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def _reap(pid: int) -> None:
    """End ``pid`` and everything it started (MiniBrowser, its web and network processes)."""
    for target in [*reversed(_children(pid)), pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)


@dataclass
class WebKitBrowser:
    """One MiniBrowser (WebKitGTK) for the whole session, on its own display, via a proxy."""

    driver: Any
    version: str
    xvfb: Xvfb
    proxy: LoopbackProxy
    driver_pid: int

    @classmethod
    def launch(cls) -> WebKitBrowser:
        xvfb = Xvfb()
        proxy = LoopbackProxy()
        try:
            driver, pid = _webkit_session(xvfb.display, proxy.address)
        except BaseException:
            proxy.close()
            xvfb.close()
            raise
        version = str(driver.capabilities.get("browserVersion", "?"))
        driver.set_script_timeout(SCRIPT_SECONDS)
        driver.set_page_load_timeout(15)
        return cls(driver, version, xvfb, proxy, pid)

    def tab(self) -> WebKitTab:
        return WebKitTab(self)

    def clear_cookies(self) -> None:
        # WebDriver deletes the cookies of the current document's host only; every cookie the
        # suite sets belongs to 127.0.0.1.
        if urlsplit(self.driver.current_url).hostname == "127.0.0.1":
            self.driver.delete_all_cookies()

    def close(self) -> None:
        quitter = threading.Thread(target=self._quit, daemon=True)
        quitter.start()
        quitter.join(10)
        _reap(self.driver_pid)
        self.proxy.close()
        self.xvfb.close()

    def _quit(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()


def _webkit_session(display: str, proxy: str) -> tuple[Any, int]:
    """A WebKitGTK session, retried once: session creation sometimes hangs."""
    from selenium import webdriver
    from selenium.webdriver.common.proxy import Proxy, ProxyType
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    last: BaseException | None = None
    for _attempt in range(2):
        options = Options()
        options.add_argument("--automation")
        # No noProxy list: with one, session creation hangs now and then.
        options.proxy = Proxy({"proxyType": ProxyType.MANUAL, "httpProxy": proxy})
        service = Service(
            executable_path=WEBKIT_DRIVER,
            log_output=subprocess.DEVNULL,
            env={**os.environ, "DISPLAY": display},
        )
        created: list[Any] = []
        failed: list[BaseException] = []
        # In a thread, so a hung session creation cannot hang the run.
        worker = threading.Thread(
            target=_create,
            args=(webdriver.WebKitGTK, options, service, created, failed),
            daemon=True,
        )
        worker.start()
        worker.join(LAUNCH_SECONDS / 2)
        process = getattr(service, "process", None)
        if created and process is not None:
            return created[0], process.pid
        if process is not None:
            _reap(process.pid)
        last = failed[0] if failed else TimeoutError("WebKitWebDriver did not create a session")
    assert last is not None
    raise last


def _create(
    factory: Any, options: Any, service: Any, created: list[Any], failed: list[BaseException]
) -> None:
    try:
        created.append(factory(options=options, service=service))
    except BaseException as error:  # reported by the caller, in the main thread
        failed.append(error)


class LoopbackProxy:
    """A forwarding HTTP proxy on 127.0.0.1: any ``http://host:port/`` goes to 127.0.0.1:port.

    WebKit's resolver cannot be told to map test names such as ``a.app.test`` to loopback,
    so WebKit browses through this. Requests and responses pass unchanged (repeated
    headers included), except the hop-by-hop headers a proxy must handle itself.
    """

    def __init__(self) -> None:
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webkit-proxy", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # the browser dropping a connection is no error of the proxy's


_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Any method, as written by the page ("patch" stays lowercase).
        if name.startswith("do_"):
            return self._forward
        raise AttributeError(name)

    def _forward(self) -> None:
        target = urlsplit(self.path)
        port = target.port or 80
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=SCRIPT_SECONDS)
        try:
            upstream.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
            payload = response.read()
        except OSError:
            self.send_error(502)
            return
        finally:
            upstream.close()
        self.send_response_only(response.status, response.reason)
        # Keep the server's framing: a chunked answer has no Content-Length, and script
        # would see one that the server never sent.
        framed = response.getheader("Content-Length") is not None
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304)
        if not framed and not bodiless:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            return
        if framed:
            self.wfile.write(payload)
        else:
            if payload:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        return


# --- console messages ---------------------------------------------------------------------------

_ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+?(?::\d+)?(?=[/'‘’\"\s)]|$)")


def normalise_message(message: str, url: str, origin: str) -> str:
    """A console message with this run's URLs and origins replaced by placeholders."""
    text = message.replace(url, "{url}")
    text = text.replace(f"'{origin}'", "'{origin}'").replace(f"‘{origin}’", "‘{origin}’")
    text = text.replace(f" {origin} ", " {origin} ")
    api = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    text = text.replace(api, "{api}")
    return _ORIGIN_RE.sub(lambda m: "{origin}" if m.group(0) == origin else "{other-origin}", text)
