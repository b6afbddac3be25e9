"""``crossorigin explain`` reads the messages a real Chromium prints.

Headless Chromium runs ``fetch()`` from a page on one loopback origin through every blocked
scenario of :mod:`console_corpus` against a live server on another; the console message is
captured (``page.on("console")``) and ``explain`` must name the step the scenario broke,
the kind of failure, and whether it was the preflight. Nothing here is typed by hand: the
messages are whatever this Chromium prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crossorigin.tools.console import explain
from tests.browser.harness import chromium

from .console_corpus import SCENARIOS, Scenario, scenario_servers

pytestmark = [pytest.mark.browser, pytest.mark.server]

FETCH = """async ({url, method, headers, credentials}) => {
  try {
    await fetch(url, {method, headers, credentials: credentials ? "include" : "same-origin",
                      cache: "no-store"});
    return "allowed";
  } catch (error) {
    return String(error);
  }
}"""


@pytest.fixture(scope="module")
def captured() -> Iterator[dict[str, Any]]:
    """Scenario name -> the CORS console messages Chromium printed for it (and the origins)."""
    from playwright.sync_api import ConsoleMessage

    with scenario_servers() as (page_origin, api), chromium() as browser:
        result: dict[str, Any] = {"page": page_origin, "api": api, "messages": {}}
        result["version"] = browser.version
        tab = browser.new_context().new_page()
        tab.set_default_timeout(10_000)
        tab.goto(page_origin + "/")

        def is_cors(message: ConsoleMessage) -> bool:
            return "has been blocked by CORS policy" in message.text

        for scenario in SCENARIOS:
            url = f"{api}/scenario/{scenario.name}"
            with tab.expect_console_message(predicate=is_cors) as message:
                outcome = tab.evaluate(
                    FETCH,
                    {
                        "url": url,
                        "method": scenario.method,
                        "headers": scenario.headers,
                        "credentials": scenario.credentials,
                    },
                )
            assert outcome.startswith("TypeError"), (scenario.name, outcome)
            result["messages"][scenario.name] = message.value.text
        yield result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_explain_reads_the_step_chromium_reports(
    scenario: Scenario, captured: dict[str, Any]
) -> None:
    message = captured["messages"][scenario.name]
    found = explain(message)
    assert len(found) == 1, message
    (reading,) = found
    assert reading.engine == "chromium"
    assert reading.step == scenario.step, message
    assert reading.kind == scenario.kinds["chromium"], message
    assert reading.preflight is scenario.preflight, message
    assert reading.origin == captured["page"]
    url = f"{captured['api']}/scenario/{scenario.name}"
    if scenario.redirected:
        assert reading.redirected_from == url, message
    else:
        assert reading.url == url, message
    command = reading.check_command()
    assert command is not None
    assert command[2] == url
    assert command[3:5] == ["--origin", captured["page"]]
    if scenario.credentials and reading.kind in (
        "wildcard-with-credentials",
        "invalid-allow-credentials",
    ):
        assert "--credentials" in command
    if reading.kind == "method-not-allowed":
        assert command[command.index("-X") + 1] == scenario.method
    if reading.kind == "header-not-allowed":
        header = command[command.index("-H") + 1].partition(":")[0].lower()
        assert header in {name.lower() for name in scenario.headers}


def test_the_corpus_covers_every_scenario(captured: dict[str, Any]) -> None:
    print(f"Chromium {captured['version']}")
    assert set(captured["messages"]) == {s.name for s in SCENARIOS}
