"""``crossorigin explain`` reads what Firefox prints, and every message the browser suite saw.

- Firefox (Marionette, ``tests/browser/engines.py``) runs ``fetch()`` through every blocked
  scenario of :mod:`console_corpus`, as ``test_explain_browser`` does in Chromium; its
  console messages are read from the browser console service. Firefox prints the cause
  and then a generic "CORS request did not succeed" line; ``explain`` must recognise every
  line and read the cause as the kind ``kinds["firefox"]`` names.
- The console corpus of the three-engine browser suite (``tests/browser/console_corpus.json``,
  the messages Chromium and Firefox printed for the suite's blocked fetches) is recognised
  in full: no message a user of either engine meets in these scenarios goes unexplained.

WebKit's console cannot be read through WebKitGTK's WebDriver (docs/browser.md), so its
messages stay quoted (``QUOTED``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crossorigin.tools.console import explain
from tests.browser.console_corpus import CONSOLE_MESSAGES
from tests.browser.engines import FirefoxBrowser, missing
from tests.browser.harness import CHROMIUM
from tests.conftest import require

from .console_corpus import SCENARIOS, Scenario, scenario_servers
from .test_explain_browser import FETCH

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def firefox_messages() -> Iterator[dict[str, Any]]:
    """Scenario name -> the CORS console messages Firefox printed for it (and the origins)."""
    why = missing("firefox", CHROMIUM)
    require(why is None, why or "")
    with scenario_servers() as (page_origin, api):
        result: dict[str, Any] = {"page": page_origin, "api": api, "messages": {}}
        firefox = FirefoxBrowser.launch()
        result["version"] = firefox.version
        try:
            tab = firefox.tab()
            tab.goto(page_origin + "/")
            for scenario in SCENARIOS:
                mark = tab.console_mark()
                outcome = tab.evaluate(
                    FETCH,
                    {
                        "url": f"{api}/scenario/{scenario.name}",
                        "method": scenario.method,
                        "headers": scenario.headers,
                        "credentials": scenario.credentials,
                    },
                )
                assert outcome.startswith("TypeError"), (scenario.name, outcome)
                result["messages"][scenario.name] = tab.console_since(mark, expect=True)
        finally:
            firefox.close()
        yield result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_explain_reads_what_firefox_reports(
    scenario: Scenario, firefox_messages: dict[str, Any]
) -> None:
    messages: list[str] = firefox_messages["messages"][scenario.name]
    assert messages, f"Firefox printed no CORS message for {scenario.name}"
    readings = []
    for message in messages:
        found = explain(message)
        assert len(found) == 1, message
        assert found[0].engine == "firefox", message
        assert found[0].origin in (None, firefox_messages["page"])
        readings.append(found[0])
    kinds = [r.kind for r in readings]
    assert scenario.kinds["firefox"] in kinds, (kinds, messages)
    # Firefox names the URL the failure happened on (the redirect target, for a redirect).
    assert all(r.url and r.url.startswith(firefox_messages["api"]) for r in readings), messages


# Placeholders of the browser suite's corpus, filled with URLs of the right shape.
_FILLED = {
    "{url}": "http://127.0.0.1:8000/r/0123456789ab/data",
    "{api}": "http://127.0.0.1:8000",
    "{origin}": "http://127.0.0.1:9000",
    "{other-origin}": "http://127.0.0.1:9001",
}


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_explain_recognises_the_browser_suites_messages(engine: str) -> None:
    entries = [e for e in CONSOLE_MESSAGES[engine] if e.message]
    assert entries
    for entry in entries:
        text = entry.message
        for placeholder, value in _FILLED.items():
            text = text.replace(placeholder, value)
        found = explain(text)
        assert len(found) == 1, (entry.message, entry.example)
        assert found[0].engine == engine
        if not entry.error:
            continue  # a warning on an allowed request (Firefox's '*' and Authorization)
        # The cause the checker found is the one the message reads, or the message is the
        # generic one Firefox prints after the cause (or Firefox words a refused preflight
        # as a missing grant: crossorigin refuses with 403 and no headers).
        assert (
            found[0].step in entry.failures
            or found[0].kind in ("network-failure", "missing-allow-origin")
            or not entry.failures
        ), (entry.message, entry.failures, found[0].kind)
