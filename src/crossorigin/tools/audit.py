"""``crossorigin audit``: can another site read our users' data? A CORS security scanner.

For each target URL it sends crafted ``Origin`` values (and two preflights) and judges each
answer as a browser does (:mod:`crossorigin.tools.audit_probes`, built on
:mod:`crossorigin.browser`). Many targets run concurrently over httpx's async client, with a
global concurrency limit and a per-host rate limit; results are printed as each target
finishes. Only GET (or HEAD) requests and OPTIONS preflights are sent, never a body.

Exit status: 0 nothing at or above ``--fail-on``, 1 findings at or above it, 2 a target
could not be audited (bad URL, unreachable) and nothing at or above ``--fail-on`` was found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from ..browser import HTTPRequest, HTTPResponse
from .audit_probes import (
    RULES,
    SEVERITIES,
    Finding,
    Probe,
    TargetReport,
    judge,
    make_target,
    plan,
    private_section_suffixes,
    psl_version,
    summarise,
)

if TYPE_CHECKING:
    import httpx

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

USER_AGENT = "crossorigin-audit"
DEFAULT_CONCURRENCY = 8
DEFAULT_RATE = 5.0
DEFAULT_TIMEOUT = 10.0
TOOL_URI = "https://pypi.org/project/crossorigin/"

# When the server reflects every origin, the narrower matcher findings only repeat it.
_SUBSUMED_BY_REFLECTION = frozenset(
    {
        "prefix-match",
        "suffix-match",
        "unescaped-dot",
        "substring-match",
        "special-characters",
        "third-party-hosting",
        "arbitrary-subdomain",
        "http-origin-trusted",
    }
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Scan servers for CORS grants another site can abuse: reflected origins, 'null', "
        "prefix/suffix/regex mismatches, shared hosting suffixes, missing Vary, header "
        "injection. Sends only GET (or HEAD) requests and OPTIONS preflights, never a body. "
        "Exit status: 0 clean, 1 findings at or above --fail-on, 2 could not audit."
    )
    parser.add_argument("urls", nargs="*", metavar="URL", help="the URLs to audit")
    parser.add_argument(
        "-i",
        "--input",
        metavar="FILE",
        help="read URLs from FILE, one per line ('-' for stdin; '#' starts a comment)",
    )
    parser.add_argument(
        "--origin",
        help="a front-end origin the site trusts (default: each URL's own origin); the "
        "crafted origins are derived from its host",
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="high",
        help="lowest severity that makes the exit status 1 (default high)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at once, over all hosts (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        metavar="R",
        help=f"requests per second per host (default {DEFAULT_RATE:g}; 0: no limit)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds per request (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--hosting",
        default="own",
        metavar="own|all|SUFFIX,...",
        help="shared-hosting suffixes to try: 'own' (default) the public suffixes of the "
        "target and --origin hosts (e.g. vercel.app), 'all' every suffix of the Public "
        "Suffix List's private section (about 3,400 requests per URL), or a comma list",
    )
    parser.add_argument(
        "--head", action="store_true", help="probe with HEAD instead of GET (lighter answers)"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify TLS certificates (self-signed test servers)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print one JSON object per URL as it finishes"
    )
    output.add_argument("--sarif", action="store_true", help="print a SARIF 2.1.0 log at the end")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )


# --- running ---------------------------------------------------------------------------------


class HostRateLimiter:
    """At most ``rate`` request starts per second per host (0: unlimited), evenly spaced."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_slot: dict[str, float] = {}
        self.clock = clock
        self.sleep = sleep

    async def wait(self, host: str) -> None:
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self.next_slot.get(host, now))
        self.next_slot[host] = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)


@dataclass(frozen=True)
class Settings:
    origin: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float = DEFAULT_RATE
    timeout: float = DEFAULT_TIMEOUT
    hosting: tuple[str, ...] = ()
    method: str = "GET"
    verify: bool = True
    """Verify TLS certificates (off only for self-signed test servers)."""


async def _send(
    client: httpx.AsyncClient,
    request: HTTPRequest,
    limiter: HostRateLimiter,
    gate: asyncio.Semaphore,
) -> HTTPResponse:
    host = urlsplit(request.url).netloc
    async with gate:
        await limiter.wait(host)
        built = client.build_request(request.method, request.url, headers=list(request.headers))
        response = await client.send(built, stream=True)
        try:
            pairs = tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in response.headers.raw
            )
            return HTTPResponse(response.status_code, pairs)
        finally:
            await response.aclose()


async def audit_one(
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    limiter: HostRateLimiter,
    gate: asyncio.Semaphore,
    on_request: Callable[[], None] = lambda: None,
) -> TargetReport:
    """Every probe of one URL; never raises (an error is reported in the result)."""
    import httpx

    report = TargetReport(url)
    try:
        target = make_target(url, settings.origin)
    except ValueError as error:
        report.error = str(error)
        return report
    probes = plan(target, settings.hosting)
    if settings.method != "GET":
        probes = [
            Probe(p.rule, p.origin, p.preflight, settings.method, p.request_headers)
            if not p.preflight
            else p
            for p in probes
        ]

    async def one(probe: Probe) -> list[Finding]:
        sent = probe.request(url)
        try:
            response = await _send(client, sent, limiter, gate)
        finally:
            on_request()
        return judge(url, probe, sent, response)

    recoverable = (httpx.HTTPError, httpx.InvalidURL, ValueError)  # UnicodeError included
    baseline, rest = probes[-1], probes[:-1]
    try:
        # The baseline first: an unreachable host fails once, not once per probe.
        found = await one(baseline)
    except recoverable as error:
        report.error = _describe(error)
        return report
    results = await asyncio.gather(*(one(p) for p in rest), return_exceptions=True)
    report.requests = len(probes)
    failed = [r for r in results if isinstance(r, BaseException)]
    for problem in failed:
        if not isinstance(problem, recoverable):
            raise problem
    report.failed_probes = len(failed)
    findings = summarise(
        [*found, *(f for group in results if not isinstance(group, BaseException) for f in group)]
    )
    if any(f.rule == "reflect-any-origin" for f in findings):
        findings = [f for f in findings if f.rule not in _SUBSUMED_BY_REFLECTION]
    if any(f.rule == "suffix-match" for f in findings):
        # 'wwwxexample.com' also merely ends with 'example.com': the suffix rule explains it.
        findings = [
            f
            for f in findings
            if f.rule != "unescaped-dot"
            or not (urlsplit(f.origin).hostname or "").endswith(target.domain)
        ]
    report.findings = findings
    return report


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def make_client(settings: Settings) -> httpx.AsyncClient:
    import httpx

    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=settings.timeout,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        verify=settings.verify,
    )


async def audit(
    urls: Sequence[str],
    settings: Settings = Settings(),
    on_result: Callable[[TargetReport], None] = lambda report: None,
    on_request: Callable[[], None] = lambda: None,
) -> list[TargetReport]:
    """Audit every URL concurrently; ``on_result`` sees each report as soon as it is done.

    Returns the reports in the order of ``urls``.
    """
    limiter = HostRateLimiter(settings.rate)
    gate = asyncio.Semaphore(max(1, settings.concurrency))
    async with make_client(settings) as client:
        tasks = [
            asyncio.ensure_future(audit_one(client, url, settings, limiter, gate, on_request))
            for url in urls
        ]
        for finished in asyncio.as_completed(tasks):
            on_result(await finished)
        return [task.result() for task in tasks]


def probes_per_url(settings: Settings, url: str) -> int:
    try:
        return len(plan(make_target(url, settings.origin), settings.hosting))
    except ValueError:
        return 0


# --- output ----------------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    rule = finding.info
    return {
        "rule": finding.rule,
        "title": rule.title,
        "severity": finding.severity,
        "url": finding.url,
        "origin": finding.origin,
        "credentials": finding.credentials,
        "critical_with_credentials": rule.with_credentials == "critical",
        "exploit": finding.exploit,
        "fix": rule.fix,
        "option": rule.option,
        "detail": finding.detail,
        "evidence": [list(pair) for pair in finding.evidence],
    }


def report_json(report: TargetReport) -> dict[str, Any]:
    return {
        "url": report.url,
        "audited": report.error is None,
        "error": report.error,
        "requests": report.requests,
        "findings": [finding_json(f) for f in report.findings],
        "dangerous_reflect": report.dangerous_reflect,
    }


_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def render_lines(report: TargetReport) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    add = lines.append
    if report.error is not None:
        add((f"{report.url}: could not audit: {report.error}", "bold red"))
        return lines
    problems = report.at_least("low")
    notes = f" ({len(report.notes)} note{'s' if len(report.notes) != 1 else ''})"
    if not problems:
        add(
            (
                f"{report.url}: no finding{notes if report.notes else ''} "
                f"({report.requests} requests)",
                "green",
            )
        )
    else:
        add(
            (
                f"{report.url}: {len(problems)} finding{'s' if len(problems) != 1 else ''} "
                f"(worst: {problems[0].severity}){notes if report.notes else ''}",
                "bold",
            )
        )
    for finding in report.findings:
        rule = finding.info
        mode = "with credentials" if finding.credentials else "without credentials"
        label = "NOTE" if finding.severity == "info" else finding.severity.upper()
        add((f"  [{label}] {rule.title} ({mode})", _STYLE[finding.severity]))
        add(
            (
                f"      granted:  {finding.origin}"
                + (f" ({finding.detail})" if finding.detail else ""),
                "",
            )
        )
        add((f"      exploit:  {finding.exploit}", ""))
        if not finding.credentials and rule.with_credentials in ("critical", "high"):
            add((f"      with credentials this would be {rule.with_credentials}", "dim"))
        add((f"      fix:      {rule.fix}", ""))
        add((f"      crossorigin: {rule.option}", ""))
    if report.dangerous_reflect:
        add(
            (
                "  note: reflects every origin and 'null' with Vary: Origin, as crossorigin's "
                "dangerously_reflect_any_origin=True (or Express cors({origin: true})) does",
                "dim",
            )
        )
    return lines


def render_text(report: TargetReport) -> str:
    return "\n".join(text for text, _ in render_lines(report))


def summary_line(reports: Sequence[TargetReport], fail_on: str, seconds: float) -> str:
    counts = dict.fromkeys(reversed(SEVERITIES), 0)
    for report in reports:
        for finding in report.findings:
            counts[finding.severity] += 1
    errors = sum(1 for r in reports if r.error is not None)
    requests = sum(r.requests for r in reports)
    notes = counts.pop("info")
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    if notes:
        shown += f" ({notes} note{'s' if notes != 1 else ''})"
    return (
        f"audited {len(reports) - errors} of {len(reports)} URLs ({requests} requests, "
        f"{seconds:.1f} s): {shown}; failing on {fail_on} and above"
    )


_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}
_SARIF_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_log(reports: Sequence[TargetReport], version: str) -> dict[str, Any]:
    """The findings as a SARIF 2.1.0 log: one run, one rule per probe class."""
    rule_ids = list(RULES)
    rules = []
    for rule_id in rule_ids:
        rule = RULES[rule_id]
        rules.append(
            {
                "id": rule_id,
                "name": "".join(part.capitalize() for part in rule_id.split("-")),
                "shortDescription": {"text": rule.title},
                "fullDescription": {
                    "text": f"{rule.title}. Severity {rule.with_credentials} with credentials, "
                    f"{rule.without_credentials} without."
                },
                "help": {"text": f"Fix: {rule.fix}. crossorigin: {rule.option}."},
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.with_credentials]},
                "properties": {
                    "security-severity": _SECURITY_SEVERITY[rule.with_credentials],
                    "tags": ["security", "cors"],
                },
            }
        )
    results = []
    for report in reports:
        for finding in report.findings:
            results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": rule_ids.index(finding.rule),
                    "level": _SARIF_LEVEL[finding.severity],
                    "message": {
                        "text": f"{finding.info.title}: {finding.origin} is granted"
                        f"{' with credentials' if finding.credentials else ''}. "
                        f"{finding.exploit}."
                    },
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": finding.url}}}],
                    "partialFingerprints": {"crossoriginAudit/v1": f"{finding.rule}|{finding.url}"},
                    "properties": {
                        "severity": finding.severity,
                        "security-severity": _SECURITY_SEVERITY[finding.severity],
                        "origin": finding.origin,
                        "credentials": finding.credentials,
                    },
                }
            )
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{report.url}: could not audit: {report.error}"},
        }
        for report in reports
        if report.error is not None
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "crossorigin audit",
                        "version": version,
                        "informationUri": TOOL_URI,
                        "rules": rules,
                    }
                },
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "properties": {"publicSuffixList": psl_version()},
            }
        ],
    }


def exit_status(reports: Sequence[TargetReport], fail_on: str) -> int:
    if any(report.at_least(fail_on) for report in reports):
        return EXIT_FINDINGS
    if any(report.error is not None for report in reports):
        return EXIT_ERROR
    return EXIT_CLEAN


# --- the command -----------------------------------------------------------------------------


def read_urls(args: argparse.Namespace, stdin: TextIO) -> list[str]:
    urls = list(args.urls)
    if args.input:
        if args.input == "-":
            lines: Iterable[str] = stdin.read().splitlines()
        else:
            with open(args.input, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        for line in lines:
            text = line.split("#", 1)[0].strip()
            if text:
                urls.append(text)
    return urls


def _hosting(value: str) -> tuple[str, ...]:
    if value == "own":
        return ()
    if value == "all":
        return private_section_suffixes()
    return tuple(s.strip().lstrip(".").lower() for s in value.split(",") if s.strip())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crossorigin")
    except PackageNotFoundError:
        return "0"


def _fail(message: str) -> int:
    print(f"crossorigin audit: {message}", file=sys.stderr)
    return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    try:
        urls = read_urls(args, sys.stdin)
    except OSError as error:
        return _fail(f"cannot read {args.input}: {error.strerror or error}")
    if not urls:
        return _fail("no URL to audit (give URLs, or -i FILE)")
    if args.concurrency < 1:
        return _fail("--concurrency must be at least 1")
    if args.rate < 0 or args.timeout <= 0:
        return _fail("--rate must be 0 or more and --timeout positive")
    if args.origin:
        try:
            make_target("http://x/", args.origin)
        except ValueError as error:
            return _fail(str(error))
    settings = Settings(
        origin=args.origin,
        concurrency=args.concurrency,
        rate=args.rate,
        timeout=args.timeout,
        hosting=_hosting(args.hosting),
        method="HEAD" if args.head else "GET",
        verify=not args.insecure,
    )
    started = time.perf_counter()
    reports = asyncio.run(_run(urls, settings, args))
    seconds = time.perf_counter() - started
    if args.sarif:
        print(json.dumps(sarif_log(reports, _version()), indent=2))
    elif not args.json:
        print(summary_line(reports, args.fail_on, seconds))
    return exit_status(reports, args.fail_on)


async def _run(urls: list[str], settings: Settings, args: argparse.Namespace) -> list[TargetReport]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    plain = bool(os.environ.get("NO_COLOR"))
    out = Console(highlight=False, soft_wrap=True, emoji=False, no_color=plain)
    # The bar shares the results' console on a terminal (so lines print above it), else it
    # goes to stderr when that is a terminal, else nowhere.
    err = out if out.is_terminal else Console(stderr=True)
    show_progress = err.is_terminal and not args.no_progress
    total = sum(probes_per_url(settings, url) for url in urls)
    progress = Progress(
        TextColumn("auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        console=err,
        transient=True,
        disable=not show_progress,
    )
    task = progress.add_task("audit", total=total)

    def on_request() -> None:
        progress.advance(task)

    def on_result(report: TargetReport) -> None:
        if args.sarif:
            return
        if args.json:
            out.print(json.dumps(report_json(report)), markup=False, highlight=False, crop=False)
            return
        for text, style in render_lines(report):
            out.print(Text(text, style="" if plain else style))

    with progress:
        return await audit(urls, settings, on_result, on_request)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crossorigin audit")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
