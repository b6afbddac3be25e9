"""A bad configuration given to ``app.add_middleware`` stops uvicorn and hypercorn at startup.

Starlette and FastAPI build their middleware stack on the first ASGI call, the lifespan;
uvicorn's default ``lifespan="auto"`` reads an exception there as "lifespan unsupported"
and would serve 500s. The middleware fails the lifespan startup instead, with the
``ConfigError`` text. Each server runs as a real process on 127.0.0.1, with its defaults.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.server

HOST = "127.0.0.1"

APP = """
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crossorigin.asgi import CORSMiddleware

SERVED = {served!r}


async def hello(request: Request) -> PlainTextResponse:
    with open(SERVED, "a") as log:
        log.write(request.url.path + "\\n")
    return PlainTextResponse("hello")


OPTIONS = {options}

# FastAPI's tutorial style...
app = FastAPI()
app.add_middleware(CORSMiddleware, **OPTIONS)
app.add_api_route("/", hello)

# ...and Starlette's documented middleware list.
starlette_app = Starlette(
    routes=[Route("/", hello)], middleware=[Middleware(CORSMiddleware, **OPTIONS)]
)
"""

BAD = {"allow_origins": ["*"], "allow_credentials": True}
GOOD = {"allow_origins": ["https://app.example"], "allow_credentials": True}
# The ConfigError's own words, as the server must log them.
ERROR_TEXT = "'*' cannot be combined with allow_credentials=True"


def server_command(server: str, target: str, port: int, *extra: str) -> list[str]:
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--host", HOST, "--port", str(port)]
    return [sys.executable, "-m", "hypercorn", target, "--bind", f"{HOST}:{port}", *extra]


def write_app(tmp_path: Path, options: dict[str, object]) -> Path:
    served = tmp_path / "served.log"
    (tmp_path / "corsapp.py").write_text(
        textwrap.dedent(APP).format(served=str(served), options=options)
    )
    return served


def run_until_exit(command: list[str], cwd: Path, port: int) -> tuple[int, str, list[int]]:
    """Start the server, knock on its port until it exits (at most 30 s); return its exit
    code, its output and the statuses of any answers it gave."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    answered: list[int] = []
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=1, trust_env=False) as client:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    answered.append(
                        client.get(
                            f"http://{HOST}:{port}/", headers={"Origin": "https://x.test"}
                        ).status_code
                    )
                except httpx.TransportError:
                    time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            output = process.communicate(timeout=10)[0]
            pytest.fail(f"{command[2]} kept running with a bad CORS configuration:\n{output}")
        output = process.communicate(timeout=10)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process.returncode, output, answered


@pytest.mark.parametrize("target", ["corsapp:app", "corsapp:starlette_app"])
@pytest.mark.parametrize(
    ("server", "extra"),
    [("uvicorn", ()), ("hypercorn", ()), ("hypercorn", ("--workers", "0"))],
    ids=["uvicorn", "hypercorn", "hypercorn-in-process"],
)
def test_bad_configuration_stops_the_server_before_it_serves(
    tmp_path: Path, server: str, extra: tuple[str, ...], target: str
) -> None:
    served = write_app(tmp_path, BAD)
    port = free_port()
    code, output, answered = run_until_exit(
        server_command(server, target, port, *extra), tmp_path, port
    )
    assert ERROR_TEXT in output, output
    assert "crossorigin.asgi.CORSMiddleware cannot start" in output
    assert answered == []
    assert not served.exists()
    if server == "uvicorn":
        assert code == 3, output  # uvicorn's "startup failed" code
        assert "appears unsupported" not in output
    elif extra:
        assert code != 0, output
    # hypercorn with worker processes (its default) reports the worker's failure, then
    # exits 0 whatever happened: its own bug (pgjones/hypercorn#269), not something an
    # application can change. Run in-process (--workers 0) it exits non-zero.


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_good_configuration_serves(tmp_path: Path, server: str) -> None:
    # The control: the same app and servers with a valid policy start and answer, so the
    # test above would have seen any answer.
    served = write_app(tmp_path, GOOD)
    port = free_port()
    process = subprocess.Popen(
        server_command(server, "corsapp:app", port),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = None
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=2, trust_env=False) as client:
            while response is None and process.poll() is None and time.monotonic() < deadline:
                try:
                    response = client.get(
                        f"http://{HOST}:{port}/", headers={"Origin": "https://app.example"}
                    )
                except httpx.TransportError:
                    time.sleep(0.05)
        assert response is not None, "the server never answered"
        assert response.text == "hello"
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert served.read_text() == "/\n"
    finally:
        process.terminate()
        process.communicate(timeout=15)
