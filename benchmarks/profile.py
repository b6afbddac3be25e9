"""``python -m benchmarks.profile``: where crossorigin's per-request time goes.

Two views. First, each piece of the ASGI and WSGI hot paths timed on its own (best of
several repeats, the figure least disturbed by other processes): reading the request
headers, ``decide()``, merging the response headers, and the whole middleware over the bare
app. Second, a deterministic profile (cProfile, or pyinstrument with ``--pyinstrument``) of
many requests through the middleware, sorted by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import timeit
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from crossorigin import CORSPolicy
from crossorigin.asgi import CORSMiddleware as ASGIMiddleware
from crossorigin.wsgi import CORSMiddleware as WSGIMiddleware

from .apps import bare_asgi, bare_wsgi
from .drivers import ASGIDriver, WSGIDriver, asgi_scope
from .harness import PLAIN
from .scenarios import SCENARIOS

HOT = ("no-origin", "simple-get", "preflight", "refused-get", "refused-preflight")


def best_us(run: Callable[[], object], number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(run, number=number, repeat=repeat)) / number * 1e6


def pieces(number: int) -> list[tuple[str, str, float]]:
    """(scenario, piece, best µs) for the separately timed parts of the hot path."""
    import crossorigin.asgi as asgi_module
    from crossorigin import response

    policy = CORSPolicy(**PLAIN.crossorigin_options())
    scenarios = {s.key: s for s in SCENARIOS}
    app_headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]
    rows: list[tuple[str, str, float]] = []
    read: Any = getattr(asgi_module, "read_cors_headers", None)
    for key in HOT:
        request = scenarios[key].request
        headers = asgi_scope(request)["headers"]
        args = (
            request.method,
            request.header("origin"),
            request.header("access-control-request-method"),
            request.header("access-control-request-headers"),
            None,
        )
        decision = policy.decide(*args)
        timed: list[tuple[str, Callable[[], object]]] = []
        if read is not None:  # the general reader; the ASGI hot path inlines a faster scan
            timed.append(("read_cors_headers (general)", partial(read, headers)))
        timed.append(("policy.decide", partial(policy.decide, *args)))
        if decision.kind.value != "preflight":
            merge = partial(
                response.merge_response_headers, app_headers, decision.headers, decision.vary
            )
            timed.append(("merge_response_headers (full)", merge))
            fast = partial(response.add_cors_headers, app_headers, decision.headers, decision.vary)
            timed.append(("add_cors_headers (hot path)", fast))
        rows += [(key, piece, best_us(run, number)) for piece, run in timed]
        for label, bare, wrapped in (
            ("ASGI", ASGIDriver(bare_asgi), ASGIDriver(ASGIMiddleware(bare_asgi, policy))),
            ("WSGI", WSGIDriver(bare_wsgi), WSGIDriver(WSGIMiddleware(bare_wsgi, policy))),
        ):
            base = best_us(partial(bare.loop(request), number), 1) / number
            total = best_us(partial(wrapped.loop(request), number), 1) / number
            rows.append((key, f"{label} middleware total", total))
            rows.append((key, f"{label} middleware overhead", total - base))
    return rows


def profile(requests: int, use_pyinstrument: bool) -> str:
    policy = CORSPolicy(**PLAIN.crossorigin_options())
    scenarios = {s.key: s for s in SCENARIOS}
    driver = ASGIDriver(ASGIMiddleware(bare_asgi, policy))
    runs = [driver.loop(scenarios[key].request) for key in HOT]

    def work() -> None:
        for run in runs:
            run(requests)

    if use_pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
        work()
        profiler.stop()
        text: str = profiler.output_text(unicode=True, color=False)
        return text
    cprofile = cProfile.Profile()
    cprofile.enable()
    work()
    cprofile.disable()
    out = io.StringIO()
    pstats.Stats(cprofile, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--number", type=int, default=100_000, help="calls per timing")
    parser.add_argument("--requests", type=int, default=50_000, help="requests per scenario")
    parser.add_argument("--pyinstrument", action="store_true", help="sampling profile instead")
    parser.add_argument("--no-profile", action="store_true", help="only the timed pieces")
    args = parser.parse_args(argv)
    print("Hot-path pieces, best of 7 (µs):")
    for scenario, piece, value in pieces(args.number):
        print(f"  {scenario:18} {piece:28} {value:7.3f}")
    if not args.no_profile:
        print()
        print(profile(args.requests, args.pyinstrument))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
