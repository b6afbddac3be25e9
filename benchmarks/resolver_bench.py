"""The origin resolver under load, attack and outage, through real servers (part of
``make bench``; ``python -m benchmarks.resolver_bench`` alone).

For each server interface (ASGI under uvicorn, WSGI under a threaded wsgiref server) and
each kind of callable (sync, async), one server process (``benchmarks.resolver_apps``) with
10 tenants in a simulated database, loaded from this process over 127.0.0.1:

- flood: 10 000 requests with random unknown origins while the tenants keep using the site;
  calls to the callable, and the tenants' latency (p50/p99) during the flood vs without;
- outage: the database hangs 2 s, then fails, on every call for 60 s of resolver time (6 s
  real: the resolver's clock runs 10x faster; timeouts, 0.5 s, are real); the tenants'
  grants (TTL 30 s) expire during it; tenants granted throughout, unknown origins
  refused fast, WARNING lines counted, and how long until a tenant added at recovery is
  granted;
- stampede: 100 concurrent first requests for one new origin; calls to the callable;
- replicas: two uvicorn processes behind a real ``redis-server`` (the Redis recipe): how
  long until both refuse a domain removed from the store, after one invalidation.

Prints a Markdown table and writes ``benchmarks/results/resolver-latest.json``. Bounded in
time (about a minute per combination); nothing is asserted, the figures are reported.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .e2e import free_port
from .resolver_apps import SCALE

HOST = "127.0.0.1"  # never anything else: this floods servers it starts itself
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TENANTS = [f"https://tenant{i}.example" for i in range(10)]


def get(port: int, path: str = "/", origin: str | None = None) -> tuple[bool, float, bytes]:
    """One request on a new connection: (granted, seconds, body)."""
    headers = {"Origin": origin} if origin else {}
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        granted = origin is not None and response.getheader("access-control-allow-origin") == (
            origin
        )
    finally:
        connection.close()
    return granted, time.perf_counter() - started, body


def stats(port: int) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(get(port, "/__stats")[2])
    return result


def control(port: int, **values: str) -> None:
    get(port, "/__control?" + urlencode(values))


@contextmanager
def server(interface: str, kind: str, log: Path) -> Iterator[int]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.resolver_apps",
                "--interface",
                interface,
                "--callable",
                kind,
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    stats(port)
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError(f"{interface}/{kind} server did not start") from None
                    time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait(10)


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def loop_until(stop: threading.Event, work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        while not stop.is_set():
            work()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def tenant_worker(port: int, latencies: list[float], granted: list[bool]) -> Callable[[], None]:
    def work() -> None:
        ok, seconds, _ = get(port, origin=random.choice(TENANTS))
        latencies.append(seconds)
        granted.append(ok)

    return work


def flood(port: int, unknown: int, baseline_requests: int) -> dict[str, Any]:
    for origin in TENANTS:
        control(port, add=origin)
        get(port, origin=origin)
    # Without the flood.
    quiet: list[float] = []
    quiet_granted: list[bool] = []
    work = tenant_worker(port, quiet, quiet_granted)
    for _ in range(baseline_requests):
        work()
    before = stats(port)
    # The flood: random unknown origins from 6 threads, tenants from 2 threads.
    origins = iter(f"https://r{random.getrandbits(64):x}-{i}.example" for i in range(unknown))
    lock = threading.Lock()
    loud: list[float] = []
    loud_granted: list[bool] = []
    stop = threading.Event()
    tenants = [loop_until(stop, tenant_worker(port, loud, loud_granted)) for _ in range(2)]
    flood_granted: list[bool] = []

    def attacker() -> None:
        while True:
            with lock:
                origin = next(origins, None)
            if origin is None:
                return
            flood_granted.append(get(port, origin=origin)[0])

    started = time.perf_counter()
    attackers = [threading.Thread(target=attacker) for _ in range(6)]
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in tenants:
        thread.join()
    after = stats(port)
    tenant_calls = sum(after["db_calls_by_origin"].get(o, 0) for o in TENANTS) - sum(
        before["db_calls_by_origin"].get(o, 0) for o in TENANTS
    )
    return {
        "unknown_origins": unknown,
        "calls": after["calls"] - before["calls"],
        "extra_tenant_calls": tenant_calls,
        "backlog_refusals": after["backlog_refusals"] - before["backlog_refusals"],
        "flood_granted": sum(flood_granted),
        "flood_seconds": elapsed,
        "tenant_requests_during": len(loud),
        "tenants_granted_during": f"{sum(loud_granted)}/{len(loud_granted)}",
        "tenant_without": percentiles(quiet),
        "tenant_during": percentiles(loud),
        "grants_cached": after["grants"],
        "refusals_cached": after["refusals"],
    }


def warnings_in(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if "WARNING" in line)


def outage(port: int, log: Path, resolver_seconds: float) -> dict[str, Any]:
    # Grants that expire during the outage (30 s of resolver time), so the stale ones are
    # what keeps the tenants in.
    control(port, ttl="30")
    for origin in TENANTS:
        control(port, invalidate=origin)
        get(port, origin=origin)
    warnings_before = warnings_in(log)
    before = stats(port)
    control(port, db="down")
    stop = threading.Event()
    tenant_latencies: list[float] = []
    tenant_granted: list[bool] = []
    unknown_latencies: list[float] = []
    unknown_granted: list[bool] = []
    counter = iter(range(10**9))

    def unknown() -> None:
        ok, seconds, _ = get(port, origin=f"https://down{next(counter)}.example")
        unknown_latencies.append(seconds)
        unknown_granted.append(ok)

    threads = [loop_until(stop, tenant_worker(port, tenant_latencies, tenant_granted))]
    threads.append(loop_until(stop, unknown))
    time.sleep(resolver_seconds / SCALE)
    stop.set()
    for thread in threads:
        thread.join()
    during = stats(port)
    # The load has stopped: does anything keep calling the database?
    time.sleep(1.0)
    quiet_calls = stats(port)["db_calls"] - during["db_calls"]
    # Recovery: a tenant added now is granted how soon?
    newcomer = "https://newcomer.example"
    control(port, db="up", add=newcomer)
    recovered = time.perf_counter()
    while not get(port, origin=newcomer)[0]:
        time.sleep(0.01)
        if time.perf_counter() - recovered > 30:
            break
    recovery = time.perf_counter() - recovered
    return {
        "outage_resolver_seconds": resolver_seconds,
        "tenants_granted": f"{sum(tenant_granted)}/{len(tenant_granted)}",
        "tenant": percentiles(tenant_latencies),
        "unknown_refused": f"{len(unknown_granted) - sum(unknown_granted)}/{len(unknown_granted)}",
        "unknown": percentiles(unknown_latencies),
        "db_calls": during["db_calls"] - before["db_calls"],
        "db_calls_after_load_stopped": quiet_calls,
        "stale_served": during["stale_served"] - before["stale_served"],
        "warning_lines": warnings_in(log) - warnings_before,
        "recovery_real_s": recovery,
        "recovery_resolver_s": recovery * SCALE,
    }


def stampede(port: int, clients: int) -> dict[str, Any]:
    origin = "https://first.example"
    control(port, add=origin, latency="0.2")
    barrier = threading.Barrier(clients)
    granted: list[bool] = []

    def first() -> None:
        barrier.wait()
        granted.append(get(port, origin=origin)[0])

    threads = [threading.Thread(target=first) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    control(port, latency="0.002")
    after = stats(port)
    return {
        "clients": clients,
        "granted": sum(granted),
        "calls": after["db_calls_by_origin"].get(origin, 0),
    }


def replicas(rounds: int) -> dict[str, Any] | None:
    """Two uvicorn replicas behind a real redis-server: how long until both stop granting a
    domain removed from the store (one invalidation published)."""
    if shutil.which("redis-server") is None:
        print("resolver bench: redis-server missing, replicas skipped", file=sys.stderr)
        return None
    from crossorigin.recipes.redis import SharedOrigins
    from crossorigin.recipes.sql import SQLOrigins

    from .resolver_replica import redis_command, replica_command

    with tempfile.TemporaryDirectory() as directory:
        redis_port = free_port()
        redis_url = f"redis://{HOST}:{redis_port}/0"
        redis = subprocess.Popen(
            redis_command(redis_port, directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        database = Path(directory) / "tenants.db"
        store = SQLOrigins(f"sqlite:///{database}")
        store.create()
        names = [f"https://replica-tenant{i}.example" for i in range(rounds)]
        for origin in names:
            store.add(origin)
        ports = [free_port(), free_port()]
        environment = {
            **os.environ,
            "CROSSORIGIN_TEST_DB": str(database),
            "CROSSORIGIN_TEST_REDIS": redis_url,
        }
        servers = [
            subprocess.Popen(replica_command(port), cwd=ROOT, env=environment) for port in ports
        ]
        try:
            for port in ports:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if json.loads(get(port, "/stats")[2])["subscribed"]:
                            break
                    except (OSError, ValueError):
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("replica did not start")
                    time.sleep(0.05)
            admin = SharedOrigins(store, url=redis_url)
            delays: list[float] = []
            for origin in names:
                for port in ports:
                    get(port, origin=origin)  # cached by both
                store.remove(origin)
                removed = time.perf_counter()
                admin.invalidate_blocking(origin)
                pending = set(ports)
                while pending and time.perf_counter() - removed < 10:
                    pending = {port for port in pending if get(port, origin=origin)[0]}
                delays.append(time.perf_counter() - removed if not pending else float("inf"))
            return {
                "rounds": rounds,
                "removal_seen_by_both_ms_max": max(delays) * 1000,
                "removal_seen_by_both_ms_median": statistics.median(delays) * 1000,
            }
        finally:
            for process in [*servers, redis]:
                process.terminate()
            for process in [*servers, redis]:
                process.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    options = parser.parse_args(argv)
    unknown, baseline, outage_seconds = (300, 50, 10.0) if options.quick else (10_000, 1_000, 60.0)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        for interface in ("asgi", "wsgi"):
            for kind in ("sync", "async"):
                name = f"{interface}/{kind}"
                log = Path(directory) / f"{interface}-{kind}.log"
                print(f"resolver bench: {name}...", file=sys.stderr, flush=True)
                with server(interface, kind, log) as port:
                    results[name] = {
                        "stampede": stampede(port, 100),
                        "flood": flood(port, unknown, baseline),
                        "outage": outage(port, log, outage_seconds),
                    }
    print("resolver bench: two replicas behind Redis...", file=sys.stderr, flush=True)
    shared = replicas(5 if options.quick else 20)
    if shared is not None:
        results["replicas"] = shared
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / "resolver-latest.json").write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


def render(results: dict[str, Any]) -> str:
    lines = [
        "| server / callable | 100 first requests: calls | flood: calls / unknown origins "
        "| extra tenant calls | tenant p50 / p99 ms without flood | during flood "
        "| outage: tenants granted | tenant p50 / p99 ms | unknown refused | unknown p50 / p99 ms "
        "| DB calls | WARNING lines | calls after load stopped | recovery (real s) |",
        "|" + "---|" * 14,
    ]
    for name, result in results.items():
        if name == "replicas":
            continue
        s, f, o = result["stampede"], result["flood"], result["outage"]
        lines.append(
            f"| {name} | {s['calls']} ({s['granted']}/{s['clients']} granted) "
            f"| {f['calls']} / {f['unknown_origins']} | {f['extra_tenant_calls']} "
            f"| {f['tenant_without']['p50_ms']:.2f} / {f['tenant_without']['p99_ms']:.2f} "
            f"| {f['tenant_during']['p50_ms']:.2f} / {f['tenant_during']['p99_ms']:.2f} "
            f"| {o['tenants_granted']} | {o['tenant']['p50_ms']:.2f} / {o['tenant']['p99_ms']:.2f} "
            f"| {o['unknown_refused']} | {o['unknown']['p50_ms']:.2f} / "
            f"{o['unknown']['p99_ms']:.2f} | {o['db_calls']} | {o['warning_lines']} "
            f"| {o['db_calls_after_load_stopped']} | {o['recovery_real_s']:.2f} |"
        )
    shared = results.get("replicas")
    if shared is not None:
        lines.append(
            f"\nTwo uvicorn replicas behind Redis: a removed domain is refused by both "
            f"{shared['removal_seen_by_both_ms_median']:.1f} ms (median; max "
            f"{shared['removal_seen_by_both_ms_max']:.1f} ms, {shared['rounds']} rounds) "
            "after the invalidation is published."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
