"""Scan rate of ``crossorigin audit`` on 1 000 local URLs (and CORScanner's, same run).

    python -m benchmarks.audit_rate [--urls 1000] [--corscanner /path/to/venv/bin/python]

One uvicorn server on 127.0.0.1 serves a crossorigin-protected Starlette app under 1 000
distinct paths; a clean app is the worst case for a scanner (no early stop: every probe is
sent). crossorigin audit runs with ``--rate 0`` (no per-host limit: every URL is on one
host) at two concurrency levels; CORScanner, when given, runs its command line's own mode
(50 gevent greenlets, tests one by one) over the same URLs. Prints URLs/s and requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.tools.cors_apps import serve

from crossorigin.asgi import CORSMiddleware
from crossorigin.tools.audit import Settings, audit

TRUSTED = "https://www.target.example"

DRIVER = r"""
import json, os, sys, time
import CORScanner
sys.path.insert(0, os.path.dirname(CORScanner.__file__))
from common.corscheck import CORSCheck  # applies gevent's monkey patching
from common.logger import Log
import gevent
from gevent.queue import Queue
import tldextract
from tldextract import TLDExtract
tldextract.extract = TLDExtract(suffix_list_urls=(), extra_suffixes=["example"])
urls = json.loads(sys.argv[1])
queue = Queue()
for url in urls:
    queue.put(url)
count = [0]
def worker():
    while not queue.empty():
        url = queue.get(timeout=1.0)
        CORSCheck(url, {"logger": Log(None, print_level=4), "headers": None}).check_one_by_one()
        count[0] += 1
started = time.perf_counter()
gevent.joinall([gevent.spawn(worker) for _ in range(50)])
print(json.dumps({"urls": count[0], "seconds": time.perf_counter() - started}))
"""

# CORScanner's check_one_by_one on a URL with no finding: 10 tests, 6 third-party origins and
# 23 special characters (https_trust_http is skipped for http URLs).
CORSCANNER_REQUESTS_PER_CLEAN_URL = 1 + 1 + 1 + 1 + 1 + 1 + 6 + 23 + 1


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["n"]})


def app() -> CORSMiddleware:
    inner = Starlette(routes=[Route("/items/{n}", item)])
    return CORSMiddleware(inner, allow_origins=[TRUSTED], allow_credentials=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_rate")
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--corscanner", help="the Python of a virtualenv with corscanner")
    args = parser.parse_args(argv)
    server, thread, base = serve(app(), http="httptools")
    urls = [f"{base}/items/{n}" for n in range(args.urls)]
    rows: list[tuple[str, int, int, float]] = []
    try:
        for concurrency in (8, 32):
            settings = Settings(origin=TRUSTED, rate=0, concurrency=concurrency)
            started = time.perf_counter()
            reports = asyncio.run(audit(urls, settings))
            seconds = time.perf_counter() - started
            assert all(r.error is None and not r.findings for r in reports)
            requests = sum(r.requests for r in reports)
            rows.append(
                (
                    f"crossorigin audit --rate 0 --concurrency {concurrency}",
                    len(urls),
                    requests,
                    seconds,
                )
            )
        if args.corscanner:
            done = subprocess.run(
                [args.corscanner, "-c", DRIVER, json.dumps(urls)],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(
                (
                    "CORScanner 0.9.7 (50 greenlets)",
                    int(data["urls"]),
                    int(data["urls"]) * CORSCANNER_REQUESTS_PER_CLEAN_URL,
                    float(data["seconds"]),
                )
            )
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    print("| scanner | URLs | requests | seconds | URLs/s | requests/s |")
    print("|---|---|---|---|---|---|")
    for name, count, requests, seconds in rows:
        print(
            f"| {name} | {count} | {requests} | {seconds:.1f} | {count / seconds:.0f} | "
            f"{requests / seconds:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
