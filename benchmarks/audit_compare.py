"""``crossorigin audit`` and CORScanner side by side, on the same zoo, in one run.

    python -m benchmarks.audit_compare --corscanner /path/to/venv/bin/python

CORScanner (PyPI ``corscanner``, gevent + requests) is installed in a separate virtualenv
(its pins clash with this project's); pass that venv's Python. Every zoo server
(``tests/tools/audit_zoo.py``) is started over TLS with a throw-away self-signed
certificate, and both tools are given the same https URL whose host is the site's own name
(``www.target.example``, ``myapp.vercel.app``), resolved to 127.0.0.1 inside each tool's
process. CORScanner runs every one of its tests per URL (``check_all_in_parallel``, more
than its command line's stop-at-the-first-finding mode); crossorigin audit runs with its
defaults (``--hosting own``) and, on the shared-hosting servers, with ``--hosting all``.

Prints a Markdown table (docs/audit.md) and the time each tool took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.tools.audit_zoo import GOOD, ZOO, Animal, running

from crossorigin.tools.audit import Settings, audit
from crossorigin.tools.audit_probes import private_section_suffixes

# CORScanner's test names -> the audit rule for the same class.
CORSCANNER_RULES = {
    "reflect_origin": "reflect-any-origin",
    "prefix_match": "prefix-match",
    "suffix_match": "suffix-match",
    "trust_null": "null-origin",
    "include_match": "substring-match",
    "not_escape_dot": "unescaped-dot",
    "custom_third_parties": "third-party-hosting",
    "special_characters_bypass": "special-characters",
    "trust_any_subdomain": "arbitrary-subdomain",
    "https_trust_http": "http-origin-trusted",
}

# Runs inside CORScanner's virtualenv: argv[1] is {"urls": [...], "hosts": [...]}.
DRIVER = r"""
import json, os, socket, sys, time
import CORScanner
sys.path.insert(0, os.path.dirname(CORScanner.__file__))
from common.corscheck import CORSCheck  # applies gevent's monkey patching
from common.logger import Log
import tldextract
from tldextract import TLDExtract
# No network here: use the snapshot of the Public Suffix List that tldextract ships, told that
# the reserved .example is a suffix (as the list's default rule makes any unlisted TLD).
tldextract.extract = TLDExtract(suffix_list_urls=(), extra_suffixes=["example"])
plan = json.loads(sys.argv[1])
hosts = set(plan["hosts"])
real = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    name = host.decode("ascii") if isinstance(host, bytes) else host
    return real("127.0.0.1" if name in hosts else host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
started = time.perf_counter()
out = {}
for url in plan["urls"]:
    cfg = {"logger": Log(None, print_level=4), "headers": None}
    out[url] = [[r["type"], r["credentials"]] for r in CORSCheck(url, cfg).check_all_in_parallel()]
print(json.dumps({"results": out, "seconds": time.perf_counter() - started}))
"""


@contextmanager
def certificate(hosts: list[str]) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        names = ",".join(f"DNS:{h}" for h in hosts)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                f"/CN={hosts[0]}",
                "-addext",
                f"subjectAltName={names}",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        yield str(cert), str(key)


@contextmanager
def resolve_to_loopback(hosts: set[str]) -> Iterator[None]:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # anyio (under httpx) passes the host IDNA-encoded, as bytes.
        name = host.decode("ascii") if isinstance(host, bytes) else host
        return real("127.0.0.1" if name in hosts else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def url_of(animal: Animal) -> str:
    host = urlsplit(animal.origin).hostname
    port = urlsplit(animal.base).port
    return f"https://{host}:{port}/api/me"


def ours(animals: list[Animal], hosts: set[str], hosting: tuple[str, ...]) -> tuple[Any, float]:
    found: dict[str, set[str]] = {}
    started = time.perf_counter()
    with resolve_to_loopback(hosts):
        for animal in animals:
            settings = Settings(
                origin=animal.origin, rate=0, concurrency=16, verify=False, hosting=hosting
            )
            (report,) = asyncio.run(audit([url_of(animal)], settings))
            found[animal.name] = {
                f"{f.rule}{'*' if f.credentials else ''}" for f in report.findings
            } | ({f"error: {report.error}"} if report.error else set())
    return found, time.perf_counter() - started


def corscanner(python: str, animals: list[Animal], hosts: set[str]) -> tuple[Any, float]:
    plan = {"urls": [url_of(a) for a in animals], "hosts": sorted(hosts)}
    done = subprocess.run(
        [python, "-c", DRIVER, json.dumps(plan)], capture_output=True, text=True, check=True
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    found = {
        animal.name: {
            CORSCANNER_RULES[kind] + ("*" if credentials == "true" else "")
            for kind, credentials in data["results"][url_of(animal)]
        }
        for animal in animals
    }
    return found, float(data["seconds"])


def _cell(found: set[str], expected: frozenset[str]) -> str:
    bare = {f.rstrip("*") for f in found}
    hits = sorted(found & {*expected, *(e + "*" for e in expected)} or found)
    missing = sorted(expected - bare)
    extra = sorted(bare - expected)
    text = ", ".join(hits) if bare & expected else ""
    if missing:
        text += (" " if text else "") + "**missed** " + ", ".join(missing)
    if extra:
        text += (" " if text else "") + "**extra** " + ", ".join(extra)
    return text or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_compare")
    parser.add_argument(
        "--corscanner", required=True, help="the Python of a virtualenv with corscanner installed"
    )
    args = parser.parse_args(argv)
    animals = ZOO + GOOD
    hosts = {urlsplit(a.origin).hostname or "" for a in animals}
    with certificate(sorted(hosts)) as tls, running(animals, tls=tls):
        mine, mine_seconds = ours(animals, hosts, ())
        # Some 3,400 extra requests per URL: run only where shared hosting is the question.
        hosted = [a for a in animals if "hosting" in a.name or "github" in a.name]
        mine_all, mine_all_seconds = ours(hosted, hosts, private_section_suffixes())
        theirs, theirs_seconds = corscanner(args.corscanner, animals, hosts)
    print("| server | expected | crossorigin audit | with `--hosting all` | CORScanner 0.9.7 |")
    print("|---|---|---|---|---|")
    for animal in animals:
        # A good app's "expected" are info-level notes, not findings: not reporting one is
        # no miss.
        expected = frozenset() if animal in GOOD else animal.expected
        shown = ", ".join(sorted(expected)) or (
            f"none (note: {', '.join(sorted(animal.expected))})" if animal.expected else "none"
        )
        print(
            f"| {animal.name} | {shown} | "
            f"{_cell(mine[animal.name], expected)} | "
            f"{_cell(mine_all[animal.name], expected) if animal.name in mine_all else '—'} | "
            f"{_cell(theirs[animal.name], expected)} |"
        )
    print()
    print("`*`: reported as exploitable with credentials.")
    print(
        f"time: crossorigin audit {mine_seconds:.1f} s ({len(animals)} URLs, one at a time), "
        f"with --hosting all {mine_all_seconds:.1f} s ({len(hosted)} URLs), "
        f"CORScanner {theirs_seconds:.1f} s ({len(animals)} URLs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
