"""``make bench-proxy``: ``crossorigin proxy`` against the upstream directly and the Node proxies.

One run, one upstream (Node's http module, ``proxy_upstream.js``), four ways to reach it:
directly, through ``crossorigin proxy`` (one uvicorn worker; with and without its line per
request), through ``cors-anywhere`` and through ``local-cors-proxy`` (both from the npm
registry, installed into the git-ignored ``benchmarks/.proxy-cache`` on first use, run with
the system's Node). Every contender is first checked to answer a CORS request with a grant;
then Debian's ``wrk`` loads it (requests/s, p99 latency, and the contender process's CPU time
per request, which a busy machine disturbs far less than the other two), and a 1 GB download
and a 1 GB upload are streamed through each proxy while its peak memory (VmHWM) is read.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import e2e
from .e2e import free_port
from .run import RESULTS_DIR, machine

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".proxy-cache"
UPSTREAM_JS = ROOT / "benchmarks" / "proxy_upstream.js"
NPM_PACKAGES = ("cors-anywhere@0.4.4", "local-cors-proxy@1.1.0")
ORIGIN = "http://localhost:5173"
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_P99 = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors:(.*)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# local-cors-proxy calls listen(port) on every interface; this keeps it on loopback.
_LCP = (
    "const express = require('express');"
    "const listen = express.application.listen;"
    "express.application.listen = function (port) { return listen.call(this, port, '127.0.0.1'); };"
    "require('local-cors-proxy').startProxy(Number(process.argv[1]), process.argv[2], 'proxy',"
    " false, '*');"
)
_CORS_ANYWHERE = (
    "require('cors-anywhere').createServer({}).listen(Number(process.argv[1]), '127.0.0.1');"
)


@dataclass(frozen=True)
class Contender:
    name: str
    command: list[str] | None  # None: the upstream itself
    port: int
    path: str  # what to prefix to the upstream path


def contenders(upstream: str, port: int) -> list[Contender]:
    python = [sys.executable, "-m", "crossorigin.tools.cli", "proxy", upstream]
    policy = ["--port", str(port), "--allow-origin", ORIGIN]
    node = shutil.which("node") or "node"
    return [
        Contender("upstream directly", None, 0, ""),
        Contender("crossorigin proxy", [*python, *policy, "--quiet"], port, ""),
        # Its line per request goes to /dev/null, as the Node proxies' output does.
        Contender("crossorigin proxy, log lines", [*python, *policy], port, ""),
        Contender("cors-anywhere", [node, "-e", _CORS_ANYWHERE, str(port)], port, f"/{upstream}"),
        Contender("local-cors-proxy", [node, "-e", _LCP, str(port), upstream], port, "/proxy"),
    ]


def install_node_packages() -> str | None:
    """Install the Node proxies into the cache (once); None, or why they cannot be."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return "node and npm are needed for the Node proxies: sudo apt-get install nodejs npm"
    wanted = [CACHE / "node_modules" / name.split("@")[0] / "package.json" for name in NPM_PACKAGES]
    if all(path.exists() for path in wanted):
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), *NPM_PACKAGES],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        return f"npm install failed: {completed.stderr[-500:]}"
    return None


@contextmanager
def started(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "NODE_PATH": str(CACHE / "node_modules")}
    with e2e.started(
        command,
        port,
        str(command[:3]),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    ) as process:
        yield process


def check_grant(url: str, direct: bool) -> str | None:
    """None when the contender answers a CORS request with the upstream's body and a grant."""
    import httpx

    response = httpx.get(url, headers={"Origin": ORIGIN}, timeout=5, trust_env=False)
    if response.status_code != 200 or b"hello" not in response.content:
        return f"status {response.status_code}: {response.text[:200]!r}"
    grant = response.headers.get("access-control-allow-origin")
    if direct:
        return None if grant is None else "the upstream itself sends CORS headers"
    return None if grant in (ORIGIN, "*") else f"no CORS grant (got {grant!r})"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (a figure machine load barely moves)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, seconds: int, connections: int, pid: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    assert wrk is not None
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
        "-H", f"Origin: {ORIGIN}", url,
    ]  # fmt: skip
    cpu_before = cpu_seconds(pid)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    cpu = cpu_seconds(pid) - cpu_before
    output = completed.stdout + completed.stderr
    total = _TOTAL.search(output)
    rps = _RPS.search(output)
    p99 = _P99.search(output)
    if completed.returncode != 0 or rps is None or p99 is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {output}")
    non_2xx = _NON_2XX.search(output)
    errors = _ERRORS.search(output)
    return {
        "requests_per_s": float(rps.group(1)),
        "p99_ms": float(p99.group(1)) * _UNIT_MS[p99.group(2)],
        "cpu_us_per_request": cpu / max(1, int(total.group(1)) if total else 1) * 1e6,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def peak_kib(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return int(values["VmRSS"]), int(values["VmHWM"])


def stream_gigabyte(base: str, pid: int, size: int) -> dict[str, Any]:
    """1 GB down then 1 GB up through the contender; its memory before and at peak."""
    curl = shutil.which("curl")
    assert curl is not None
    subprocess.run(
        [curl, "-sf", "-o", "/dev/null", f"{base}/download?size=1048576"], check=True, timeout=30
    )
    rss_before, _ = peak_kib(pid)
    started_at = time.perf_counter()
    down = subprocess.run(
        [curl, "-sf", "-o", "/dev/null", "-w", "%{size_download}", f"{base}/download?size={size}"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    down_seconds = time.perf_counter() - started_at
    started_at = time.perf_counter()
    with subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE) as source:
        up = subprocess.run(
            [curl, "-sf", "-T", "-", f"{base}/upload"],
            stdin=source.stdout, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
    up_seconds = time.perf_counter() - started_at
    _, peak = peak_kib(pid)
    return {
        "downloaded": int(down.stdout),
        "uploaded": json.loads(up.stdout)["size"],
        "rss_before_mib": rss_before / 1024,
        "peak_mib": peak / 1024,
        "down_mb_per_s": size / down_seconds / 1e6,
        "up_mb_per_s": size / up_seconds / 1e6,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy_bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds (contenders interleaved); medians reported"
    )
    parser.add_argument("--size-mb", type=int, default=1024, help="streamed transfer size (MiB)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    missing = [tool for tool in ("wrk", "curl", "node") if shutil.which(tool) is None]
    if missing:
        print(
            f"make bench-proxy needs {', '.join(missing)}: on Debian/Ubuntu run\n"
            "    sudo apt-get install wrk curl nodejs npm",
            file=sys.stderr,
        )
        return 2
    why = install_node_packages()
    if why is not None:
        print(f"make bench-proxy: {why}", file=sys.stderr)
        return 2
    size = args.size_mb * 1024 * 1024
    results: dict[str, Any] = {
        "meta": machine(),
        "load": {},
        "rounds": {},
        "stream": {},
        "errors": [],
    }
    results["meta"] |= {
        "load": f"wrk -t1 -c{args.connections}, {args.duration} s, median of {args.rounds} "
        "interleaved rounds",
        "upstream": "node http (benchmarks/proxy_upstream.js)",
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "npm_packages": list(NPM_PACKAGES),
    }
    up_port = free_port()
    upstream = f"http://{HOST}:{up_port}"
    with started(["node", str(UPSTREAM_JS), str(up_port)], up_port) as upstream_process:
        for round_index in range(args.rounds):
            for contender in contenders(upstream, free_port()):
                if contender.command is None:
                    base, pid = upstream, None
                    context: Any = _nothing()
                else:
                    base = f"http://{HOST}:{contender.port}{contender.path}"
                    context = started(contender.command, contender.port)
                with context as process:
                    why = check_grant(base + "/hello", contender.command is None)
                    if why is not None:
                        results["errors"].append(f"{contender.name}: {why}")
                        continue
                    measured = (process or upstream_process).pid
                    run_wrk(base + "/hello", 1, args.connections, measured)  # warm-up
                    figures = run_wrk(base + "/hello", args.duration, args.connections, measured)
                    results["rounds"].setdefault(contender.name, []).append(figures)
                    print(
                        f"round {round_index + 1} {contender.name:<30} "
                        f"{figures['requests_per_s']:>9.0f} req/s  "
                        f"p99 {figures['p99_ms']:>7.2f} ms  "
                        f"CPU {figures['cpu_us_per_request']:>5.0f} µs/request",
                        flush=True,
                    )
                    if (
                        round_index == 0
                        and process is not None
                        and size
                        and (contender.name != "crossorigin proxy, log lines")
                    ):
                        pid = process.pid
                        figures = stream_gigabyte(base, pid, size)
                        results["stream"][contender.name] = figures
                        print(
                            f"        {args.size_mb} MiB down {figures['down_mb_per_s']:.0f} MB/s,"
                            f" up {figures['up_mb_per_s']:.0f} MB/s; memory "
                            f"{figures['rss_before_mib']:.0f} MiB before, peak "
                            f"{figures['peak_mib']:.0f} MiB",
                            flush=True,
                        )
    # Medians, not bests: on a shared machine a contender's best round is mostly luck.
    for name, rounds in results["rounds"].items():
        results["load"][name] = {
            key: statistics.median(r[key] for r in rounds)
            for key in ("requests_per_s", "p99_ms", "cpu_us_per_request")
        }
    print()
    print(
        f"{'contender':<30} {'req/s':>9} {'p99 ms':>8} {'CPU µs/req':>10}   "
        f"{args.size_mb} MiB down/up: memory before -> peak"
    )
    for name, figures in results["load"].items():
        stream = results["stream"].get(name)
        memory = f"{stream['rss_before_mib']:.0f} -> {stream['peak_mib']:.0f} MiB" if stream else ""
        print(
            f"{name:<30} {figures['requests_per_s']:>9.0f} {figures['p99_ms']:>8.2f} "
            f"{figures['cpu_us_per_request']:>10.0f}   {memory}"
        )
    for error in results["errors"]:
        print(f"ERROR {error}", file=sys.stderr)
    args.output.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.output / f"proxy-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 1 if results["errors"] else 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
