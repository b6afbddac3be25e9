"""crossorigin.flask through Flask's test client, and once under a real WSGI server."""

from __future__ import annotations

import datetime
import http.client
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, abort
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from crossorigin import ConfigError, CORSPolicy
from crossorigin.flask import CORS, cross_origin, policy_from_flask_cors

APP_ORIGIN = "https://app.example"
EVIL = "https://evil.example"


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)

    @app.get("/api/items")
    def items() -> dict[str, int]:
        return {"items": 1}

    @app.post("/api/only-post")
    def only_post() -> str:
        return "posted"

    @app.get("/api/missing")
    def missing() -> str:
        abort(404)

    @app.get("/api/teapot")
    def teapot() -> str:
        abort(418)

    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    @app.get("/api/vary")
    def vary() -> Response:
        response = Response("x")
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Access-Control-Allow-Origin"] = "*"  # the policy owns this
        return response

    @app.get("/public/doc")
    def public_doc() -> str:
        return "doc"

    @app.get("/other")
    def other() -> str:
        return "other"

    @app.errorhandler(418)
    def handle_teapot(error: Exception) -> tuple[str, int]:
        return "short and stout", 418

    return app


def get(app: Flask, path: str, origin: str | None = APP_ORIGIN, **headers: str) -> TestResponse:
    if origin is not None:
        headers["Origin"] = origin
    return app.test_client().get(path, headers=headers)


def preflight(app: Flask, path: str, method: str = "POST", **headers: str) -> TestResponse:
    return app.test_client().options(
        path, headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": method, **headers}
    )


def test_app_wide_policy() -> None:
    app = make_app()
    CORS(app, origins=[APP_ORIGIN], supports_credentials=True, allow_headers=["Content-Type"])
    allowed = get(app, "/api/items")
    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed.headers["Vary"] == "Origin"
    refused = get(app, "/api/items", EVIL)
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.headers["Vary"] == "Origin"
    assert get(app, "/api/items", None).headers["Vary"] == "Origin"
    merged = get(app, "/api/vary")
    assert merged.headers.getlist("Access-Control-Allow-Origin") == [APP_ORIGIN]
    assert merged.headers["Vary"] == "Accept-Encoding, Origin"


def test_preflight_for_a_route_that_only_registers_post() -> None:
    app = make_app()
    CORS(app, origins=APP_ORIGIN, max_age=datetime.timedelta(minutes=10))
    response = preflight(app, "/api/only-post", "PUT", **{"Access-Control-Request-Headers": "x-a"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    # Flask-CORS's default method list and header echo carry over.
    assert response.headers["Access-Control-Allow-Methods"] == (
        "GET, HEAD, POST, OPTIONS, PUT, PATCH, DELETE"
    )
    assert response.headers["Access-Control-Allow-Headers"] == "x-a"  # echoed, like Flask-CORS
    assert response.headers["Access-Control-Max-Age"] == "600"
    refused = app.test_client().options(
        "/api/only-post", headers={"Origin": EVIL, "Access-Control-Request-Method": "PUT"}
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    # A preflight to a URL no view serves is answered too (the app-wide policy covers it).
    assert preflight(app, "/nowhere").status_code == 204


def test_init_app_and_config_keys() -> None:
    app = make_app(CORS_ORIGINS=[APP_ORIGIN], CORS_EXPOSE_HEADERS=["X-Total"])
    CORS().init_app(app)
    response = get(app, "/api/items")
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "X-Total"


def test_resources_are_rules_in_declared_order(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="crossorigin")
    app = make_app()
    CORS(
        app,
        resources={
            "/public/*": {"origins": "*"},
            "/api/*": {
                "origins": [APP_ORIGIN],
                "supports_credentials": True,
                "allow_headers": "Content-Type",
            },
        },
    )
    assert get(app, "/public/doc").headers["Access-Control-Allow-Origin"] == "*"
    api = get(app, "/api/items")
    assert api.headers["Access-Control-Allow-Credentials"] == "true"
    other = get(app, "/other")
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Vary" not in other.headers
    # Flask-CORS 2024 advisories, through Flask: case, '+', and dot segments.
    assert "Vary" not in get(app, "/API/items").headers
    assert "Vary" not in get(app, "/api+items").headers
    # No route serves a path with a '..' segment: its 404 gets no rule's grant.
    escaped = get(app, "/public/../api/items")
    assert escaped.status_code == 404
    assert "Access-Control-Allow-Origin" not in escaped.headers
    # Said in the same words as the ASGI and WSGI middleware (response.log_non_canonical).
    assert "not in canonical form" in caplog.text


def test_resources_as_list_and_regex_origins() -> None:
    app = make_app()
    CORS(app, resources=["/api/*"], origins=[re.compile(r"https://(app|admin)\.example")])
    star = make_app()
    CORS(star, resources={"*": {"origins": "*"}})
    assert get(star, "/other").headers["Access-Control-Allow-Origin"] == "*"
    assert get(app, "/api/items").headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Vary" not in get(app, "/public/doc").headers
    assert (
        "Access-Control-Allow-Origin" not in get(app, "/api/items", "https://a.example.org").headers
    )


def test_blueprint_policies_nested() -> None:
    app = Flask(__name__)
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    @parent.get("/x")
    def parent_view() -> str:
        return "p"

    @child.get("/y")
    def child_view() -> str:
        abort(404)

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    CORS(parent, origins=[APP_ORIGIN])
    CORS(child, origins="*")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert get(app, "/p/x").headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    nested = get(app, "/p/c/y")
    assert nested.status_code == 404
    assert nested.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in get(app, "/plain").headers
    assert preflight(app, "/p/x").status_code == 204


def decorated_app(with_app_policy: bool) -> Flask:
    app = make_app()

    @app.route("/view", methods=["POST"])
    @cross_origin(origins=["https://view.example"], methods=["POST"])
    def view() -> str:
        return "view"

    @app.get("/async-view")
    @cross_origin(origins="*")
    async def async_view() -> str:
        return "async"

    @app.get("/view-vary")
    @cross_origin(origins=["https://view.example"])
    def view_vary() -> Response:
        response = Response("x")
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Access-Control-Allow-Origin"] = "*"  # the policy owns this
        return response

    if with_app_policy:
        CORS(app, origins=[APP_ORIGIN])
    return app


def test_cross_origin_decorator_alone() -> None:
    app = decorated_app(with_app_policy=False)
    client = app.test_client()
    posted = client.post("/view", headers={"Origin": "https://view.example"})
    assert posted.headers["Access-Control-Allow-Origin"] == "https://view.example"
    answered = client.options(
        "/view",
        headers={"Origin": "https://view.example", "Access-Control-Request-Method": "POST"},
    )
    assert answered.status_code == 204
    assert answered.headers["Access-Control-Allow-Methods"] == "POST"
    plain_options = client.options("/view", headers={"Origin": "https://view.example"})
    assert plain_options.status_code == 200
    assert "POST" in plain_options.headers["Allow"]
    assert get(app, "/async-view").headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in get(app, "/api/items").headers  # no app-wide policy
    merged = get(app, "/view-vary", "https://view.example")
    assert merged.headers.getlist("Access-Control-Allow-Origin") == ["https://view.example"]
    assert merged.headers["Vary"] == "Accept-Encoding, Origin"
    refused = get(app, "/view-vary", EVIL)
    assert refused.headers.getlist("Access-Control-Allow-Origin") == []


def test_cross_origin_decorator_wins_over_the_app_policy() -> None:
    app = decorated_app(with_app_policy=True)
    client = app.test_client()
    refused = client.post("/view", headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in refused.headers
    granted = client.post("/view", headers={"Origin": "https://view.example"})
    assert granted.headers["Access-Control-Allow-Origin"] == "https://view.example"
    assert get(app, "/api/items").headers["Access-Control-Allow-Origin"] == APP_ORIGIN


@pytest.mark.parametrize("debug", [False, True])
def test_error_responses_carry_the_grant(debug: bool) -> None:
    app = make_app()
    app.debug = debug
    CORS(app, origins=[APP_ORIGIN])
    for path, status in (
        ("/api/missing", 404),
        ("/nowhere", 404),
        ("/api/teapot", 418),
        ("/api/boom", 500),
    ):
        response = get(app, path)
        assert response.status_code == status, path
        assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN, path
        assert response.headers["Vary"] == "Origin", path
    if debug:
        # Without Origin the exception still reaches the debugger (here: the test client).
        with pytest.raises(RuntimeError, match="boom"):
            get(app, "/api/boom", None)
    else:
        assert get(app, "/api/boom", None).status_code == 500


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"supports_credentials": True}, "origins"),
        ({"origins": "*", "supports_credentials": True, "allow_headers": "X"}, "origins"),
        ({"origins": "https://app.example/"}, "origins"),
        ({"origins": "*", "methods": ["G T"]}, "methods"),
        ({"origins": "*", "max_age": -1}, "max_age"),
        ({"origins": "*", "allowed_headers": "X"}, "allowed_headers"),
    ],
)
def test_unsafe_or_unsupported_options_are_refused(options: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_flask_cors(options)
    assert named in [problem.option for problem in info.value.problems]


def test_configuration_errors_surface_at_setup() -> None:
    with pytest.raises(ConfigError, match=r"resources\['/api/\*'\]\.origins"):
        CORS(make_app(), resources={"/api/*": {"origins": "https://a.example/"}})
    with pytest.raises(ConfigError, match="regular expression"):
        CORS(make_app(), origins="*", resources={r"/api/(unclosed": {}})
    with pytest.raises(ConfigError, match="resources"):
        cross_origin(origins="*", resources=["/a/*"])
    with pytest.raises(ConfigError, match="both"):
        CORS(make_app(), policy=CORSPolicy(allow_origins="*"), origins="*")
    with pytest.raises(ConfigError, match="not a CORSPolicy"):
        CORS(make_app(), policy="nope")


def test_ready_policy_and_send_wildcard() -> None:
    app = make_app()
    CORS(app, policy=CORSPolicy(allow_origins="*"))
    assert get(app, "/api/items").headers["Access-Control-Allow-Origin"] == "*"
    # send_wildcard only chose '*' versus an echo for origins='*': browsers treat both alike.
    assert policy_from_flask_cors({"origins": "*", "send_wildcard": False}).allow_origins == ("*",)


@pytest.fixture
def served_app() -> Iterator[str]:
    app = make_app()
    CORS(app, origins=[APP_ORIGIN])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.server
def test_under_a_real_wsgi_server(served_app: str) -> None:
    def request(method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(served_app, timeout=5)
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    ok = request("GET", "/api/items", {"Origin": APP_ORIGIN})
    assert ok.status == 200
    assert ok.getheader("Access-Control-Allow-Origin") == APP_ORIGIN
    failed = request("GET", "/api/boom", {"Origin": APP_ORIGIN})
    assert failed.status == 500
    assert failed.getheader("Access-Control-Allow-Origin") == APP_ORIGIN
    answered = request(
        "OPTIONS",
        "/api/only-post",
        {"Origin": APP_ORIGIN, "Access-Control-Request-Method": "DELETE"},
    )
    assert answered.status == 204
    assert answered.getheader("Access-Control-Allow-Origin") == APP_ORIGIN


def _grant(response: TestResponse, preflight: bool) -> dict[str, object]:
    """What a browser acts on, normalised: status class and the grant headers (a
    preflight's Access-Control-Expose-Headers means nothing, Flask-CORS sends it anyway)."""

    def tokens(name: str) -> frozenset[str]:
        return frozenset(
            t.strip().lower() for t in response.headers.get(name, "").split(",") if t.strip()
        )

    return {
        "ok": 200 <= response.status_code < 300,
        "origin": response.headers.get("Access-Control-Allow-Origin"),
        "credentials": response.headers.get("Access-Control-Allow-Credentials"),
        "methods": tokens("Access-Control-Allow-Methods"),
        "headers": tokens("Access-Control-Allow-Headers"),
        "expose": frozenset() if preflight else tokens("Access-Control-Expose-Headers"),
        "max_age": response.headers.get("Access-Control-Max-Age"),
    }


def test_same_grants_as_flask_cors_for_a_safe_configuration() -> None:
    import flask_cors

    options: dict[str, Any] = {
        "origins": [APP_ORIGIN],
        "supports_credentials": True,
        "allow_headers": ["Content-Type", "X-Request-Id"],
        "expose_headers": ["X-Total"],
        "max_age": 600,
    }
    ours, theirs = make_app(), make_app()
    CORS(ours, **options)
    flask_cors.CORS(theirs, **options)
    requests = [
        ("GET", "/api/items", {"Origin": APP_ORIGIN}),
        ("GET", "/api/items", {"Origin": EVIL}),
        (
            "OPTIONS",
            "/api/only-post",
            {
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "content-type,x-request-id",
            },
        ),
    ]
    for method, path, headers in requests:
        preflight = method == "OPTIONS"
        mine = _grant(ours.test_client().open(path, method=method, headers=headers), preflight)
        incumbent = _grant(
            theirs.test_client().open(path, method=method, headers=headers), preflight
        )
        assert mine == incumbent, (method, path, headers)
    # A deliberate difference: with a single allowed origin Flask-CORS omits Vary: Origin,
    # though refused origins get a different answer; a shared cache then mixes them up.
    allowed = ours.test_client().get("/api/items", headers={"Origin": APP_ORIGIN})
    assert allowed.headers["Vary"] == "Origin"
    assert (
        "Vary" not in theirs.test_client().get("/api/items", headers={"Origin": APP_ORIGIN}).headers
    )


def test_an_app_without_cors_runs_no_crossorigin_code() -> None:
    # CORS() on one app once charged every Flask app in the process (a receiver connected
    # to request_finished for any sender): a bare app must not run any of our code.
    import sys

    import crossorigin.flask

    CORS(make_app(), origins=[APP_ORIGIN])
    decorated_app(with_app_policy=False)
    bare = make_app()
    ours = crossorigin.flask.__file__
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename == ours:
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        response = get(bare, "/api/items")
    finally:
        sys.setprofile(None)
    assert response.status_code == 200
    assert "Vary" not in response.headers
    assert calls == []


def test_the_policy_has_the_last_word_and_vary_merges_with_later_hooks() -> None:
    app = make_app(SECRET_KEY="test")

    @app.after_request
    def before_cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"  # registered before CORS()
        return response

    CORS(app, origins=[APP_ORIGIN])

    @app.after_request
    def after_cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Credentials"] = "true"  # registered after
        return response

    @app.get("/session")
    def uses_session() -> str:
        from flask import session

        session["seen"] = True  # Flask adds Vary: Cookie after every after_request hook
        return "s"

    response = get(app, "/api/items")
    assert response.headers.getlist("Access-Control-Allow-Origin") == [APP_ORIGIN]
    assert "Access-Control-Allow-Credentials" not in response.headers
    session = get(app, "/session")
    assert session.headers.getlist("Access-Control-Allow-Origin") == [APP_ORIGIN]
    assert {t.strip() for t in session.headers["Vary"].split(",")} == {"Origin", "Cookie"}
    assert get(app, "/session", EVIL).headers.getlist("Access-Control-Allow-Origin") == []


def test_views_and_blueprints_added_after_cors_app() -> None:
    # Who decides is worked out on the first request, so what is registered after
    # CORS(app) counts: here a decorated view and a blueprint with its own policy.
    app = make_app()
    CORS(app, origins=[APP_ORIGIN])

    @app.post("/late")
    @cross_origin(origins=["https://view.example"], methods=["POST"])
    def late() -> str:
        return "late"

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/cart")
    def cart() -> str:
        return "cart"

    CORS(shop, origins="*")
    app.register_blueprint(shop)
    client = app.test_client()
    assert (
        "Access-Control-Allow-Origin"
        not in client.post("/late", headers={"Origin": APP_ORIGIN}).headers
    )
    view = client.post("/late", headers={"Origin": "https://view.example"})
    assert view.headers["Access-Control-Allow-Origin"] == "https://view.example"
    answered = client.options(
        "/late", headers={"Origin": "https://view.example", "Access-Control-Request-Method": "POST"}
    )
    assert answered.status_code == 204
    assert answered.headers["Access-Control-Allow-Methods"] == "POST"
    assert get(app, "/shop/cart", EVIL).headers["Access-Control-Allow-Origin"] == "*"
    assert get(app, "/api/items").headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert preflight(app, "/api/only-post").status_code == 204


def test_an_app_wide_policy_alone_needs_no_flask_hook() -> None:
    app = make_app()
    CORS(app, origins=[APP_ORIGIN])
    assert get(app, "/api/items").headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert app.before_request_funcs.get(None, []) == []
    assert preflight(app, "/api/only-post").status_code == 204
    assert get(app, "/api/boom").headers["Access-Control-Allow-Origin"] == APP_ORIGIN
