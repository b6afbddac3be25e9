"""crossorigin.flask against Flask-CORS 6: the same app, configured the same way, must get
the same verdict from a browser for every fetch, except the documented differences
(docs/migration.md), which are pinned here one by one.

A "verdict" is what the Fetch standard's CORS checks conclude from the responses (is the
preflight passed, may the script read the response, which headers it sees), computed from
real Flask responses of both extensions.
"""

from __future__ import annotations

import ast
import datetime
import http.client
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import flask_cors
import pytest
from flask import Flask, Response, abort, request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

import crossorigin.flask as ours
from crossorigin import ConfigError, CORSPolicy
from crossorigin.flask import CORS, cross_origin
from tests.test_servers import serve_waitress

APP = "https://app.example"
OTHER = "https://b.example"
EVIL = "https://evil.example"
SUB = "https://a.example.com"
STRICT = "https://admin.example"
PARTNER = "https://partner.example"
ORIGINS = (APP, OTHER, EVIL, SUB, STRICT, PARTNER)

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
SAFELISTED_RESPONSE = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


def make_app(extension: Any, **options: Any) -> Flask:
    """The same routes under either extension (``crossorigin.flask`` or ``flask_cors``)."""
    app = Flask(__name__)

    @app.route("/api/items", methods=["GET", "PUT", "DELETE", "PATCH"])
    def items() -> Response:
        response = Response("items")
        response.headers["X-Total"] = "3"
        response.headers["X-Secret"] = "s"
        return response

    @app.get("/api/admin/users")
    def admin_users() -> str:
        return "admin"

    @app.get("/other")
    def other() -> str:
        return "other"

    @app.get("/api/missing")
    def missing() -> str:
        abort(404)

    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    extension.CORS(app, **options)
    return app


@dataclass(frozen=True)
class Fetch:
    """A script's ``fetch()``: what the browser sends follows from it."""

    method: str
    path: str
    origin: str
    headers: tuple[str, ...] = ()  # names of non-safelisted request headers
    credentials: bool = False


def _tokens(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def _cors_check(response: TestResponse, fetch: Fetch) -> bool:
    values = response.headers.getlist("Access-Control-Allow-Origin")
    if len(values) != 1:
        return False
    if values[0] == "*":
        return not fetch.credentials
    if values[0] != fetch.origin:
        return False
    return not fetch.credentials or (
        response.headers.get("Access-Control-Allow-Credentials") == "true"
    )


def verdict(app: Flask, fetch: Fetch) -> tuple[bool, frozenset[str], int]:
    """(may the script read the response, the header names it sees, the status it sees)."""
    client = app.test_client()
    if fetch.method not in SAFELISTED_METHODS or fetch.headers:
        asked = {"Origin": fetch.origin, "Access-Control-Request-Method": fetch.method}
        if fetch.headers:
            asked["Access-Control-Request-Headers"] = ",".join(sorted(fetch.headers))
        pre = client.options(fetch.path, headers=asked)
        if not (200 <= pre.status_code < 300 and _cors_check(pre, fetch)):
            return False, frozenset(), 0
        methods = _tokens(pre.headers.get("Access-Control-Allow-Methods"))
        if fetch.method not in SAFELISTED_METHODS and not (
            fetch.method in methods or ("*" in methods and not fetch.credentials)
        ):
            return False, frozenset(), 0
        allowed = {t.lower() for t in _tokens(pre.headers.get("Access-Control-Allow-Headers"))}
        for name in fetch.headers:
            wildcard = "*" in allowed and not fetch.credentials and name != "authorization"
            if name not in allowed and not wildcard:
                return False, frozenset(), 0
    sent = {"Origin": fetch.origin, **dict.fromkeys(fetch.headers, "v")}
    response = client.open(fetch.path, method=fetch.method, headers=sent)
    if not _cors_check(response, fetch):
        return False, frozenset(), 0
    exposed = {t.lower() for t in _tokens(response.headers.get("Access-Control-Expose-Headers"))}
    names = {name.lower() for name in response.headers.keys()}  # noqa: SIM118
    if "*" in exposed and not fetch.credentials:
        seen = names - {"set-cookie"}
    else:
        seen = names & (SAFELISTED_RESPONSE | exposed)
    # Content-Length and the body's type are the framework's business, not CORS.
    return True, frozenset(seen - {"content-length"}), response.status_code


FETCHES = [
    Fetch(method, path, origin, headers, credentials)
    for method, path, headers in (
        ("GET", "/api/items", ()),
        ("PUT", "/api/items", ()),
        ("DELETE", "/api/items", ("x-company-id",)),
        ("GET", "/api/items", ("authorization",)),
        ("PATCH", "/api/items", ("x-other",)),
        ("GET", "/api/admin/users", ()),
        ("GET", "/other", ()),
        ("GET", "/api/missing", ()),
        ("GET", "/api/boom", ()),
    )
    for origin in ORIGINS
    for credentials in (False, True)
]

SAME_AS_FLASK_CORS: list[dict[str, Any]] = [
    {},
    {"origins": APP},
    {"origins": [APP, OTHER], "supports_credentials": True},
    {"origins": "*", "send_wildcard": True},
    {"origins": "*", "supports_credentials": False, "allow_headers": "*"},
    {
        "origins": [APP],
        "allow_headers": ["Content-Type", r"X-Company-.*"],
        "methods": ["get", "PUT"],
        "expose_headers": "X-Total",
        "max_age": datetime.timedelta(minutes=10),
    },
    {"origins": [APP, OTHER], "supports_credentials": True, "expose_headers": ["X-Total"]},
    {
        "origins": [APP],
        "vary_header": False,
        "always_send": False,
        "automatic_options": False,
        "intercept_exceptions": False,
    },
    {"resources": {r"/api/*": {"origins": "*"}}},
    {"resources": r"/api/*", "origins": [APP]},
    {"resources": [r"/api/*", "/other"], "origins": [OTHER], "supports_credentials": True},
    {
        # Flask-CORS sorts a dict's rules most specific first; the order written is moot.
        "resources": {
            "/*": {"origins": [PARTNER]},
            "/api/admin/*": {"origins": [STRICT], "supports_credentials": True},
        }
    },
    {"origins": [re.compile(r"https://[a-z]+\.example\.com")]},
    {
        # Regex keys match the start of the path, as in Flask-CORS (re.match).
        "resources": {
            r"/api/i.*": {"origins": [APP]},
            r"/ot*": {"origins": [OTHER]},
            re.compile(r"/api/adm"): {"origins": [STRICT], "supports_credentials": True},
        }
    },
    {"origins": [r"https://[a-z]+\.example\.com", APP], "supports_credentials": True},
    {
        # Flask-CORS compiled regex strings case-insensitively, and sent these strings
        # as they were: comma lists of methods and exposed headers, a max_age above caps.
        "origins": [r"https://[A-Z]+\.EXAMPLE\.com", "https://APP.example"],
        "allow_headers": "X-Company-.*",
        "methods": "GET, PUT",
        "expose_headers": "X-Total, X-Secret",
        "max_age": 100000,
    },
    {"origins": [APP, "null"]},
    {"origins": ".*", "allow_headers": ".*"},
]


@pytest.mark.parametrize("options", SAME_AS_FLASK_CORS, ids=lambda o: repr(o)[:60])
def test_every_fetch_gets_flask_cors_verdict(options: dict[str, Any]) -> None:
    mine, theirs = make_app(ours, **options), make_app(flask_cors, **options)
    differences = [
        (fetch, verdict(mine, fetch), verdict(theirs, fetch))
        for fetch in FETCHES
        if verdict(mine, fetch) != verdict(theirs, fetch)
    ]
    assert differences == []


# --- the Flask-CORS behaviours the issue names, one by one -------------------------------------


def test_default_is_every_origin_without_credentials() -> None:
    app = make_app(ours)
    allowed = app.test_client().get("/api/items", headers={"Origin": EVIL})
    assert allowed.headers["Access-Control-Allow-Origin"] == "*"
    preflight = app.test_client().options(
        "/api/items",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "x-anything,authorization",
        },
    )
    assert preflight.status_code == 204
    assert set(_tokens(preflight.headers["Access-Control-Allow-Headers"])) >= {
        "x-anything",
        "authorization",
    }
    # And @cross_origin() with no options: the same default.
    view = Flask(__name__)

    @view.get("/v")
    @cross_origin()
    def v() -> str:
        return "v"

    assert (
        view.test_client()
        .get("/v", headers={"Origin": EVIL})
        .headers["Access-Control-Allow-Origin"]
        == "*"
    )


def _configure(entry: str, options: dict[str, Any]) -> None:
    if entry == "CORS":
        CORS(Flask(__name__), **options)
    else:
        cross_origin(**options)


FLASK_NAMES = ("origins", "supports_credentials", "methods", "allow_headers")
CORE_NAMES = re.compile(r"\b(allow_origins|allow_origin_regex|allow_credentials|allow_methods)\b")


@pytest.mark.parametrize(
    "options",
    [
        {"supports_credentials": True},
        {"origins": "*", "supports_credentials": True},
        {"origins": ["*", APP], "supports_credentials": True},
        {"origins": None},
        {"origins": [APP + "/"], "methods": ["G T"]},
        {"origins": ["null", APP], "supports_credentials": True},
        {"origins": [r"https://.*example\.com"], "supports_credentials": True},
        {"origins": [r"https://[a-z]+\.example\.com", r"https://.*\.(com|net)"]},
        {"origins": [APP], "allow_headers": [r"X-(unclosed"]},
    ],
)
def test_errors_speak_flask_cors_names(options: dict[str, Any]) -> None:
    for entry in ("CORS", "cross_origin"):
        with pytest.raises(ConfigError) as info:
            _configure(entry, options)
        # A ready CORSPolicy(...) named as the escape hatch speaks its own API.
        text = re.sub(r"policy=CORSPolicy\([^)]*\)", "", str(info.value))
        assert CORE_NAMES.search(text) is None, text
        assert "origins=()" not in text
        for problem in info.value.problems:
            assert problem.option in FLASK_NAMES, problem
            # The one core name allowed: the escape hatch, spelled as a ready policy.
            assert "dangerously" not in problem.fix or "policy=CORSPolicy(" in problem.fix


def test_star_with_credentials_names_the_fix_in_flask_cors_terms() -> None:
    with pytest.raises(ConfigError) as info:
        cross_origin(supports_credentials=True)
    (problem,) = info.value.problems
    assert problem.option == "origins"
    assert "supports_credentials=True" in problem.message
    assert "origins=[" in problem.fix


def test_regex_strings_are_full_match_regexes() -> None:
    app = make_app(
        ours,
        origins=[r"https://[a-z]+\.example\.com", APP],
        allow_headers=[r"X-COMPANY-.*", "Content-Type"],
    )
    client = app.test_client()
    assert (
        client.get("/api/items", headers={"Origin": SUB}).headers["Access-Control-Allow-Origin"]
        == SUB
    )
    # Flask-CORS's re.match also granted this one (a prefix match): a security hole.
    tail = client.get("/api/items", headers={"Origin": SUB + ".evil.net"})
    assert "Access-Control-Allow-Origin" not in tail.headers
    theirs = make_app(flask_cors, origins=[r"https://[a-z]+\.example\.com"])
    leaked = theirs.test_client().get("/api/items", headers={"Origin": SUB + ".evil.net"})
    assert leaked.headers["Access-Control-Allow-Origin"] == SUB + ".evil.net"

    def preflight(headers: str) -> TestResponse:
        return client.options(
            "/api/items",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": headers,
            },
        )

    # Header regexes are case-insensitive and full-match.
    assert preflight("x-company-id,content-type").status_code == 204
    assert preflight("X-Company-Region").status_code == 204
    assert preflight("x-companyx").status_code == 403
    assert preflight("x-other").status_code == 403


def test_nothing_regex_looking_is_taken_literally() -> None:
    # An invalid regex fails at setup (Flask-CORS: ValueError), never at request time.
    with pytest.raises(ConfigError, match="origins"):
        cross_origin(origins=[r"https://(unclosed\.example\.com"])
    with pytest.raises(ConfigError, match="allow_headers"):
        cross_origin(allow_headers=[r"X-(unclosed"])
    # A regex that reaches any domain is refused (here: every origin).
    with pytest.raises(ConfigError, match="origins"):
        cross_origin(origins=[r"https://.*"], supports_credentials=True)


def test_crossorigin_pattern_forms_keep_their_meaning() -> None:
    # Read as Flask-CORS regexes these matched nothing their author meant.
    app = Flask(__name__)

    @app.get("/sub")
    @cross_origin(origins=["https://*.example.com", "http://localhost:*"])
    def sub() -> str:
        return "s"

    client = app.test_client()
    for origin in (SUB, "http://localhost:5173"):
        assert (
            client.get("/sub", headers={"Origin": origin}).headers["Access-Control-Allow-Origin"]
            == origin
        )
    for origin in ("https://xexample.com", "http://localhost.evil.net"):
        assert (
            "Access-Control-Allow-Origin"
            not in client.get("/sub", headers={"Origin": origin}).headers
        )


def _options_app(**options: Any) -> Flask:
    app = Flask(__name__)

    @app.route("/own-options", methods=["GET", "OPTIONS"])
    def own_options() -> Response:
        if request.method == "OPTIONS":
            return Response("from the view", status=200, headers={"X-Answered-By": "view"})
        return Response("get")

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    CORS(app, **options)
    return app


def _preflight(app: Flask, path: str, origin: str = APP) -> TestResponse:
    return app.test_client().options(
        path, headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}
    )


def test_automatic_options_false_passes_preflights_to_the_app() -> None:
    app = _options_app(origins=[APP], automatic_options=False)
    answered = _preflight(app, "/own-options")
    assert answered.headers["X-Answered-By"] == "view"
    assert answered.get_data() == b"from the view"
    assert answered.headers["Access-Control-Allow-Origin"] == APP
    assert "PUT" in answered.headers["Access-Control-Allow-Methods"]
    # Flask's own automatic OPTIONS answer gets the grant too.
    automatic = _preflight(app, "/plain")
    assert automatic.status_code == 200
    assert "Allow" in automatic.headers
    assert automatic.headers["Access-Control-Allow-Origin"] == APP
    # Refused: the app's answer, without a grant.
    refused = _preflight(app, "/own-options", EVIL)
    assert refused.headers["X-Answered-By"] == "view"
    assert "Access-Control-Allow-Origin" not in refused.headers
    # The same when the policy comes from a resources rule (decided after routing).
    ruled = _options_app(
        resources={"/*": {"origins": [OTHER]}, "/own-options": {"origins": [APP]}},
        automatic_options=False,
    )
    through = _preflight(ruled, "/own-options")
    assert through.headers["X-Answered-By"] == "view"
    assert through.headers["Access-Control-Allow-Origin"] == APP
    # By default the preflight never reaches the view.
    default = _preflight(_options_app(origins=[APP]), "/own-options")
    assert default.status_code == 204
    assert "X-Answered-By" not in default.headers


def test_automatic_options_false_on_the_decorator() -> None:
    app = Flask(__name__)
    seen: list[str] = []

    @app.route("/d", methods=["PUT", "OPTIONS"])
    @cross_origin(origins=[APP], automatic_options=False)
    def d() -> str:
        seen.append(request.method)
        return "view"

    answered = _preflight(app, "/d")
    assert seen == ["OPTIONS"]
    assert answered.get_data() == b"view"
    assert answered.headers["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Origin" not in _preflight(app, "/d", EVIL).headers


def test_intercept_exceptions_false_lets_the_exception_propagate_in_testing() -> None:
    for intercept, raises in ((True, False), (False, True)):
        app = _options_app(origins=[APP], intercept_exceptions=intercept)
        app.testing = True
        client = app.test_client()
        if raises:
            with pytest.raises(RuntimeError):
                client.get("/boom", headers={"Origin": APP})
        else:
            response = client.get("/boom", headers={"Origin": APP})
            assert response.status_code == 500
            assert response.headers["Access-Control-Allow-Origin"] == APP
        # In production both answer Flask's 500 with the grant, as Flask-CORS does.
        app.testing = False
        served = app.test_client().get("/boom", headers={"Origin": APP})
        assert served.status_code == 500
        assert served.headers["Access-Control-Allow-Origin"] == APP


def test_always_send_and_vary_header() -> None:
    public = _options_app()
    assert public.test_client().get("/plain").headers["Access-Control-Allow-Origin"] == "*"
    quiet = _options_app(always_send=False).test_client().get("/plain")
    assert "Access-Control-Allow-Origin" not in quiet.headers
    assert quiet.headers["Vary"] == "Origin"  # a cache must not reuse it for CORS requests
    listed = _options_app(origins=[APP, OTHER], vary_header=False).test_client()
    granted = listed.get("/plain", headers={"Origin": APP})
    assert granted.headers["Access-Control-Allow-Origin"] == APP
    assert "Vary" not in granted.headers
    assert "Vary" not in listed.get("/plain").headers
    unvaried = _preflight(_options_app(origins=[APP], vary_header=False), "/plain")
    assert "Vary" not in unvaried.headers
    assert "Origin" in _tokens(_preflight(_options_app(origins=[APP]), "/plain").headers["Vary"])


def test_send_wildcard() -> None:
    for send in (True, False):
        response = (
            _options_app(send_wildcard=send).test_client().get("/plain", headers={"Origin": APP})
        )
        # Flask-CORS echoed the origin for send_wildcard=False: the same verdict in every
        # browser for requests without credentials, the only ones '*' allows.
        assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "resources",
    [
        re.compile(r"/api/.*"),
        r"/api/*",
        [r"/api/*", re.compile(r"/other")],
        (r"/api/*",),
        {r"/api/*": {"origins": [APP]}, re.compile(r"/other"): {}},
        {r"/api/*": CORSPolicy(allow_origins=[APP])},
    ],
    ids=repr,
)
def test_resources_accepts_flask_cors_shapes(resources: object) -> None:
    api = make_app(ours, origins=[APP], resources=resources)
    assert (
        api.test_client()
        .get("/api/items", headers={"Origin": APP})
        .headers["Access-Control-Allow-Origin"]
        == APP
    )


@pytest.mark.parametrize(
    "resources", [5, 2.5, object(), b"/api/*", {"/api/*": "nope"}, {"/api/*": None}, [5]]
)
def test_other_resources_are_config_errors(resources: object) -> None:
    with pytest.raises(ConfigError) as info:
        CORS(Flask(__name__), resources=resources)
    assert all(p.option.startswith("resources") for p in info.value.problems)


def test_config_keys_and_options_like_flask_cors() -> None:
    configured = Flask(__name__)
    configured.config.update(CORS_ORIGINS=[APP], CORS_SUPPORTS_CREDENTIALS=True, CORS_MAX_AGE=None)

    @configured.get("/c")
    def c() -> str:
        return "c"

    CORS(configured)
    response = configured.test_client().get("/c", headers={"Origin": APP})
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    # A comma-separated string of methods, a string max_age, one beyond every browser's cap.
    policy = ours.policy_from_flask_cors({"methods": "get, put", "max_age": "100000"})
    assert policy.allow_methods == ("GET", "PUT")
    assert policy.max_age == 86400


# --- per-route policies come from Flask's router ----------------------------------------------


def admin_app(routes: bool = True) -> Flask:
    app = Flask(__name__)

    @app.get("/api/admin/users")
    def admin_users() -> str:
        return "admin"

    @app.get("/api/admin/<name>/detail")
    def admin_detail(name: str) -> str:
        return "admin"

    @app.get("/api/public/items")
    def public_items() -> str:
        return "public"

    @app.get("/files/<path:rest>")
    def files(rest: str) -> str:
        return "files"

    CORS(
        app,
        resources={
            "/api/admin/*": {"origins": [STRICT], "supports_credentials": True},
            "/*": {"origins": [PARTNER], "supports_credentials": True},
        },
    )
    return app


def _get_raw(app: Flask, path: str, origin: str) -> TestResponse:
    # The test client would read '//api' as a host name: set PATH_INFO as a server would.
    return app.test_client().get(
        "/", environ_overrides={"PATH_INFO": path}, headers={"Origin": origin}
    )


@pytest.mark.parametrize(
    "path", ["//api/admin/users", "///api/admin/users", "//api/admin/x/detail"]
)
def test_partner_never_reads_admin_through_a_doubled_slash(path: str) -> None:
    app = admin_app()
    partner = _get_raw(app, path, PARTNER)
    assert partner.get_data() == b"admin"  # Werkzeug does serve the admin view
    assert "Access-Control-Allow-Origin" not in partner.headers
    strict = _get_raw(app, path, STRICT)
    assert strict.headers["Access-Control-Allow-Origin"] == STRICT


def test_paths_no_router_agrees_on_get_no_grant() -> None:
    app = admin_app()
    # A catch-all route serving a '..' segment: not canonical, so no rule is trusted.
    dotted = _get_raw(app, "/files/a/../../api/admin/users", PARTNER)
    assert dotted.get_data() == b"files"
    assert "Access-Control-Allow-Origin" not in dotted.headers
    assert (
        _get_raw(app, "/files/docs/a.txt", PARTNER).headers["Access-Control-Allow-Origin"]
        == PARTNER
    )
    # Werkzeug redirects an inner '//' (308): the redirect carries no grant either.
    redirect = _get_raw(app, "/api//admin/users", PARTNER)
    assert redirect.status_code == 308
    assert "Access-Control-Allow-Origin" not in redirect.headers


@pytest.fixture
def waitress_url() -> Iterator[str]:
    for url in serve_waitress(admin_app()):
        yield url.removeprefix("http://")


@pytest.mark.server
def test_doubled_slash_through_waitress(waitress_url: str) -> None:
    def get(path: str, origin: str) -> tuple[int, str | None, bytes]:
        connection = http.client.HTTPConnection(waitress_url, timeout=5)
        connection.request("GET", path, headers={"Origin": origin})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, response.getheader("Access-Control-Allow-Origin"), body

    assert get("//api/admin/users", PARTNER) == (200, None, b"admin")
    assert get("//api/admin/users", STRICT) == (200, STRICT, b"admin")
    assert get("/api/public/items", PARTNER) == (200, PARTNER, b"public")


def test_the_reraise_log_quotes_the_path(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)

    @app.before_request
    def boom() -> None:
        raise RuntimeError("boom")

    CORS(app, origins=[APP])
    app.testing = True
    forged = "/x' [GET]\n[2026-12-06 00:00:00,000] ERROR in app: Exception on '/admin"
    with caplog.at_level(logging.ERROR):
        response = _get_raw(app, forged, APP)
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if "Exception on" in r.getMessage()]
    message = record.getMessage()
    assert "\n" not in message
    # The quoted path cannot be closed early: it ends where the method begins.
    quoted = message.removeprefix("Exception on ").removesuffix(" ['GET']")
    assert ast.literal_eval(quoted) == forged


def test_a_resource_that_matches_no_path_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Flask-CORS pins that a key like this does not stop the app (it matches nothing).
    with caplog.at_level(logging.WARNING, logger="crossorigin"):
        app = make_app(ours, resources="}")
    assert any("matches no path" in r.getMessage() for r in caplog.records)
    response = app.test_client().get("/api/items", headers={"Origin": APP})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@st.composite
def flask_cors_options(draw: st.DrawFn) -> dict[str, Any]:
    """Configurations Flask-CORS and crossorigin both accept, drawn from Flask-CORS's names."""
    options: dict[str, Any] = {}
    credentials = draw(st.booleans())
    if draw(st.booleans()) or credentials:
        options["origins"] = draw(
            st.lists(
                st.sampled_from([APP, OTHER, SUB, STRICT, r"https://[a-z]+\.example\.com"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    if credentials:
        options["supports_credentials"] = True
    if draw(st.booleans()):
        # GET stays listed: GET, HEAD and POST always pass here (a documented difference).
        options["methods"] = [
            "GET",
            *draw(st.lists(st.sampled_from(["put", "DELETE", "PATCH"]), unique=True)),
        ]
    if draw(st.booleans()):
        options["allow_headers"] = draw(
            st.lists(
                st.sampled_from(["*", "x-company-id", r"X-Company-.*", "Authorization"]),
                min_size=1,
                unique=True,
            )
        )
    if draw(st.booleans()):
        options["expose_headers"] = draw(st.sampled_from(["X-Total", ["X-Total", "X-Secret"]]))
    for switch in ("vary_header", "always_send", "automatic_options", "send_wildcard"):
        if draw(st.booleans()):
            options[switch] = draw(st.booleans())
    return options


@settings(max_examples=25, deadline=None)
@given(options=flask_cors_options())
def test_random_configurations_get_flask_cors_verdicts(options: dict[str, Any]) -> None:
    test_every_fetch_gets_flask_cors_verdict(options)


def test_safelisted_methods_always_pass_the_method_check() -> None:
    # A documented difference: Flask-CORS refused this preflight (GET not in methods).
    fetch = Fetch("GET", "/api/items", APP, ("x-custom",))
    assert verdict(make_app(ours, origins=[APP], methods=["PUT"]), fetch)[0]
    assert not verdict(make_app(flask_cors, origins=[APP], methods=["PUT"]), fetch)[0]


def test_blueprint_resources_and_decorator_passthrough_follow_the_router() -> None:
    from flask import Blueprint

    app = Flask(__name__)
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/admin/users")
    def admin_users() -> str:
        return "admin"

    @api.route("/hook", methods=["POST", "OPTIONS"])
    @cross_origin(origins=[PARTNER], automatic_options=False)
    def hook() -> Response:
        return Response("hook answered", headers={"X-Answered-By": "view"})

    CORS(api, resources={"/api/admin/*": {"origins": [STRICT]}, "/*": {"origins": [PARTNER]}})
    app.register_blueprint(api)
    CORS(app, origins=[APP])
    partner = _get_raw(app, "//api/admin/users", PARTNER)
    assert partner.get_data() == b"admin"
    assert "Access-Control-Allow-Origin" not in partner.headers
    assert _get_raw(app, "//api/admin/users", STRICT).headers["Access-Control-Allow-Origin"] == (
        STRICT
    )
    answered = app.test_client().options(
        "/api/hook", headers={"Origin": PARTNER, "Access-Control-Request-Method": "POST"}
    )
    assert answered.headers["X-Answered-By"] == "view"
    assert answered.headers["Access-Control-Allow-Origin"] == PARTNER
