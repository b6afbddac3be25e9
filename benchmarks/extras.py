"""The two extra studies of issue 7: cost against the number of configured origins, and
hostile ``Access-Control-Request-Headers`` (time and memory)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .apps import bare_asgi
from .drivers import ASGIDriver
from .harness import (
    Config,
    Expect,
    Request,
    Scenario,
    calibrate,
    check_outcome,
    time_interleaved,
)
from .scenarios import ACRH_COMMAS, ACRH_NAMES, BASE_HEADERS, SCENARIOS

if TYPE_CHECKING:
    from .run import Settings

ACRH_TARGET_MS = 5.0


def _get(origin: str) -> Request:
    return Request("GET", (*BASE_HEADERS, ("Origin", origin)))


def _starlette(origins: list[str], regex: str | None) -> ASGIDriver:
    from starlette.middleware.cors import CORSMiddleware

    return ASGIDriver(
        CORSMiddleware(
            bare_asgi, allow_origins=origins, allow_origin_regex=regex, allow_methods=["GET"]
        )
    )


def _crossorigin(origins: list[str]) -> ASGIDriver:
    from crossorigin.asgi import CORSMiddleware

    return ASGIDriver(CORSMiddleware(bare_asgi, allow_origins=origins))


def _scales() -> list[dict[str, Any]]:
    """Each configuration, the origin it must allow (the last listed: worst for a list scan)."""
    scales: list[dict[str, Any]] = []
    for count in (1, 100, 10_000):
        origins = [f"https://app{index}.example.com" for index in range(count)]
        scales.append(
            {
                "label": f"{count:,} exact origin{'s' if count > 1 else ''}".replace(",", " "),
                "origins": origins,
                "regex": None,
                "allowed": origins[-1],
            }
        )
    tenants = [f"tenant{index}" for index in range(1000)]
    scales.append(
        {
            "label": "1 000 subdomain patterns",
            "origins": [f"https://*.{tenant}.example.com" for tenant in tenants],
            # Starlette has no patterns: the same rule as one regex alternation.
            "regex": r"https://[a-z0-9-]+\.(?:" + "|".join(tenants) + r")\.example\.com",
            "allowed": "https://app.tenant999.example.com",
            "fill_memo": True,
        }
    )
    return scales


def origin_scaling(settings: Settings, errors: list[str]) -> dict[str, Any]:
    refused = "https://evil.example.net"
    bare = ASGIDriver(bare_asgi)
    rows: list[dict[str, Any]] = []
    for scale in _scales():
        ours = _crossorigin(scale["origins"])
        theirs = _starlette([o for o in scale["origins"] if "*" not in o], scale["regex"])
        runs: dict[str, Callable[[int], None]] = {}
        if scale.get("fill_memo"):
            # A full memo table: this origin takes the suffix-table path every time.
            policy = ours.app.policy  # type: ignore[attr-defined]
            for index in range(2048):
                policy.decide("GET", f"https://filler{index}.tenant1.example.com")
        for who, driver in (("crossorigin", ours), ("starlette", theirs)):
            for kind, origin in (("allowed", scale["allowed"]), ("refused", refused)):
                config = Config(origins=(origin,) if kind == "allowed" else ())
                expect: Expect = "allowed" if kind == "allowed" else "refused"
                scenario = Scenario(kind, kind, _get(origin), expect, config=config)
                why = check_outcome(driver.check(scenario.request), scenario, expect)
                if why:
                    errors.append(f"scaling {scale['label']} {who} {kind}: {why}")
                    continue
                runs[f"{who} {kind}"] = driver.loop(scenario.request)
        for kind, origin in (("allowed", scale["allowed"]), ("refused", refused)):
            runs[f"bare {kind}"] = bare.loop(_get(origin))
        names = list(runs)
        loops = [
            settings.fixed_loops or calibrate(runs[n], settings.target_s, settings.max_loops)
            for n in names
        ]
        timings = dict(
            zip(
                names,
                time_interleaved([runs[n] for n in names], loops, settings.repeats),
                strict=True,
            )
        )
        row: dict[str, Any] = {"label": scale["label"], "configured": len(scale["origins"])}
        for name, timing in timings.items():
            if name.startswith("bare"):
                continue
            kind = name.split()[-1]
            pick = attrgetter(f"{settings.statistic}_us")
            row[name] = {
                "median_us": timing.median_us,
                "min_us": timing.min_us,
                "stdev_us": timing.stdev_us,
                "overhead_us": pick(timing) - pick(timings[f"bare {kind}"]),
            }
        rows.append(row)
    return {"rows": rows}


def format_scaling(scaling: dict[str, Any]) -> str:
    columns = (
        "crossorigin allowed",
        "crossorigin refused",
        "starlette allowed",
        "starlette refused",
    )
    lines = [["configured origins", *columns]]
    for row in scaling["rows"]:
        line = [row["label"]]
        for column in columns:
            cell = row.get(column)
            line.append("n/a" if cell is None else f"{cell['overhead_us']:+.2f}")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = ["Cost vs number of configured origins (ASGI overhead over the bare app, µs)"]
    for index, line in enumerate(lines):
        out.append("  ".join(t.ljust(w) for t, w in zip(line, widths, strict=True)))
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# --- hostile Access-Control-Request-Headers ------------------------------------------------


def _peak_bytes(run: Callable[[int], None]) -> int:
    """Peak memory allocated while answering one request (the input itself excluded)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run(1)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _retained_bytes(policy: Any, floods: int) -> int:
    """Memory kept after ``floods`` distinct hostile preflights (must stay ~0: no memo)."""
    values = [f"{ACRH_NAMES}, x-variant-{index}" for index in range(floods)]
    policy.decide("OPTIONS", "https://app.example.com", "PUT", values[0])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for value in values[1:]:
            policy.decide("OPTIONS", "https://app.example.com", "PUT", value)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def adversarial(settings: Settings, errors: list[str]) -> dict[str, Any]:
    from crossorigin import CORSPolicy

    from .contenders import all_contenders
    from .harness import PLAIN

    policy = CORSPolicy(**PLAIN.crossorigin_options())
    floods = {"acrh-commas": ACRH_COMMAS, "acrh-names": ACRH_NAMES}
    result: dict[str, Any] = {"target_ms": ACRH_TARGET_MS, "decide": {}, "peak_bytes": {}}
    for key, value in floods.items():

        def run(count: int, value: str = value) -> None:
            decide = policy.decide
            for _ in range(count):
                decide("OPTIONS", "https://app.example.com", "PUT", value)

        loops = settings.fixed_loops or calibrate(run, settings.target_s, settings.max_loops)
        (timing,) = time_interleaved([run], [loops], settings.repeats)
        result["decide"][key] = {
            "median_ms": timing.median_us / 1000,
            "min_ms": timing.min_us / 1000,
            "max_ms": timing.max_us / 1000,
            "met": timing.median_us / 1000 < ACRH_TARGET_MS,
            "input_bytes": len(value),
        }
    scenarios = {s.key: s for s in SCENARIOS}
    for contender in all_contenders():
        if contender.role in ("bare", "floor"):
            continue
        peaks: dict[str, int] = {}
        for key in floods:
            scenario = scenarios[key]
            driver = contender.build(scenario.config)
            try:
                peaks[key] = _peak_bytes(driver.loop(scenario.request))
            except Exception as error:
                errors.append(f"adversarial {contender.name} {key}: {error}")
        result["peak_bytes"][contender.name] = peaks
    result["retained_bytes_after_100_distinct_floods"] = _retained_bytes(policy, 101)
    return result


def format_adversarial(data: dict[str, Any]) -> str:
    out = [f"Hostile Access-Control-Request-Headers (target < {data['target_ms']:g} ms)"]
    for key, figures in data["decide"].items():
        verdict = "met" if figures["met"] else "MISSED"
        out.append(
            f"  crossorigin decide(), {key} ({figures['input_bytes']:,} bytes): "
            f"{figures['median_ms']:.3f} ms median, {figures['min_ms']:.3f} min, "
            f"{figures['max_ms']:.3f} max  [{verdict}]"
        )
    out.append("  peak memory while answering one request (MB):")
    for name, peaks in data["peak_bytes"].items():
        shown = ", ".join(f"{k} {v / 1e6:.2f}" for k, v in peaks.items())
        out.append(f"    {name}: {shown}")
    retained = data["retained_bytes_after_100_distinct_floods"]
    out.append(f"  crossorigin memory retained after 100 distinct floods: {retained} bytes")
    return "\n".join(out)


# --- construction (issue 10) -----------------------------------------------------------------

CONSTRUCTION_TARGET_S = 1.0

_BUILD = """
import time
started = time.perf_counter()
from crossorigin import CORSPolicy
exact = [f"https://app{i}.example.com" for i in range(10_000)]
patterns = [f"https://*.tenant{i}.example.com" for i in range(100)]
CORSPolicy(allow_origins=exact + patterns, allow_credentials=True)
print(time.perf_counter() - started)
"""


def _construction_cases() -> dict[str, dict[str, Any]]:
    exact = [f"https://app{index}.example.com" for index in range(10_000)]
    patterns = [f"https://*.tenant{index}.example.com" for index in range(100)]
    regexes = [rf"https://([a-z0-9-]+\.)*tenant{index}\.example\.com" for index in range(100)]
    return {
        "10 000 exact origins + 100 subdomain patterns": {
            "allow_origins": exact + patterns,
            "allow_credentials": True,
        },
        "10 000 exact origins + 100 regexes (one alternation)": {
            "allow_origins": exact,
            "allow_origin_regex": "|".join(f"(?:{regex})" for regex in regexes),
            "allow_credentials": True,
        },
    }


def construction(settings: Settings, errors: list[str]) -> dict[str, Any]:
    """Seconds to build a large policy: once in a fresh interpreter (imports and the Public
    Suffix List included), then repeatedly in this one (the list already loaded)."""
    import subprocess
    import sys
    import time

    from crossorigin import CORSPolicy
    from crossorigin.origin_analysis import _check

    done = subprocess.run(
        [sys.executable, "-c", _BUILD], capture_output=True, text=True, check=False
    )
    cold: float | None = None
    if done.returncode == 0:
        cold = float(done.stdout.strip())
    else:
        errors.append(f"construction, fresh interpreter: {done.stderr.strip()[-200:]}")
    rows: dict[str, Any] = {}
    for label, options in _construction_cases().items():
        seconds: list[float] = []
        for _ in range(1 if settings.fixed_loops else max(3, min(settings.repeats, 7))):
            _check.cache_clear()  # every build analyses its regexes afresh
            started = time.perf_counter()
            try:
                CORSPolicy(**options)
            except Exception as error:
                errors.append(f"construction {label}: {error}")
                break
            seconds.append(time.perf_counter() - started)
        if seconds:
            seconds.sort()
            rows[label] = {"median_s": seconds[len(seconds) // 2], "min_s": seconds[0]}
    return {"target_s": CONSTRUCTION_TARGET_S, "cold_s": cold, "rows": rows}


def format_construction(data: dict[str, Any]) -> str:
    out = [f"Policy construction (target < {data['target_s']:g} s)"]
    cold = data["cold_s"]
    if cold is not None:
        verdict = "met" if cold < data["target_s"] else "MISSED"
        out.append(
            "  10 000 exact origins + 100 subdomain patterns, fresh interpreter (imports "
            f"and the Public Suffix List included): {cold:.3f} s  [{verdict}]"
        )
    for label, figures in data["rows"].items():
        verdict = "met" if figures["median_s"] < data["target_s"] else "MISSED"
        out.append(
            f"  {label}: {figures['median_s']:.3f} s median, {figures['min_s']:.3f} min  "
            f"[{verdict}]"
        )
    return "\n".join(out)
