"""``crossorigin proxy`` as a user runs it: a separate process, its exit codes and output,
Ctrl-C with a request in flight, several workers, and memory over a long streamed transfer."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

from .proxy_servers import HOST, WAIT, Seen, upstream

pytestmark = pytest.mark.server

ALLOWED = "http://localhost:5173"
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "crossorigin.tools.cli", "proxy", *argv]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(*argv), capture_output=True, text=True, timeout=60, check=False)


def _environment() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}


class Proxy:
    def __init__(self, process: subprocess.Popen[str], port: int, banner: list[str]) -> None:
        self.process = process
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.output = banner

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, then the exit status and everything printed."""
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=WAIT * 2)
        return self.process.returncode, "\n".join(self.output) + "\n" + out

    @property
    def rss_kib(self) -> tuple[int, int]:
        """(current, peak) resident memory of the proxy process, KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
        return int(values["VmRSS"]), int(values["VmHWM"])


@contextmanager
def running(argv: Sequence[str], port_line: re.Pattern[str] = _LISTENING) -> Iterator[Proxy]:
    process = subprocess.Popen(
        _command(*argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(),
    )
    banner: list[str] = []
    port = None
    timer = threading.Timer(WAIT * 2, process.kill)  # a proxy that never starts fails the test
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            found = port_line.search(line)
            if found:
                port = int(found.group(1))
            if "Ctrl-C to stop" in line or "workers on" in line:
                break
    finally:
        timer.cancel()
    if port is None:
        process.kill()
        raise AssertionError("the proxy did not start:\n" + "\n".join(banner))
    proxy = Proxy(process, port, banner)
    try:
        yield proxy
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=WAIT)


@pytest.fixture(scope="module")
def up() -> Iterator[tuple[int, Seen]]:
    with upstream() as running_upstream:
        yield running_upstream


def test_an_invalid_policy_stops_the_proxy_at_start() -> None:
    result = _run(
        "http://127.0.0.1:9",
        "--allow-origin", "https://app.example.com/",
        "--allow-origin", "*",
        "--allow-credentials",
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid CORS configuration (2 problems)" in result.stderr
    assert "Fix: write 'https://app.example.com'" in result.stderr
    assert "allow_origins is --allow-origin" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("upstream_url", "message"),
    [
        ("ftp://files.example", "must start with http:// or https://"),
        ("http://user:pw@api.example", "carries credentials"),
        ("http://api.example/?a=1", "has a query"),
        ("http://", "has no host"),
    ],
)
def test_a_bad_upstream_stops_the_proxy_at_start(upstream_url: str, message: str) -> None:
    result = _run(upstream_url, "--allow-origin", ALLOWED)
    assert result.returncode == 2
    assert message in result.stderr


def test_no_policy_at_all_is_explained() -> None:
    result = _run("http://127.0.0.1:9")
    assert result.returncode == 2
    assert "the policy allows no origin" in result.stderr


def test_ctrl_c_lets_the_request_in_flight_finish(up: tuple[int, Seen]) -> None:
    port, seen = up
    seen.requests.clear()
    with running([f"http://{HOST}:{port}", "--port", "0", "--allow-origin", ALLOWED]) as proxy:
        answer: list[httpx.Response] = []
        client = threading.Thread(
            target=lambda: answer.append(
                httpx.get(proxy.url + "/hang?seconds=1", timeout=WAIT, trust_env=False)
            )
        )
        client.start()
        for _ in range(int(WAIT / 0.01)):
            if seen.requests:
                break
            threading.Event().wait(0.01)
        assert seen.requests, "the request never reached the upstream"
        status, output = proxy.stop()
        client.join(WAIT)
    assert answer
    assert answer[0].status_code == 200
    assert answer[0].text == "late"
    assert status == 0
    assert "stopping: 1 request(s) in flight get up to 10 s to finish" in output
    assert re.search(r"GET +/hang\?seconds=1 200", output)
    assert "Traceback" not in output


def test_several_workers(up: tuple[int, Seen]) -> None:
    port = free_port()
    argv = [
        f"http://{HOST}:{up[0]}",
        "--port",
        str(port),
        "--workers",
        "2",
        "--allow-origin",
        ALLOWED,
    ]
    with running(argv, re.compile(r"workers on http://127\.0\.0\.1:(\d+)")) as proxy:
        for _ in range(int(WAIT / 0.05)):  # the workers start after the banner
            try:
                response = httpx.get(
                    proxy.url + "/hello", headers={"Origin": ALLOWED}, trust_env=False
                )
                break
            except httpx.TransportError:
                threading.Event().wait(0.05)
        assert response.headers["access-control-allow-origin"] == ALLOWED
        status, output = proxy.stop()
    assert status == 0
    assert "2 workers on" in output


def test_memory_stays_flat_over_a_long_streamed_transfer(up: tuple[int, Seen]) -> None:
    """200 MB down and 100 MB up through the proxy process: its peak memory grows by far less
    than that (the full 1 GB figure is measured by ``make bench-proxy``)."""
    size = 200 * 1024 * 1024
    with (
        running(
            [f"http://{HOST}:{up[0]}", "--port", "0", "--allow-origin", ALLOWED, "--quiet"],
            re.compile(r"listening on http://127\.0\.0\.1:(\d+)"),
        ) as proxy,
        httpx.Client(base_url=proxy.url, timeout=WAIT, trust_env=False) as client,
    ):
        # Warm up: imports, the connection pool, buffers at their working size.
        client.get("/download?size=1048576").raise_for_status()
        _, peak_before = proxy.rss_kib
        received = 0
        with client.stream("GET", f"/download?size={size}") as response:
            for chunk in response.iter_raw():
                received += len(chunk)
        block = b"u" * (1024 * 1024)
        uploaded = client.post("/upload", content=(block for _ in range(100)))
        _, peak_after = proxy.rss_kib
    assert received == size
    assert uploaded.json()["size"] == 100 * len(block)
    growth_mib = (peak_after - peak_before) / 1024
    assert growth_mib < 40, f"the proxy's peak memory grew by {growth_mib:.0f} MiB"


def test_an_upstream_dying_mid_response_is_one_line_not_a_traceback(up: tuple[int, Seen]) -> None:
    with running([f"http://{HOST}:{up[0]}", "--port", "0", "--allow-origin", ALLOWED]) as proxy:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(proxy.url + "/die", timeout=WAIT, trust_env=False)
        assert httpx.get(proxy.url + "/hello", timeout=WAIT, trust_env=False).status_code == 200
        status, output = proxy.stop()
    assert status == 0
    assert re.search(r"GET +/die 200 .*upstream failed mid-response", output)
    assert "Traceback" not in output
    assert "Exception in ASGI application" not in output
