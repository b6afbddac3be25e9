"""Differential property: the policy crossorigin.flask applies under ``resources`` is the
one for the route Werkzeug's own router serves the request with, whatever the raw path.

Werkzeug is asked directly (``url_map.bind(...).match``), independently of the request
object the integration reads; the strongest form of the property is checked too: a response
served by an admin view never carries the partner's grant.
"""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from crossorigin import CORSPolicy
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
