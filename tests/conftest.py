"""Shared test configuration.

Server and browser tests start real processes on 127.0.0.1. In CI (``CI=true``) they must
run: a missing prerequisite fails the run instead of skipping it. On a laptop without, for
example, Chromium they skip with one line saying what to install.
"""

from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a prerequisite of a real-world test is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: this test must run, not skip)")
    pytest.skip(why)


def free_port() -> int:
    """A port nothing listens on now: for a server started as its own process, or a refusal."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
