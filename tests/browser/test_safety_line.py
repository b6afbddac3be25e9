"""The one dangerously named option, in a real browser: what it exposes is really exposed.

``dangerously_reflect_any_origin=True`` with credentials lets every page read the API as
the user, a sandboxed (``null``) frame included; without the option, ``null`` with
credentials does not even start.
"""

from __future__ import annotations

import logging

import pytest

from crossorigin import ConfigError

from .conftest import OpenTab
from .harness import ApiServer, PageServers, fetch
from .test_credentials import give_cookie

pytestmark = pytest.mark.browser

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"


def test_reflect_any_origin_grants_every_page_with_credentials(
    api: ApiServer,
    pages: PageServers,
    open_tab: OpenTab,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="crossorigin"):
        route = api.mount(dangerously_reflect_any_origin=True, allow_credentials=True)
    assert any("every website" in r.getMessage() for r in caplog.records)
    give_cookie(open_tab(pages.page), api)
    for origin in (pages.page, pages.other):
        result = fetch(open_tab(origin), route.url(), credentials="include")
        assert result.ok, result
        entry = route.log[-1]
        assert entry.headers.get("cookie") == "session=c00kie"
        assert entry.response_headers[ACAO] == origin
        assert entry.response_headers[ACAC] == "true"
    frame = open_tab(pages.page).sandboxed_frame()
    assert fetch(frame, route.url(), credentials="include").ok
    entry = route.log[-1]
    assert entry.headers["origin"] == "null"
    assert entry.response_headers[ACAO] == "null"
    assert entry.response_headers[ACAC] == "true"


def test_null_with_credentials_does_not_start(api: ApiServer) -> None:
    with pytest.raises(ConfigError, match="null"):
        api.mount(allow_origins=["null"], allow_credentials=True)
