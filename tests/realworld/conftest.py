"""Fixtures for the framework and server matrix: one headless Chromium for the package, a
page server giving two origins (one the apps grant, one they refuse), and each app started
in its real server as a separate process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.browser.harness import PageServers
from tests.browser.harness import chromium as launched_chromium
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class PageOrigins:
    allowed: str
    refused: str


@pytest.fixture(scope="package")
def page_port() -> Iterator[int]:
    """An empty page on 127.0.0.1, reachable under any loopback name: each name is an origin."""
    with PageServers() as pages:
        yield pages.port


@pytest.fixture(scope="package")
def page_origins(page_port: int) -> PageOrigins:
    """Two origins of the page server: ``localhost`` (granted) and ``127.0.0.1`` (not)."""
    return PageOrigins(f"http://localhost:{page_port}", f"http://127.0.0.1:{page_port}")


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test: no preflight or HTTP cache carried between tests."""
    fresh = chromium.new_context()
    fresh.set_default_timeout(10_000)
    yield fresh
    fresh.close()


@dataclass(frozen=True)
class Combination:
    framework: str
    server: str
    target: str

    @property
    def id(self) -> str:
        return f"{self.framework}-{self.server}"

    def command(self, port: int) -> list[str]:
        listen = f"127.0.0.1:{port}"
        py = sys.executable
        match self.server:
            case "uvicorn":
                return [
                    py,
                    "-m",
                    "uvicorn",
                    self.target,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ]
            case "hypercorn":
                return [py, "-m", "hypercorn", self.target, "--bind", listen]
            case "granian":
                return [
                    str(BIN / "granian"),
                    "--interface",
                    "asgi",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                    self.target,
                ]
            case "gunicorn":
                return [str(BIN / "gunicorn"), "--bind", listen, "--workers", "1", self.target]
            case "waitress":
                return [py, "-m", "waitress", f"--listen={listen}", self.target]
            case "aiohttp":
                return [py, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", str(port), self.target]
            case "tornado":
                return [py, "-m", self.target, str(port)]
        raise ValueError(self.server)


@dataclass(frozen=True)
class RunningServer:
    combination: Combination
    url: str


@contextmanager
def running(
    combination: Combination, allowed_origin: str, extra_env: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """Start ``combination`` as its own process; stop it (and its workers) afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "MATRIX_ALLOWED_ORIGIN": allowed_origin,
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            combination.command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_listening(process, port, log, combination.id)
            yield RunningServer(combination, f"http://127.0.0.1:{port}")
        finally:
            _stop(process)


def wait_listening(
    process: subprocess.Popen[bytes], port: int, log: typing.IO[bytes], what: str
) -> None:
    """Wait until ``process`` accepts connections on ``port``; fail with its output if not."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    log.seek(0)
    output = log.read().decode(errors="replace")[-4000:]
    pytest.fail(f"{what} did not start on 127.0.0.1:{port}:\n{output}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The whole session: gunicorn and granian run their workers as child processes.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
