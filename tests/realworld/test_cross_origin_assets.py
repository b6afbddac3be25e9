"""Fonts, images, module scripts and media loaded from another origin, in headless Chromium.

The files are served by Starlette's ``StaticFiles`` behind the ASGI middleware, and by
WhiteNoise under Flask and under Django with crossorigin outside it. A page on the granted
origin loads each one; a page on another origin cannot: a web font fails, an
``<img crossorigin>`` errors (and without the attribute it loads but taints the canvas), a
module script errors, and a ``<video crossorigin>`` fails. Media arrive as 206 partial
responses to Range requests, which carry the grant like any other. Finally, WhiteNoise
installed outside ``CORS(app)`` answers alone, and its own ``*`` then lets every origin in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from .asset_files import FONT, IMAGE, MEDIA, MODULE, PIXEL, write_assets
from .conftest import Combination, PageOrigins, RunningServer, running

pytestmark = [pytest.mark.server, pytest.mark.browser]


@dataclass(frozen=True)
class Setup:
    name: str
    combination: Combination
    env: dict[str, str]
    # WhiteNoise outside the policy: its "*" answers every origin.
    everyone_allowed: bool = False


SETUPS = [
    Setup(
        "starlette-staticfiles",
        Combination("starlette", "uvicorn", "tests.realworld.apps.starlette_static:app"),
        {},
    ),
    Setup(
        "flask-whitenoise",
        Combination("flask", "waitress", "tests.realworld.apps.flask_whitenoise:app"),
        {},
    ),
    Setup(
        "django-whitenoise",
        Combination("django", "gunicorn", "tests.realworld.apps.django_whitenoise:app"),
        {},
    ),
    Setup(
        "flask-whitenoise-outside",
        Combination("flask", "waitress", "tests.realworld.apps.flask_whitenoise:app"),
        {"ASSETS_ORDER": "whitenoise-outside"},
        everyone_allowed=True,
    ),
]


@dataclass(frozen=True)
class Served:
    setup: Setup
    server: RunningServer

    @property
    def static(self) -> str:
        return f"{self.server.url}/static"


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_assets(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module", params=SETUPS, ids=lambda s: s.name)
def served(
    request: pytest.FixtureRequest, assets: Path, page_origins: PageOrigins
) -> Iterator[Served]:
    setup: Setup = request.param
    env = {"ASSETS_DIR": str(assets), **setup.env}
    with running(setup.combination, page_origins.allowed, env) as server:
        yield Served(setup, server)


def open_page(context: BrowserContext, origin: str) -> Page:
    page = context.new_page()
    page.goto(f"{origin}/")
    return page


FONT_LOADS = """async (url) => {
    const style = document.createElement("style");
    style.textContent = `@font-face { font-family: probe; src: url("${url}"); }`;
    document.head.appendChild(style);
    try {
        await document.fonts.load("16px probe");
    } catch (error) {
        return "error";
    }
    const face = [...document.fonts].find((f) => f.family === "probe");
    return face ? face.status : "missing";
}"""

IMAGE_PIXEL = """async ([url, withCors]) => new Promise((resolve) => {
    const image = new Image();
    if (withCors) image.crossOrigin = "anonymous";
    image.onload = () => {
        const canvas = document.createElement("canvas");
        canvas.width = 2;
        canvas.height = 2;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        try {
            resolve(Array.from(context.getImageData(0, 0, 1, 1).data));
        } catch (error) {
            resolve(`tainted: ${error.name}`);
        }
    };
    image.onerror = () => resolve("error");
    image.src = url;
})"""

MODULE_RUNS = """async (url) => new Promise((resolve) => {
    const script = document.createElement("script");
    script.type = "module";
    script.onload = () => resolve(globalThis.moduleAnswer ?? "not run");
    script.onerror = () => resolve("error");
    script.src = url;
    document.head.appendChild(script);
})"""

MEDIA_LOADS = """async (url) => new Promise((resolve) => {
    const video = document.createElement("video");
    video.crossOrigin = "anonymous";
    video.preload = "auto";
    video.onloadedmetadata = () => resolve(`loaded ${Math.round(video.duration)} s`);
    video.onerror = () => resolve(`error ${video.error ? video.error.code : "?"}`);
    video.src = url;
    document.body.appendChild(video);
})"""


def test_web_font(served: Served, context: BrowserContext, page_origins: PageOrigins) -> None:
    url = f"{served.static}/{FONT}"
    assert open_page(context, page_origins.allowed).evaluate(FONT_LOADS, url) == "loaded"
    refused = open_page(context, page_origins.refused).evaluate(FONT_LOADS, url)
    assert refused == ("loaded" if served.setup.everyone_allowed else "error")


def test_image_in_a_canvas(
    served: Served, context: BrowserContext, page_origins: PageOrigins
) -> None:
    url = f"{served.static}/{IMAGE}"
    allowed = open_page(context, page_origins.allowed)
    assert allowed.evaluate(IMAGE_PIXEL, [url, True]) == list(PIXEL)
    refused = open_page(context, page_origins.refused)
    if served.setup.everyone_allowed:
        assert refused.evaluate(IMAGE_PIXEL, [url, True]) == list(PIXEL)
    else:
        # With crossorigin the load itself fails; without, it loads but taints the canvas.
        assert refused.evaluate(IMAGE_PIXEL, [url, True]) == "error"
        assert refused.evaluate(IMAGE_PIXEL, [url, False]) == "tainted: SecurityError"


def test_module_script(served: Served, context: BrowserContext, page_origins: PageOrigins) -> None:
    url = f"{served.static}/{MODULE}"
    assert open_page(context, page_origins.allowed).evaluate(MODULE_RUNS, url) == 42
    refused = open_page(context, page_origins.refused).evaluate(MODULE_RUNS, url)
    assert refused == (42 if served.setup.everyone_allowed else "error")


def test_media_with_range_requests(
    served: Served, context: BrowserContext, page_origins: PageOrigins
) -> None:
    url = f"{served.static}/{MEDIA}"
    assert open_page(context, page_origins.allowed).evaluate(MEDIA_LOADS, url) == "loaded 3 s"
    refused = open_page(context, page_origins.refused).evaluate(MEDIA_LOADS, url)
    if served.setup.everyone_allowed:
        assert refused == "loaded 3 s"
    else:
        assert refused.startswith("error")
    # What the media element asked for: partial content, each part with the grant.
    with httpx.Client(trust_env=False, timeout=10) as http:
        part = http.get(url, headers={"Origin": page_origins.allowed, "Range": "bytes=0-99"})
        refused_part = http.get(
            url, headers={"Origin": page_origins.refused, "Range": "bytes=100-199"}
        )
    assert part.status_code == 206
    assert len(part.content) == 100
    assert part.headers["access-control-allow-origin"] in (page_origins.allowed, "*")
    assert refused_part.status_code == 206
    granted_refused: Any = refused_part.headers.get("access-control-allow-origin")
    assert granted_refused == ("*" if served.setup.everyone_allowed else None)


def test_whitenoise_star_is_replaced_by_the_policy(
    served: Served, page_origins: PageOrigins
) -> None:
    with httpx.Client(trust_env=False, timeout=10) as http:
        response = http.get(f"{served.static}/{IMAGE}", headers={"Origin": page_origins.allowed})
    expected = "*" if served.setup.everyone_allowed else page_origins.allowed
    assert response.headers["access-control-allow-origin"] == expected
    assert os.path.basename(IMAGE) in response.url.path
