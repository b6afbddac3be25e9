"""Migrating from Flask-CORS: the app from Flask-CORS's README examples, with only the
import changed, gives headless Chromium the same verdict on every fetch.

Both apps (one on ``flask_cors``, one on ``crossorigin.flask``) run at once under waitress
on 127.0.0.1; a page on each of two origins fetches every route from both, and each fetch
Flask-CORS allowed must still be allowed (with the same status), each it refused still
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import flask_cors
import pytest
from flask import Flask, jsonify, request

import crossorigin.flask
from tests.browser.harness import PageServers
from tests.browser.harness import chromium as launched_chromium
from tests.test_servers import serve_waitress

pytestmark = [pytest.mark.browser, pytest.mark.server]


View = Callable[..., Any]


def readme_app(cors: ModuleType, partner: str) -> Flask:
    """Flask-CORS's README usage, combined: resources, the decorator, credentials."""
    app = Flask(__name__)
    cross_origin: Callable[..., Callable[[View], View]] = cors.cross_origin
    cors.CORS(
        app,
        resources={
            r"/api/*": {"origins": "*"},
            r"/account/*": {"origins": [partner], "supports_credentials": True},
        },
    )

    @app.route("/")
    @cross_origin()
    def hello_world() -> str:
        return "Hello, cross-origin-world!"

    @app.route("/api/v1/users")
    def list_users() -> str:
        return "user example"

    @app.route("/api/v1/users/create", methods=["POST"])
    def create_user() -> Any:
        return jsonify(success=True, got=request.get_json(silent=True))

    @app.route("/api/exception")
    def get_exception() -> str:
        raise RuntimeError("an unexpected error")

    @app.route("/partner-only")
    @cross_origin(origins=[partner])
    def partner_only() -> str:
        return "partner"

    @app.route("/regex")
    @cross_origin(origins=[r"http://127\.0\.0\.1:[0-9]+"], allow_headers=[r"X-App-.*"])
    def regex() -> str:
        return "regex"

    @app.route("/typed", methods=["GET", "POST"])
    @cross_origin(allow_headers=["Content-Type"])
    def typed() -> str:
        return "typed"

    @app.route("/account/me")
    def me() -> Any:
        return jsonify(user="someone")

    @app.route("/internal")
    def internal() -> str:
        return "no CORS here"

    return app


# (method, path, request headers, credentials mode): every fetch a page makes.
FETCHES: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/", {}, "same-origin"),
    ("GET", "/api/v1/users", {}, "same-origin"),
    ("POST", "/api/v1/users/create", {"Content-Type": "application/json"}, "same-origin"),
    ("GET", "/api/exception", {}, "same-origin"),
    ("PUT", "/api/v1/users", {}, "same-origin"),
    ("DELETE", "/api/v1/users", {"Authorization": "Bearer t"}, "same-origin"),
    ("GET", "/api/v1/users", {}, "include"),
    ("GET", "/partner-only", {}, "same-origin"),
    ("POST", "/typed", {"Content-Type": "application/json"}, "same-origin"),
    ("GET", "/typed", {"X-Custom": "1"}, "same-origin"),
    ("GET", "/account/me", {}, "include"),
    ("GET", "/account/me", {"X-Requested-With": "fetch"}, "include"),
    ("GET", "/internal", {}, "same-origin"),
    ("GET", "/regex", {}, "same-origin"),
    ("GET", "/regex", {"X-App-Version": "2"}, "same-origin"),
    ("GET", "/regex", {"X-Other": "2"}, "same-origin"),
]

_FETCH_JS = """
async ([url, method, headers, credentials]) => {
  const init = {method, headers, credentials};
  if (method === "POST" || method === "PUT") init.body = JSON.stringify({name: "x"});
  try {
    const response = await fetch(url, init);
    await response.text();
    return "allowed " + response.status;
  } catch (error) {
    return "refused (" + error.name + ")";
  }
}
"""


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServers]:
    with PageServers() as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def test_same_verdicts_as_flask_cors_in_chromium(chromium: Any, pages: PageServers) -> None:
    partner = pages.page
    stranger = pages.localhost
    apis = {
        name: serve_waitress(readme_app(module, partner), threads=4)
        for name, module in (("flask_cors", flask_cors), ("crossorigin", crossorigin.flask))
    }
    urls = {name: next(gen) for name, gen in apis.items()}
    try:
        context = chromium.new_context()
        context.set_default_timeout(10_000)
        page = context.new_page()
        verdicts: dict[str, dict[tuple[str, str, str, str, str], str]] = {name: {} for name in urls}
        for origin in (partner, stranger):
            page.goto(origin + "/")
            for method, path, headers, credentials in FETCHES:
                for name, url in urls.items():
                    key = (origin, method, path, ",".join(headers), credentials)
                    verdicts[name][key] = page.evaluate(
                        _FETCH_JS, [url + path, method, headers, credentials]
                    )
        context.close()
    finally:
        for gen in apis.values():
            gen.close()
    differences = {
        key: (verdicts["flask_cors"][key], verdicts["crossorigin"][key])
        for key in verdicts["flask_cors"]
        if verdicts["flask_cors"][key] != verdicts["crossorigin"][key]
    }
    assert differences == {}
    outcomes = set(verdicts["flask_cors"].values())
    # The scenario means something only if it holds both kinds of fetch.
    assert any(v.startswith("allowed 2") for v in outcomes), outcomes
    assert any(v.startswith("allowed 5") for v in outcomes), outcomes
    assert any(v.startswith("refused") for v in outcomes), outcomes
