"""Headless Chromium for the migration tests: one browser, one page, fetches from origins.

Reuses the browser suite's page servers, resolver rules and ``fetch()`` driver; the
incumbents' servers are not crossorigin's, so ``crossorigin check`` is not asked to agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from playwright.sync_api import Frame, Page

from tests.browser.harness import FetchResult, PageServers, fetch
from tests.browser.harness import chromium as launched_chromium

NOT_COMPARED = "migration test: the incumbent's server is compared with crossorigin's instead"


@contextmanager
def chromium() -> Iterator[tuple[Page, PageServers]]:
    """A page in a fresh headless Chromium, and the loopback page servers."""
    with PageServers() as pages, launched_chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        yield context.new_page(), pages


@dataclass(frozen=True)
class Fetch:
    """One ``fetch()`` a page makes: from ``origin`` (``"null"``: a sandboxed frame)."""

    origin: str
    path: str
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    credentials: str | None = None
    body: str | None = None


def run(page: Page, base: str, call: Fetch) -> FetchResult:
    target: Page | Frame
    if call.origin == "null":
        page.set_content('<iframe sandbox="allow-scripts" srcdoc="<p>sandboxed"></iframe>')
        target = page.frames[1]
        target.wait_for_load_state()
    else:
        if page.url != call.origin + "/":
            page.goto(call.origin + "/")
        target = page
    return fetch(
        target,
        base + call.path,
        method=call.method,
        headers=call.headers,
        body=call.body,
        credentials=call.credentials,
        checker_exempt=NOT_COMPARED,
    )


def verdict(result: FetchResult, *headers: str) -> tuple[object, ...]:
    """What the page's script learnt: blocked, or the status and the named headers."""
    if result.blocked:
        return ("blocked",)
    return (result.status, *(result.headers.get(name.lower()) for name in headers))
