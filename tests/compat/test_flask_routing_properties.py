"""Differential property: the policy crossorigin.flask applies under ``resources`` is the
one for the route Werkzeug's own router serves the request with, whatever the raw path.

Werkzeug is asked directly (``url_map.bind(...).match``), independently of the request
object the integration reads; the strongest form of the property is checked too: a response
served by an admin view never carries the partner's grant.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from crossorigin import CORSPolicy
from crossorigin.flask import CORS
from crossorigin.routes import Routes

from .test_flask_compat import PARTNER, STRICT, _get_raw, admin_app

SEGMENTS = st.sampled_from(
    [
        "",
        ".",
        "..",
        "api",
        "admin",
        "public",
        "users",
        "items",
        "files",
        "x",
        "detail",
        "a.txt",
        "%2e%2e",
        "\\",
        "API",
        "users ",
    ]
)
PATHS = st.lists(SEGMENTS, min_size=1, max_size=7).map(lambda parts: "/" + "/".join(parts))
PREFIX = st.sampled_from(["", "/", "//"])

APP = admin_app()
ADMIN_VIEWS = {"admin_users", "admin_detail"}
_STRICT, _PARTNER = CORSPolicy(allow_origins=[STRICT]), CORSPolicy(allow_origins=[PARTNER])
RULES = Routes([("/api/admin/*", _STRICT), ("/*", _PARTNER)])


def _expected(path: str) -> str | None:
    """Which rule's origin may read the answer, from Werkzeug's router alone."""
    adapter = APP.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(path, method="GET")
    except RequestRedirect:
        served = None
        routed = "/" + path.lstrip("/")
    except HTTPException:
        served = None
        routed = "/" + path.lstrip("/")
    else:
        served = endpoint
        built = adapter.build(endpoint, args, method="GET")
        routed = unquote(built)
    segments = routed.split("/")[1:]
    canonical = (
        "\\" not in routed
        and "." not in segments
        and ".." not in segments
        and "" not in segments[:-1]
    )
    if not canonical:
        return None
    if served in ADMIN_VIEWS:
        return "strict"
    policy = RULES.policy_for(routed)
    return None if policy is None else ("strict" if policy is _STRICT else "partner")


@settings(max_examples=300, deadline=None)
@given(prefix=PREFIX, path=PATHS)
def test_grant_follows_werkzeugs_route(prefix: str, path: str) -> None:
    raw = unquote(prefix + path) if prefix else unquote(path)
    expected = _expected(raw)
    for origin, rule in ((PARTNER, "partner"), (STRICT, "strict")):
        response = _get_raw(APP, raw, origin)
        granted = response.headers.get("Access-Control-Allow-Origin") == origin
        assert granted == (expected == rule), (raw, origin, response.status_code, expected)
        if response.get_data() == b"admin":
            assert not (origin == PARTNER and granted), raw


SWITCHED = admin_app()
SWITCHED_PASSTHROUGH = Flask(__name__)


@SWITCHED_PASSTHROUGH.route("/api/<path:rest>", methods=["GET", "OPTIONS"])
def _anything(rest: str) -> str:
    return "ok"


CORS(
    SWITCHED_PASSTHROUGH,
    resources={r"/api/v[0-9]+/.*": {"origins": [r"https://[a-z]+\.example\.com"]}},
    automatic_options=False,
    vary_header=False,
    always_send=False,
)

TEXT = st.text(st.characters(codec="latin-1"), max_size=60)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["GET", "OPTIONS", "PUT"]),
    path=st.one_of(PATHS, TEXT.map(lambda t: "/api/v1/" + t)),
    origin=st.one_of(st.none(), TEXT, st.sampled_from([PARTNER, STRICT, "null"])),
    acrm=st.one_of(st.none(), TEXT),
    acrh=st.one_of(st.none(), TEXT),
)
def test_hostile_requests_never_crash_or_leak(
    method: str, path: str, origin: str | None, acrm: str | None, acrh: str | None
) -> None:
    environ: dict[str, str] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    for name, value in (
        ("HTTP_ORIGIN", origin),
        ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", acrm),
        ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", acrh),
    ):
        if value is not None:
            environ[name] = value
    for app in (SWITCHED, SWITCHED_PASSTHROUGH):
        response = app.test_client().open("/", environ_overrides=environ)
        assert response.status_code < 500
        for name, value in response.headers.items():
            assert "\r" not in value, (name, value)
            assert "\n" not in value, (name, value)
            if name.lower() == "access-control-allow-origin":
                assert value in (PARTNER, STRICT) or re.fullmatch(
                    r"https://[a-z]+\.example\.com", value
                ), value
