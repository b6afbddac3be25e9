"""The measuring machinery shared by every benchmark group.

A *contender* is one way of serving the same tiny endpoint (the bare app, the app behind
crossorigin, the app behind an incumbent library). A *scenario* is one request. Before a
contender is timed on a scenario, its response is checked the way a browser would check
it: a contender that answers wrongly is not timed at all, so no number in the table comes
from a middleware that skipped the work.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from crossorigin.browser import (
    SPEC,
    Check,
    HTTPRequest,
    HTTPResponse,
    cors_check,
    sent_preflight_checks,
    vary_tokens,
)

ORIGIN_ALLOWED = "https://app.example.com"
ORIGIN_OTHER_ALLOWED = "https://admin.example.com"
ORIGIN_REFUSED = "https://evil.example.net"

ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE")
ALLOWED_HEADERS = ("Content-Type", "Authorization", "X-Request-Id")
EXPOSED_HEADERS = ("X-Request-Id",)
MAX_AGE = 600

# A response header longer than this means the middleware reflected hostile input.
MAX_SANE_HEADER = 8192

Role = Literal["bare", "crossorigin", "incumbent", "floor"]


@dataclass(frozen=True, slots=True)
class Config:
    """The CORS configuration every contender of a run is given (in its own vocabulary)."""

    origins: tuple[str, ...] = (ORIGIN_ALLOWED, ORIGIN_OTHER_ALLOWED)
    credentials: bool = False
    methods: tuple[str, ...] = ALLOWED_METHODS
    headers: tuple[str, ...] = ALLOWED_HEADERS
    expose: tuple[str, ...] = EXPOSED_HEADERS
    max_age: int = MAX_AGE

    def crossorigin_options(self) -> dict[str, Any]:
        return {
            "allow_origins": list(self.origins),
            "allow_methods": list(self.methods),
            "allow_headers": list(self.headers),
            "expose_headers": list(self.expose),
            "allow_credentials": self.credentials,
            "max_age": self.max_age,
        }


PLAIN = Config()
CREDENTIALED = Config(credentials=True)


@dataclass(frozen=True, slots=True)
class Request:
    """One request, independent of the server interface."""

    method: str
    headers: tuple[tuple[str, str], ...] = ()
    path: str = "/"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def as_http(self) -> HTTPRequest:
        return HTTPRequest(self.method, self.path, self.headers)


@dataclass(slots=True)
class Outcome:
    """What came back: the status and the headers (names lowercased, repeats kept)."""

    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.headers.get(name)
        return None if not values else ", ".join(values)

    def as_http(self) -> HTTPResponse:
        """The response as the browser-side checks take it (repeated headers kept apart)."""
        pairs = tuple((name, value) for name, values in self.headers.items() for value in values)
        return HTTPResponse(self.status, pairs)


def outcome_from_pairs(status: int, pairs: Sequence[tuple[str | bytes, str | bytes]]) -> Outcome:
    headers: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.decode("latin-1") if isinstance(name, bytes) else name
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        headers.setdefault(key.lower(), []).append(text)
    return Outcome(status, headers)


class Driver(Protocol):
    """Runs requests against one contender: once with inspection, or n times, timed."""

    def check(self, request: Request) -> Outcome: ...

    def loop(self, request: Request) -> Callable[[int], None]:
        """A closure that sends ``request`` n times, with everything prebuilt."""
        ...


@dataclass(frozen=True, slots=True)
class Contender:
    name: str
    group: str
    role: Role
    build: Callable[[Config], Driver]
    # Scenarios this library cannot serve correctly, with the reason (shown in the table).
    unsupported: Mapping[str, str] = field(default_factory=dict)
    # A short column title for the report (defaults to the name).
    label: str = ""


# --- what a browser accepts ------------------------------------------------------------------

# The judgment is crossorigin.browser's, under the standard's rules rather than Chromium's:
# Chromium lets '*' in Access-Control-Allow-Headers cover Authorization where Firefox and
# the standard do not, so an answer that passes the standard passes in every browser.
BROWSER = SPEC


def _first_failure(checks: Sequence[Check]) -> str | None:
    for check in checks:
        if not check.ok:
            return f"{check.summary}: {check.cause}" if check.cause else check.summary
    return None


Expect = Literal[
    "not-cors",  # no Origin: the app's answer, no grant
    "allowed",  # actual request the browser lets the script read
    "refused",  # actual request the browser hides from the script
    "preflight-allowed",
    "preflight-refused",
    "robust",  # hostile input: any well-formed answer that reflects nothing
]


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    request: Request
    expect: Expect
    config: Config = PLAIN
    # What crossorigin must answer (stricter than what a browser tolerates).
    crossorigin_expect: Expect | None = None
    crossorigin_status: int | None = None


def check_outcome(
    outcome: Outcome, scenario: Scenario, expect: Expect, status: int | None = None
) -> str | None:
    """Why ``outcome`` is not the right answer to ``scenario`` (None when it is)."""
    request = scenario.request
    credentials = scenario.config.credentials
    origin = request.header("origin")
    for name, values in outcome.headers.items():
        for value in values:
            if len(value) > MAX_SANE_HEADER:
                return f"reflected {len(value)} bytes in {name}"
    if status is not None and outcome.status != status:
        return f"status {outcome.status}, expected {status}"
    if expect == "robust":
        return None if 200 <= outcome.status <= 599 else f"status {outcome.status}"
    if expect == "not-cors":
        if outcome.status != 200:
            return f"status {outcome.status}"
        if "access-control-allow-origin" in outcome.headers and scenario.config.credentials:
            return "granted a credentialed origin to a request without Origin"
        return None
    if expect in ("allowed", "refused"):
        if outcome.status != 200:
            return f"status {outcome.status}"
        why = _first_failure(cors_check(outcome.as_http(), origin or "", credentials))
        if expect == "allowed":
            return why
        return None if why else "the browser would let the script read the response"
    why = _first_failure(
        sent_preflight_checks(request.as_http(), outcome.as_http(), credentials, BROWSER)
    )
    if expect == "preflight-allowed":
        return why
    return None if why else "the browser would pass this preflight"


def crossorigin_extra_check(outcome: Outcome, scenario: Scenario) -> str | None:
    """crossorigin's own promises: a refusal carries no Access-Control-* header at all."""
    expect = scenario.crossorigin_expect or scenario.expect
    if expect in ("refused", "preflight-refused"):
        granted = [name for name in outcome.headers if name.startswith("access-control-")]
        if granted:
            return f"refusal carries {granted}"
    if (
        expect != "robust"
        and "origin" not in vary_tokens(outcome.as_http())
        and outcome.get("access-control-allow-origin") != "*"
    ):
        return "Vary lacks Origin"
    return None


# --- timing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    median_us: float
    min_us: float
    max_us: float
    stdev_us: float
    loops: int
    repeats: int
    samples_us: tuple[float, ...]


def calibrate(run: Callable[[int], None], target_s: float, max_loops: int) -> int:
    """The loop count that makes one repeat last about ``target_s`` (timeit's approach)."""
    loops = 1
    while True:
        start = time.perf_counter()
        run(loops)
        elapsed = time.perf_counter() - start
        if elapsed >= target_s / 5 or loops >= max_loops:
            break
        loops *= 4
    per_loop = elapsed / loops
    return max(1, min(max_loops, int(target_s / per_loop) if per_loop > 0 else max_loops))


def time_interleaved(
    runs: Sequence[Callable[[int], None]], loops: Sequence[int], repeats: int
) -> list[Timing]:
    """Time several contenders round-robin, so slow drifts of the machine hit them alike."""
    samples: list[list[float]] = [[] for _ in runs]
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # like timeit: a collection landing in one sample is noise, not cost
    try:
        for _ in range(repeats):
            for index, run in enumerate(runs):
                count = loops[index]
                start = time.perf_counter_ns()
                run(count)
                elapsed = time.perf_counter_ns() - start
                samples[index].append(elapsed / count / 1000)
    finally:
        if enabled:
            gc.enable()
    return [
        Timing(
            median_us=statistics.median(values),
            min_us=min(values),
            max_us=max(values),
            stdev_us=statistics.stdev(values) if len(values) > 1 else 0.0,
            loops=loops[index],
            repeats=repeats,
            samples_us=tuple(values),
        )
        for index, values in enumerate(samples)
    ]
