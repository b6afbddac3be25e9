"""Running a coroutine from a synchronous test, on a fresh event loop in its own thread.

The browser suite keeps Playwright's synchronous API (and so a running event loop) on the
main thread for the whole session; ``asyncio.run`` there fails after it has started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """``asyncio.run(coroutine)`` in a worker thread, bounded by ``timeout`` seconds."""
    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout)
