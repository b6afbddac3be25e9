"""Dynamic origins: a user callable deciding whether an origin is allowed, behind a cache.

For allow-lists that live in a database (tenants registering their domains). This module
owns everything stateful about it: the caches, sharing one call between concurrent
requests, serving stale grants while the database is down, and bounding the work. The
policy stays pure: an adapter asks the resolver for the origin's verdict
(:meth:`OriginResolver.resolve_async` or :meth:`OriginResolver.resolve_blocking`), then
asks the policy for a decision with that verdict (``CORSPolicy.decide_resolved``).

Design, in the order a lookup meets it:

- Grants and refusals live in separate tables. Grants are an LRU bounded by
  ``max_entries``; refusals a FIFO bounded by ``max_refusals``. Random unknown origins only
  ever churn the refusal table, so they cannot evict a tenant.
- One call per origin at a time (single flight): concurrent lookups wait for the same
  call, from threads and event loops alike.
- Each resolver runs at most ``concurrency`` calls at once on its own threads (sync
  callables) or on the caller's event loop (async ones), never on a shared pool or the
  loop's default executor. At most ``backlog`` more wait for a free slot; beyond that a new
  origin is refused at once. A queued call whose waiters gave up is dropped, never made.
- Waiting stops at ``timeout``. A sync call cannot be interrupted and finishes in its
  thread; its result is still stored. An async call is cancelled.
- A failure (exception, timeout, non-bool answer) of an origin granted before keeps its
  grant for ``grace`` seconds after it expired (stale-if-error); other failures refuse the
  origin for one second only. After three failures in a row the circuit opens: nobody
  waits any more (stale grants are served, other origins refused at once) and one probe
  per second runs in the background, only when a slot is free, so an outage costs the
  database almost nothing; the first success takes effect at once.
- Problems are logged on the ``crossorigin`` logger, rate-limited: the first at once, then
  one summary line per ``log_interval`` with a count, and one line on recovery.

Only syntactically valid serialized origins are ever passed to the callable (never
``null``, never garbage), so it can use the value in a query without further checks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import queue
import threading
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from time import monotonic
from typing import Final

from .decision import sanitize
from .errors import ConfigError, Problem
from .origins import parse_request_origin

logger = logging.getLogger("crossorigin")

ResolverFunction = Callable[[str], bool] | Callable[[str], Awaitable[bool]]
Clock = Callable[[], float]

# A refusal caused by a failure is remembered this long (in the resolver's clock), and an
# open circuit lets one probe through this often: long enough to shield a struggling
# database from a flood, short enough that recovery shows within a second.
FAILURE_TTL: Final = 1.0
# Failures in a row that open the circuit. More than one, so a single bad answer for one
# odd origin does not refuse every new origin for a second.
BREAKER_THRESHOLD: Final = 3
# Browsers serialise origins well under this; longer values are refused unseen, so neither
# table can be filled with megabyte keys.
MAX_ORIGIN_LENGTH: Final = 300

# A worker thread with nothing to do for this long exits (real seconds).
_IDLE_SECONDS: Final = 10.0

_THREAD: Final = 0
_TASK: Final = 1


@dataclass(frozen=True, slots=True)
class ResolverStats:
    """A snapshot of one resolver's counters (monotonic since construction) and sizes."""

    hits: int  # answered from a fresh cached verdict
    misses: int  # found no fresh verdict (and were not coalesced)
    coalesced: int  # waited for a call another request had started
    calls: int  # calls made to the callable
    failures: int  # calls that raised, timed out or answered a non-bool
    stale_served: int  # grants served past their TTL because the callable was failing
    backlog_refusals: int  # origins refused at once because the backlog was full
    outage_refusals: int  # origins refused without a call while the circuit was open
    grants: int  # entries in the grant cache
    refusals: int  # entries in the refusal table
    in_flight: int  # calls running now
    queued: int  # calls waiting for a free slot

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Grant:
    __slots__ = ("expires", "failing_until")

    def __init__(self, expires: float) -> None:
        self.expires = expires
        # While the callable is failing for this origin, the stale grant is served without
        # a new call until then.
        self.failing_until = -math.inf


class _Flight:
    """One call in progress (or queued) for one origin; its future carries the verdict,
    or None for a failure."""

    __slots__ = ("deadline", "discard", "future", "loop", "origin", "runner", "settled", "task")

    def __init__(
        self, origin: str, deadline: float, runner: int, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        self.origin = origin
        self.deadline = deadline
        self.runner = runner
        self.loop = loop
        self.future: Future[bool | None] = Future()
        # Never cancellable: an event loop's waiter giving up must not cancel it for others.
        self.future.set_running_or_notify_cancel()
        self.task: asyncio.Task[None] | None = None
        self.discard = False  # invalidated while running: its answer is not stored
        self.settled = False  # its failure (timeout) was already recorded


class OriginResolver:
    """A resolver callable plus its cache and limits. Pass it (or just the callable) as
    ``CORSPolicy(origin_resolver=...)``.

    :param function: ``f(origin) -> bool``, or ``async def f(origin) -> bool``.
    :param ttl: seconds a verdict stays fresh.
    :param timeout: seconds a request waits for ``function`` before it is answered
        without it.
    :param max_entries: bound on cached grants (least recently used evicted first).
    :param grace: seconds an expired grant keeps being served while ``function`` fails
        (stale-if-error); 0 disables.
    :param max_refusals: bound on cached refusals (oldest evicted first).
    :param concurrency: calls of ``function`` running at once, at most.
    :param backlog: calls waiting for a free slot, at most; beyond it a new origin is
        refused at once.
    :param log_interval: seconds between two summary lines while problems go on.
    :param clock: the clock for TTLs, grace and log intervals (``time.monotonic``); tests
        and benchmarks may pass a faster one. Timeouts always use real time.
    :raises ConfigError: a setting is not a finite number in range, with the fix.
    """

    __slots__ = (
        "_backlog_refusals",
        "_busy_threads",
        "_calls",
        "_clock",
        "_coalesced",
        "_failures",
        "_failures_in_row",
        "_flights",
        "_grants",
        "_hits",
        "_lock",
        "_log_count",
        "_log_next",
        "_misses",
        "_open_until",
        "_outage_refusals",
        "_queue",
        "_refusals",
        "_running",
        "_stale_served",
        "_threads",
        "_work",
        "backlog",
        "concurrency",
        "function",
        "grace",
        "is_async",
        "log_interval",
        "max_entries",
        "max_refusals",
        "timeout",
        "ttl",
    )

    def __init__(
        self,
        function: ResolverFunction,
        *,
        ttl: float = 60.0,
        timeout: float = 2.0,
        max_entries: int = 1024,
        grace: float = 600.0,
        max_refusals: int = 4096,
        concurrency: int = 4,
        backlog: int = 256,
        log_interval: float = 60.0,
        clock: Clock = monotonic,
    ) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            getattr(function, "__call__", None)  # noqa: B004 - async callable objects
        )
        self.ttl = ttl
        self.timeout = timeout
        self.max_entries = max_entries
        self.grace = grace
        self.max_refusals = max_refusals
        self.concurrency = concurrency
        self.backlog = backlog
        self.log_interval = log_interval
        problems = [Problem(*found) for found in self.problems()]
        if not callable(clock):
            problems.append(Problem("clock", clock, "is not callable", "pass time.monotonic"))
        if problems:
            raise ConfigError(problems)
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: OrderedDict[str, _Grant] = OrderedDict()
        self._refusals: dict[str, float] = {}
        self._flights: dict[str, _Flight] = {}
        self._queue: deque[_Flight] = deque()
        self._work: queue.SimpleQueue[_Flight] = queue.SimpleQueue()
        self._running = 0
        self._busy_threads = 0
        self._threads = 0
        self._failures_in_row = 0
        self._open_until = -math.inf
        self._log_next = -math.inf
        self._log_count = 0
        self._hits = self._misses = self._coalesced = self._calls = self._failures = 0
        self._stale_served = self._backlog_refusals = self._outage_refusals = 0

    def problems(self) -> list[tuple[str, object, str, str]]:
        """Configuration problems as (option, value, message, fix) tuples."""
        found: list[tuple[str, object, str, str]] = []
        if not callable(self.function):
            found.append(
                (
                    "origin_resolver",
                    self.function,
                    "is not callable",
                    "pass a function taking the origin and returning True or False",
                )
            )
        for name, value, low, zero_ok, example in (
            ("ttl", self.ttl, 0.0, False, "60"),
            ("timeout", self.timeout, 0.0, False, "2"),
            ("grace", self.grace, 0.0, True, "600 (or 0 to disable)"),
            ("log_interval", self.log_interval, 0.0, False, "60"),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < low
                or (value == low and not zero_ok)
            ):
                bound = "at least 0" if zero_ok else "greater than 0"
                found.append(
                    (
                        f"origin_resolver.{name}",
                        value,
                        f"must be a finite number of seconds {bound}",
                        f"pass {name}={example}",
                    )
                )
        for name, value, low, example in (
            ("max_entries", self.max_entries, 1, "1024"),
            ("max_refusals", self.max_refusals, 1, "4096"),
            ("concurrency", self.concurrency, 1, "4"),
            ("backlog", self.backlog, 0, "256"),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                found.append(
                    (
                        f"origin_resolver.{name}",
                        value,
                        f"must be a whole number of at least {low}",
                        f"pass {name}={example}",
                    )
                )
        return found

    # --- reading the cache (no call) ---------------------------------------------------------

    def cached(self, origin: str) -> bool | None:
        """The verdict a request would get now without a call: True for a fresh grant (or a
        stale one served while the callable fails), False for a fresh refusal, None when a
        call is needed. Counts nothing."""
        now = self._clock()
        grant = self._grants.get(origin)
        if grant is not None:
            if now < grant.expires:
                return True
            if now < grant.expires + self.grace and (
                now < grant.failing_until or now < self._open_until
            ):
                return True
            return None
        expires = self._refusals.get(origin)
        if expires is not None and now < expires:
            return False
        return None

    def needs_call(self, origin: str) -> bool:
        """True when ``origin`` is a valid origin with no usable cached verdict."""
        return self.cached(origin) is None and _resolvable(origin)

    # --- control and visibility ----------------------------------------------------------------

    def invalidate(self, origin: str) -> None:
        """Forget ``origin``'s verdict (a tenant added or removed it): the next request
        calls the function. A call already running for it is not stored."""
        with self._lock:
            self._grants.pop(origin, None)
            self._refusals.pop(origin, None)
            flight = self._flights.pop(origin, None)
            if flight is not None:
                flight.discard = True

    def clear(self) -> None:
        """Forget every cached verdict."""
        with self._lock:
            self._grants.clear()
            self._refusals.clear()
            for flight in self._flights.values():
                flight.discard = True
            self._flights.clear()

    def stats(self) -> ResolverStats:
        """A consistent snapshot of the counters; cheap enough to export every scrape."""
        with self._lock:
            return ResolverStats(
                hits=self._hits,
                misses=self._misses,
                coalesced=self._coalesced,
                calls=self._calls,
                failures=self._failures,
                stale_served=self._stale_served,
                backlog_refusals=self._backlog_refusals,
                outage_refusals=self._outage_refusals,
                grants=len(self._grants),
                refusals=len(self._refusals),
                in_flight=self._running,
                queued=len(self._queue),
            )

    # --- resolving ----------------------------------------------------------------------------

    def resolve_blocking(self, origin: str) -> bool:
        """The verdict for ``origin``, for synchronous code: from the cache, or by waiting
        (at most ``timeout``) for a call on the resolver's own threads. Never raises.

        Called on a thread running an event loop (synchronous code inside an async server),
        it never waits: the call goes on in the background and the answer is what is known
        now (a grant within its grace, else a refusal)."""
        plan = self._plan(origin, _THREAD, None)
        if plan is True or plan is False:
            return plan
        if asyncio._get_running_loop() is not None:
            return self._fallback(origin)
        try:
            verdict = plan.future.result(timeout=max(plan.deadline - monotonic(), 0.0))
        except FutureTimeout:
            self._timed_out(plan)
            verdict = None
        return self._fallback(origin) if verdict is None else verdict

    async def resolve_async(self, origin: str) -> bool:
        """The verdict for ``origin``, under asyncio: from the cache, or by awaiting (at most
        ``timeout``) a call. An async function runs on this loop; a sync one on the
        resolver's own threads, so the loop never blocks. Never raises."""
        loop = asyncio.get_running_loop()
        plan = self._plan(origin, _TASK if self.is_async else _THREAD, loop)
        if plan is True or plan is False:
            return plan
        future = plan.future
        if future.done():
            verdict = future.result()
        else:
            waiter = asyncio.wrap_future(future, loop=loop)
            done, _ = await asyncio.wait((waiter,), timeout=max(plan.deadline - monotonic(), 0.0))
            if done:
                verdict = waiter.result()
            else:
                self._timed_out(plan)
                verdict = None
        return self._fallback(origin) if verdict is None else verdict

    def _plan(
        self, origin: str, runner: int, loop: asyncio.AbstractEventLoop | None
    ) -> bool | _Flight:
        """Under the lock: a verdict now, or the flight to wait for."""
        now = self._clock()
        message = None
        with self._lock:
            grant = self._grants.get(origin)
            stale_ok = False
            if grant is not None:
                if now < grant.expires:
                    self._hits += 1
                    self._grants.move_to_end(origin)
                    return True
                stale_ok = now < grant.expires + self.grace
            else:
                expires = self._refusals.get(origin)
                if expires is not None:
                    if now < expires:
                        self._hits += 1
                        return False
                    del self._refusals[origin]
                # Only valid origins are ever cached, so hits skip this check.
                elif not _resolvable(origin):
                    return False
            if stale_ok and now < grant.failing_until:  # type: ignore[union-attr]
                # The last call for it failed a moment ago: serve the grant, do not retry yet.
                self._stale_served += 1
                return True
            # During an outage (the circuit is open) nobody waits: a grant in its grace is
            # served, anything else refused, and a due probe runs in the background.
            outage = self._failures_in_row >= BREAKER_THRESHOLD
            flight = self._flights.get(origin)
            if flight is not None and monotonic() < flight.deadline:
                if outage:
                    return self._answer_in_outage(stale_ok)
                self._coalesced += 1
                return flight
            self._misses += 1
            if not self._may_call(now):
                return self._answer_in_outage(stale_ok)
            self._drop_expired_queue()
            if outage and self._running >= self.concurrency:
                # Nobody would wait for this probe: it runs now or not at all, so no call
                # starts after the requests that asked for it are gone.
                return self._answer_in_outage(stale_ok)
            if self._running >= self.concurrency and len(self._queue) >= self.backlog:
                if stale_ok:
                    self._stale_served += 1
                    return True
                self._backlog_refusals += 1
                message = self._note_problem(now, "backlog full", origin)
                answer: bool | _Flight = False
            else:
                flight = _Flight(origin, monotonic() + self.timeout, runner, loop)
                self._flights[origin] = flight
                self._dispatch(flight)
                answer = self._answer_in_outage(stale_ok) if outage else flight
        if message is not None:
            logger.warning("%s", message)
        return answer

    def _answer_in_outage(self, stale_ok: bool) -> bool:
        """Under the lock: the answer without waiting for a call."""
        if stale_ok:
            self._stale_served += 1
            return True
        self._outage_refusals += 1
        return False

    def _may_call(self, now: float) -> bool:
        """The circuit breaker (under the lock): closed until BREAKER_THRESHOLD failures in
        a row; then one probe per FAILURE_TTL."""
        if self._failures_in_row < BREAKER_THRESHOLD:
            return True
        if now < self._open_until:
            return False
        self._open_until = now + FAILURE_TTL
        return True

    def _drop_expired_queue(self) -> None:
        # Every queued flight has the same timeout, so the expired ones are at the front.
        pending = self._queue
        real_now = monotonic()
        while pending and pending[0].deadline <= real_now:
            pending.popleft()

    def _dispatch(self, flight: _Flight) -> None:
        """Under the lock: start ``flight`` if a slot is free, else queue it."""
        if self._running >= self.concurrency:
            self._queue.append(flight)
            return
        self._running += 1
        self._calls += 1
        if flight.runner == _THREAD:
            self._busy_threads += 1
            if self._busy_threads > self._threads:
                self._threads += 1
                threading.Thread(
                    target=self._work_loop,
                    name=f"crossorigin-resolver-{self._threads}",
                    daemon=True,
                ).start()
            self._work.put(flight)
            return
        loop = flight.loop
        assert loop is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is loop:
                flight.task = loop.create_task(self._run_task(flight))
            else:
                loop.call_soon_threadsafe(self._start_task, flight)
        except RuntimeError:  # that loop is closed: the call cannot be made
            self._running -= 1
            self._calls -= 1
            self._flights.pop(flight.origin, None)
            flight.future.set_result(None)

    def _start_task(self, flight: _Flight) -> None:
        flight.task = asyncio.get_running_loop().create_task(self._run_task(flight))

    async def _run_task(self, flight: _Flight) -> None:
        result: object = None
        error: str | None = "cancelled"
        try:
            remaining = max(flight.deadline - monotonic(), 0.001)
            result = await asyncio.wait_for(self.function(flight.origin), remaining)  # type: ignore[arg-type]
            error = None
        except TimeoutError:
            error = f"timed out after {self.timeout} s"
        except Exception as problem:
            error = _describe(problem)
        finally:
            self._settle(flight, result, error)

    def _work_loop(self) -> None:
        # Each worker thread keeps one event loop for an async function called from
        # synchronous code, so a client it caches stays on the same loop.
        loop: asyncio.AbstractEventLoop | None = None
        while True:
            try:
                flight = self._work.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                # Idle threads leave, so a resolver that is no longer used holds none.
                with self._lock:
                    if self._work.empty():
                        self._threads -= 1
                        if loop is not None:
                            loop.close()
                        return
                continue
            result: object = None
            error: str | None = None
            try:
                result = self.function(flight.origin)
                # An async function, or a wrapper returning an awaitable (a partial, a
                # decorated coroutine function): run it on this thread's own loop.
                if inspect.isawaitable(result):
                    if loop is None:
                        loop = asyncio.new_event_loop()
                    remaining = max(flight.deadline - monotonic(), 0.001)
                    result = loop.run_until_complete(asyncio.wait_for(result, remaining))
            except TimeoutError:
                error = f"timed out after {self.timeout} s"
            except BaseException as problem:  # the worker thread must survive anything
                error = _describe(problem)
            self._settle(flight, result, error)

    def _settle(self, flight: _Flight, result: object, error: str | None) -> None:
        """A call ended: store its verdict, free its slot, start the next queued call."""
        if error is None and result is not True and result is not False:
            error = f"returned {sanitize(repr(result), 60)}, not a bool"
        verdict = result if error is None else None
        now = self._clock()
        messages: list[str] = []
        with self._lock:
            self._running -= 1
            if flight.runner == _THREAD:
                self._busy_threads -= 1
            if self._flights.get(flight.origin) is flight:
                del self._flights[flight.origin]
            if verdict is not None:
                if self._failures_in_row >= BREAKER_THRESHOLD:
                    messages.append(
                        f"origin resolver {self._name()} answers again "
                        f"({self._log_count} more problems since the last report)"
                    )
                    self._log_count = 0
                self._failures_in_row = 0
                self._open_until = -math.inf
                if not flight.discard:
                    self._store(flight.origin, verdict is True, now)
            elif not flight.settled:
                flight.settled = True
                message = self._failed(flight, now, error or "failed")
                if message is not None:
                    messages.append(message)
            self._drop_expired_queue()
            while self._queue and self._running < self.concurrency:
                self._dispatch(self._queue.popleft())
        # Logged before the waiters wake, so what they answered is already explained.
        for message in messages:
            logger.warning("%s", message)
        if not flight.future.done():
            flight.future.set_result(verdict)  # type: ignore[arg-type]

    def _timed_out(self, flight: _Flight) -> None:
        """A waiter gave up: record the timeout once, and answer without the call."""
        now = self._clock()
        with self._lock:
            if flight.settled or flight.future.done():
                return
            flight.settled = True
            if self._flights.get(flight.origin) is flight:
                del self._flights[flight.origin]
            message = self._failed(flight, now, f"timed out after {self.timeout} s")
        if message is not None:
            logger.warning("%s", message)

    def _failed(self, flight: _Flight, now: float, why: str) -> str | None:
        """Under the lock: count a failure, keep a grant within its grace, refuse briefly."""
        self._failures += 1
        self._failures_in_row += 1
        if self._failures_in_row >= BREAKER_THRESHOLD and now >= self._open_until:
            self._open_until = now + FAILURE_TTL
        origin = flight.origin
        if not flight.discard:
            grant = self._grants.get(origin)
            if grant is not None and now < grant.expires + self.grace:
                grant.failing_until = now + FAILURE_TTL
            else:
                self._grants.pop(origin, None)
                self._remember_refusal(origin, now + min(self.ttl, FAILURE_TTL))
        return self._note_problem(now, why, origin)

    def _fallback(self, origin: str) -> bool:
        """The answer when the call failed: a grant within its grace, else a refusal."""
        now = self._clock()
        with self._lock:
            grant = self._grants.get(origin)
            if grant is not None and now < grant.expires + self.grace:
                self._stale_served += 1
                return True
        return False

    def _store(self, origin: str, verdict: bool, now: float) -> None:
        if verdict:
            self._refusals.pop(origin, None)
            grants = self._grants
            grants[origin] = _Grant(now + self.ttl)
            grants.move_to_end(origin)
            while len(grants) > self.max_entries:
                grants.popitem(last=False)
        else:
            self._grants.pop(origin, None)
            self._remember_refusal(origin, now + self.ttl)

    def _remember_refusal(self, origin: str, expires: float) -> None:
        refusals = self._refusals
        refusals.pop(origin, None)
        refusals[origin] = expires
        while len(refusals) > self.max_refusals:
            del refusals[next(iter(refusals))]

    def _note_problem(self, now: float, why: str, origin: str) -> str | None:
        """Under the lock: the line to log for this problem, or None when it is only
        counted towards the next summary."""
        self._log_count += 1
        if now < self._log_next:
            return None
        count, self._log_count = self._log_count, 0
        self._log_next = now + self.log_interval
        name = self._name()
        last = f"{why} for {sanitize(origin)}"
        if count == 1:
            return (
                f"origin resolver {name}: {last}: refused, or served a stale grant "
                f"(further problems are summarised every {self.log_interval:g} s)"
            )
        return (
            f"origin resolver {name}: {count} problems in the last "
            f"{self.log_interval:g} s (last: {last}); stale grants served so far: "
            f"{self._stale_served}, refused at once so far: "
            f"{self._backlog_refusals + self._outage_refusals}"
        )

    def _name(self) -> str:
        function = self.function
        return _clean(getattr(function, "__qualname__", None) or type(function).__name__, 60)

    def __repr__(self) -> str:
        return (
            f"OriginResolver({self._name()}, ttl={self.ttl}, timeout={self.timeout}, "
            f"max_entries={self.max_entries}, grace={self.grace})"
        )


def _clean(text: str, limit: int) -> str:
    """``text`` made safe for a log line (printable ASCII, truncated), without quotes."""
    quoted = sanitize(text, limit)
    return quoted[1 : quoted.rindex("'")] + quoted[quoted.rindex("'") + 1 :]


def _describe(error: BaseException) -> str:
    return _clean(f"{type(error).__name__}: {error}", 100)


def _resolvable(origin: str) -> bool:
    return (
        len(origin) <= MAX_ORIGIN_LENGTH
        and origin != "null"
        and parse_request_origin(origin) is not None
    )
