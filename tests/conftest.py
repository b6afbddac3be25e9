"""Shared test configuration.

Server and browser tests start real processes on 127.0.0.1. In CI (``CI=true``) they must
run: a missing prerequisite fails the run instead of skipping it. On a laptop without, for
example, Chromium they skip with one line saying what to install.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a prerequisite of a real-world test is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: this test must run, not skip)")
    pytest.skip(why)
