"""A real shared cache (Varnish, nginx ``proxy_cache``) between the API and the browser.

A response cached for one origin must never reach another origin with the first one's grant,
a refused origin's (or a plain page load's) cached copy must never block an allowed origin,
revalidation (ETag, 304) must keep the grant, and a ``*`` policy must stay one cached object.
crossorigin passes all four. The same scenarios run against Starlette's CORSMiddleware (which,
since it sends ``Vary: Origin`` on every response, passes too) and against a middleware that
omits ``Vary: Origin``, which fails three of them: the proof can fail. Each browser visit
uses its own context, so Chromium's own HTTP cache never answers in place of the shared one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from tests.conftest import free_port, require

from .conftest import Combination, running, wait_listening

pytestmark = [pytest.mark.server, pytest.mark.browser]

VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
_names = count()


@dataclass(frozen=True)
class Origins:
    a: str
    b: str
    refused: str


@pytest.fixture(scope="module")
def origins(page_port: int) -> Origins:
    return Origins(
        f"http://a.test:{page_port}", f"http://b.test:{page_port}", f"http://c.test:{page_port}"
    )


def _varnish(workdir: Path, port: int, backend: int) -> list[str]:
    return [
        VARNISHD, "-F", "-j", "none", "-n", str(workdir / "varnish"),
        "-a", f"127.0.0.1:{port}", "-b", f"127.0.0.1:{backend}", "-s", "malloc,16m",
    ]  # fmt: skip


def _nginx(workdir: Path, port: int, backend: int) -> list[str]:
    config = workdir / "nginx.conf"
    config.write_text(
        textwrap.dedent(
            f"""
            user root;
            worker_processes 1;
            daemon off;
            pid {workdir}/nginx.pid;
            error_log {workdir}/error.log;
            events {{ worker_connections 64; }}
            http {{
                access_log off;
                client_body_temp_path {workdir}/body;
                proxy_temp_path {workdir}/proxy;
                fastcgi_temp_path {workdir}/fastcgi;
                uwsgi_temp_path {workdir}/uwsgi;
                scgi_temp_path {workdir}/scgi;
                proxy_cache_path {workdir}/cache keys_zone=cors:1m;
                server {{
                    listen 127.0.0.1:{port};
                    location / {{
                        proxy_pass http://127.0.0.1:{backend};
                        proxy_http_version 1.1;
                        proxy_cache cors;
                    }}
                }}
            }}
            """
        )
    )
    return [NGINX, "-c", str(config)]


CACHES = {"varnish": (VARNISHD, _varnish), "nginx": (NGINX, _nginx)}


@dataclass(frozen=True)
class Stack:
    cache: str
    layer: str
    url: str  # through the cache
    backend: str  # the app itself, for its hit counters

    def seen(self, name: str) -> dict[str, int]:
        with httpx.Client(trust_env=False, timeout=10) as http:
            counts: dict[str, int] = http.get(f"{self.backend}/seen/{name}").json()
            return counts


@pytest.fixture(
    scope="module",
    params=[
        (cache, layer)
        for cache in CACHES
        for layer in ("crossorigin", "crossorigin-public", "starlette", "no-vary")
    ],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def stack(request: pytest.FixtureRequest, origins: Origins) -> Iterator[Stack]:
    cache, layer = request.param
    binary, command = CACHES[cache]
    require(os.access(binary, os.X_OK), f"{binary} not found: apt-get install varnish nginx")
    env = {"CACHE_TEST_LAYER": layer, "CACHE_TEST_ORIGINS": f"{origins.a},{origins.b}"}
    backend = Combination("cache-backend", "uvicorn", "tests.realworld.cache_backend:app")
    with running(backend, origins.a, env) as app, tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        backend_port = int(app.url.rsplit(":", 1)[1])
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                command(Path(workdir), port, backend_port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_listening(process, port, log, f"{cache} in front of {layer}")
                yield Stack(cache, layer, f"http://127.0.0.1:{port}", app.url)
            finally:
                process.terminate()
                process.wait(10)


FETCH = """async ([url, init]) => {
    try {
        const response = await fetch(url, init);
        return {blocked: false, status: response.status, body: await response.text()};
    } catch (error) {
        return {blocked: true, error: String(error)};
    }
}"""


def visit(chromium: Browser, origin: str, url: str, init: dict[str, Any] | None = None) -> bool:
    """Fetch ``url`` from a page on ``origin``, in a context of its own; True if readable."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origin}/")
        result: dict[str, Any] = page.evaluate(FETCH, [url, init or {}])
        return not result["blocked"]
    finally:
        context.close()


def fresh_name() -> str:
    return f"r{next(_names)}"


def test_a_cached_grant_never_reaches_another_origin(
    stack: Stack, chromium: Browser, origins: Origins
) -> None:
    name = fresh_name()
    url = f"{stack.url}/data/{name}"
    assert visit(chromium, origins.a, url)
    second = visit(chromium, origins.b, url)
    refused = visit(chromium, origins.refused, url)
    if stack.layer == "no-vary":
        # B is handed A's cached grant: blocked, though B is allowed.
        assert not second
        assert stack.seen(name)["hits"] == 1
    else:
        assert second
    assert refused is (stack.layer == "crossorigin-public")


def test_a_refused_or_plain_cached_copy_never_blocks_an_allowed_origin(
    stack: Stack, chromium: Browser, origins: Origins
) -> None:
    after_refused = fresh_name()
    assert visit(chromium, origins.refused, f"{stack.url}/data/{after_refused}") is (
        stack.layer == "crossorigin-public"
    )
    allowed = visit(chromium, origins.a, f"{stack.url}/data/{after_refused}")

    after_plain = fresh_name()
    with httpx.Client(trust_env=False, timeout=10) as http:  # a plain load, no Origin
        assert http.get(f"{stack.url}/data/{after_plain}").status_code == 200
    allowed_after_plain = visit(chromium, origins.a, f"{stack.url}/data/{after_plain}")

    if stack.layer == "no-vary":
        # Without Vary: Origin the cache stored the refused and the plain copies for every
        # origin; A then gets them without its grant.
        assert not allowed
        assert not allowed_after_plain
    else:
        assert allowed
        assert allowed_after_plain


def test_revalidation_keeps_the_grant(stack: Stack, chromium: Browser, origins: Origins) -> None:
    name = fresh_name()
    url = f"{stack.url}/data/{name}"
    with httpx.Client(trust_env=False, timeout=10) as http:
        first = http.get(url, headers={"Origin": origins.a})
        revalidated = http.get(
            url, headers={"Origin": origins.a, "If-None-Match": first.headers["etag"]}
        )
    assert revalidated.status_code == 304
    expected = "*" if stack.layer == "crossorigin-public" else origins.a
    assert revalidated.headers["access-control-allow-origin"] == expected
    # In the browser: cached, then revalidated with a conditional request, still readable.
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origins.a}/")
        for init in ({}, {"cache": "no-cache"}):
            result = page.evaluate(FETCH, [url, init])
            assert result["blocked"] is False, result
            assert result["status"] == 200
    finally:
        context.close()


# How many times the app is asked for one URL that A, then B, fetch through the cache: a '*'
# policy is one cached object; an allow-list one per origin (Vary: Origin), unless Vary is
# missing, when B is handed A's copy (and blocked, see the first test).
BACKEND_HITS_FOR_A_THEN_B = {
    "crossorigin": 2,
    "crossorigin-public": 1,
    "starlette": 2,
    "no-vary": 1,
}


def test_a_public_policy_stays_one_cached_object(
    stack: Stack, chromium: Browser, origins: Origins
) -> None:
    name = fresh_name()
    url = f"{stack.url}/data/{name}"
    assert visit(chromium, origins.a, url)
    assert visit(chromium, origins.b, url) is (stack.layer != "no-vary")
    assert stack.seen(name)["hits"] == BACKEND_HITS_FOR_A_THEN_B[stack.layer]
