"""``crossorigin check``: play the browser against a live server and explain the verdict.

The protocol knowledge lives in :mod:`crossorigin.browser` (pure); this module only sends
the requests it asks for (httpx, redirects handled by the browser logic, never by httpx),
probes for reflected origins, and prints the report (rich on a terminal, plain text
otherwise, JSON with ``--json``).

Exit status: 0 the browser would allow the request, 1 it would block it, 2 it could not be
checked (bad arguments, network error, a POST that would go out unannounced without --send).

Side effects: only GET and HEAD requests are sent as themselves unless ``--send`` is given;
for any other method the preflight is the last thing sent, as it is the question a browser
asks before changing anything.
"""

from __future__ import annotations

import argparse
import http
import json
import os
import secrets
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..browser import (
    CHROMIUM,
    PROFILES,
    Advice,
    Check,
    HTTPRequest,
    HTTPResponse,
    Outcome,
    Profile,
    Request,
    Send,
    Step,
    TransportError,
    fetch,
    normalize_method,
    probe,
    validate_request,
)

if TYPE_CHECKING:
    import httpx

EXIT_ALLOWED = 0
EXIT_BLOCKED = 1
EXIT_ERROR = 2

USER_AGENT = "crossorigin-check"
DEFAULT_TIMEOUT = 10.0
# Enough for any sane redirect chain, far below fetch's 20, so a loop ends quickly.
DEFAULT_MAX_REDIRECTS = 10

# Response headers worth showing next to each step; the rest is noise for CORS.
_SHOWN_RESPONSE_PREFIXES = ("access-control-",)
_SHOWN_RESPONSE_NAMES = frozenset({"vary", "location"})


class UsageError(Exception):
    """Arguments that cannot describe a fetch() call."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Play the browser's side of CORS against a live server: send the preflight (when "
        "the browser would) and the request, and explain what passes, what fails and how to "
        "fix it. Exit status: 0 allowed, 1 blocked, 2 could not check."
    )
    parser.add_argument("url", help="the URL the page fetches, e.g. https://api.example.com/items")
    parser.add_argument(
        "--origin",
        required=True,
        help="the page's origin, as the browser sends it: scheme://host[:port] (or 'null')",
    )
    parser.add_argument(
        "--method", "-X", default="GET", help="the method passed to fetch() (default GET)"
    )
    parser.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header the page sets (repeatable)",
    )
    parser.add_argument(
        "--credentials",
        action="store_true",
        help="the page uses credentials: 'include' (cookies, HTTP auth)",
    )
    parser.add_argument(
        "--private-network",
        action="store_true",
        help="the page is on a public network and the server on a private one",
    )
    parser.add_argument(
        "--browser",
        choices=sorted(PROFILES),
        default=CHROMIUM.name,
        help="whose rules to apply where browsers differ (default chromium)",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable verdict")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds per HTTP exchange (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-redirects",
        type=int,
        default=DEFAULT_MAX_REDIRECTS,
        metavar="N",
        help=f"redirects to follow before giving up (default {DEFAULT_MAX_REDIRECTS})",
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="do not probe with a foreign origin and 'null' for over-broad grants",
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="also send a request whose method is not GET or HEAD (it may change data on "
        "the server); without it, the check stops after the preflight",
    )


# --- checking -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """An :class:`~crossorigin.browser.Outcome` plus the probes and all warnings."""

    outcome: Outcome
    probes: tuple[tuple[HTTPRequest, HTTPResponse], ...]
    advice: tuple[Advice, ...]

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed

    @property
    def verdict(self) -> str:
        if not self.outcome.allowed:
            return "blocked"
        if not self.outcome.unsent:
            return "allowed"
        return "preflight-passed" if self.outcome.steps else "not-checked"

    @property
    def critical(self) -> tuple[Advice, ...]:
        return tuple(a for a in self.advice if a.severity == "critical")


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` as curl writes it."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise UsageError(f"header {text!r} is not of the form 'Name: value'")
    return name.strip(), value.strip()


def http_sender(client: httpx.Client) -> Send:
    """A :data:`~crossorigin.browser.Send` over httpx: one exchange, body never read."""
    import httpx

    def send(request: HTTPRequest) -> HTTPResponse:
        # The browser logic decides what carries cookies; httpx must not replay any it saw.
        client.cookies.clear()
        try:
            built = client.build_request(request.method, request.url, headers=list(request.headers))
            # httpx upper-cases every method; fetch() sends 'patch' as written.
            built.method = request.method
            response = client.send(built, stream=True)
            try:
                pairs = tuple(
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in response.headers.raw
                )
                return HTTPResponse(response.status_code, pairs)
            finally:
                response.close()
        except httpx.TimeoutException as error:
            raise TransportError(
                f"{request.method} {request.url} timed out ({type(error).__name__})"
            ) from error
        except httpx.HTTPError as error:
            raise TransportError(f"{request.method} {request.url} failed: {error}") from error

    return send


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    import httpx

    return httpx.Client(
        follow_redirects=False,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
    )


def check(
    request: Request,
    *,
    profile: Profile = CHROMIUM,
    send: Send | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    probes: bool = True,
    send_unsafe: bool = True,
) -> Report:
    """Check one scenario against a live server; the reusable core of the command.

    ``send_unsafe=False`` stops before a request whose method is not GET or HEAD (the
    command's default; ``--send`` lifts it). Raises :class:`UsageError` for a request
    fetch() would refuse and :class:`~crossorigin.browser.TransportError` when the server
    cannot be reached.
    """
    problems = validate_request(request)
    if problems:
        raise UsageError("; ".join(problems))
    if send is None:
        with make_client(timeout) as client:
            return _check(request, profile, http_sender(client), max_redirects, probes, send_unsafe)
    return _check(request, profile, send, max_redirects, probes, send_unsafe)


def _check(
    request: Request,
    profile: Profile,
    send: Send,
    max_redirects: int,
    probes: bool,
    send_unsafe: bool = True,
) -> Report:
    outcome = fetch(request, send, profile, max_redirects=max_redirects, send_unsafe=send_unsafe)
    advice = list(outcome.advice)
    probed: list[tuple[HTTPRequest, HTTPResponse]] = []
    cross_origin = any(s.kind == "preflight" or _has_origin(s) for s in outcome.steps)
    if probes and cross_origin:
        foreign = f"https://crossorigin-check-{secrets.token_hex(4)}.example"
        candidates = [foreign] + (["null"] if request.origin != "null" else [])
        for origin in candidates:
            try:
                sent, response, found = probe(request, send, origin, profile)
            except TransportError:
                continue  # the verdict stands; a lost probe only loses a warning
            probed.append((sent, response))
            advice.extend(found)
    return Report(outcome, tuple(probed), tuple(dict.fromkeys(advice)))


def _has_origin(step: Step) -> bool:
    return any(name == "Origin" for name, _ in step.request.headers)


# --- rendering ------------------------------------------------------------------------------


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _shown_response_headers(response: HTTPResponse) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in response.headers
        if name.lower().startswith(_SHOWN_RESPONSE_PREFIXES)
        or name.lower() in _SHOWN_RESPONSE_NAMES
    ]


def _shown_request_headers(request: HTTPRequest) -> list[tuple[str, str]]:
    return [(n, v) for n, v in request.headers if n != "Accept" or request.method != "OPTIONS"]


def render_lines(report: Report) -> list[tuple[str, str]]:
    """The report as (text, style) lines; the style is ignored without colour."""
    outcome = report.outcome
    request = outcome.request
    lines: list[tuple[str, str]] = []
    add = lines.append
    mode = "credentials: include" if request.credentials else "no credentials"
    add(
        (
            f"crossorigin check: {request.method} {request.url} from {request.origin} "
            f"({mode}; {outcome.profile.title} rules)",
            "bold",
        )
    )
    if outcome.thrown is not None:
        add(("", ""))
        _render_check(outcome.thrown, add)
        add(("", ""))
        add(("BLOCKED: fetch() throws; nothing is sent.", "bold red"))
        return lines
    if outcome.preflight_reasons:
        add(("Preflight needed: " + "; ".join(outcome.preflight_reasons) + ".", ""))
    elif any(s.kind == "request" and _has_origin(s) for s in outcome.steps):
        add(("No preflight needed: a simple request (safelisted method and headers).", ""))
    add(("", ""))
    for number, step in enumerate(outcome.steps, 1):
        mark = "✓" if step.ok else "✗"
        response = step.response
        title = f"{mark} {number}. {step.kind:<9} {step.request.method} {step.request.url}"
        title += f" -> {response.status} {_reason(response.status)}".rstrip()
        add((title, "bold green" if step.ok else "bold red"))
        if step.note:
            add((f"     ({step.note})", "dim"))
        for name, value in _shown_request_headers(step.request):
            add((f"     > {name}: {value}", "cyan"))
        for name, value in _shown_response_headers(response):
            add((f"     < {name}: {value}", "magenta"))
        for item in step.checks:
            _render_check(item, add)
    if outcome.diagnosis:
        add(
            ("  Diagnosis (the server did not say why; asking one question per preflight):", "bold")
        )
        for item in outcome.diagnosis:
            _render_check(item, add)
    if not outcome.allowed and outcome.steps and outcome.steps[-1].kind == "preflight":
        add(("✗ the request itself is not sent: the browser stops after a failed preflight", "red"))
    if outcome.unsent:
        add((f"… {outcome.unsent}; pass --send to send it and check its response", "yellow"))
    add(("", ""))
    if outcome.allowed and not outcome.unsent:
        names = ", ".join(outcome.readable_header_names) or "(none)"
        add((f"Script can read these response headers: {names}", ""))
        if outcome.preflight_cache_seconds is not None:
            add(
                (
                    f"{outcome.profile.title} caches this preflight for "
                    f"{outcome.preflight_cache_seconds} s.",
                    "",
                )
            )
    if report.critical:
        add(("", ""))
        add(("Critical findings (another site can read your users' data):", "bold red"))
        for advice in report.critical:
            add((f"  !! {advice.message}", "bold red"))
            if advice.fix:
                add((f"     fix: {advice.fix}", ""))
    warnings = [a for a in report.advice if a.severity != "critical"]
    if warnings:
        add(("", ""))
        add(("Warnings (works, but wrong):", "bold yellow"))
        for advice in warnings:
            add((f"  ! {advice.message}", "yellow"))
            if advice.fix:
                add((f"    fix: {advice.fix}", ""))
    add(("", ""))
    if outcome.unsent and outcome.steps:
        add(
            (
                f"PREFLIGHT PASSED: the browser would now send the {_asked_method(outcome)}; "
                "its response was not checked (pass --send).",
                "bold green",
            )
        )
    elif outcome.unsent:
        add(
            (
                f"NOT CHECKED: a browser sends this {_asked_method(outcome)} without a "
                "preflight, so checking it means sending it (pass --send).",
                "bold yellow",
            )
        )
    elif outcome.allowed:
        add(("ALLOWED: the browser lets the page read this response.", "bold green"))
    else:
        count = len(outcome.failures)
        add(
            (
                f"BLOCKED: the browser refuses ({count} problem{'s' if count != 1 else ''} "
                "above; fix them all at once).",
                "bold red",
            )
        )
    return lines


def _asked_method(outcome: Outcome) -> str:
    return normalize_method(outcome.request.method)


def _render_check(item: Check, add: Any) -> None:
    if item.ok:
        add((f"     ✓ {item.summary}", "green"))
        return
    add((f"     ✗ {item.summary}", "red"))
    if item.cause:
        add((f"         cause: {item.cause}", ""))
    if item.fix:
        add((f"         fix:   {item.fix}", ""))
    if item.option:
        add((f"         crossorigin: {item.option}", ""))


def render_text(report: Report) -> str:
    lines = [text for text, _ in render_lines(report)]
    return "\n".join(t for i, t in enumerate(lines) if t or (i and lines[i - 1]))


def print_report(report: Report) -> None:
    from rich.console import Console
    from rich.text import Text

    # rich writes plain text by itself when stdout is not a terminal; NO_COLOR (no-color.org)
    # only removes colour in rich, so bold and the like are dropped here too.
    plain = bool(os.environ.get("NO_COLOR"))
    console = Console(highlight=False, soft_wrap=True, emoji=False, no_color=plain)
    previous = None
    for text, style in render_lines(report):
        if text or previous:
            console.print(Text(text, style="" if plain else style))
        previous = text


def _message(request: HTTPRequest | None, response: HTTPResponse | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if request is not None:
        data["request"] = {
            "method": request.method,
            "url": request.url,
            "headers": [list(pair) for pair in request.headers],
        }
    if response is not None:
        data["response"] = {
            "status": response.status,
            "headers": [list(pair) for pair in response.headers],
        }
    return data


def _check_json(item: Check) -> dict[str, Any]:
    return {
        "code": item.code,
        "ok": item.ok,
        "summary": item.summary,
        "cause": item.cause,
        "fix": item.fix,
        "option": item.option,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The machine-readable verdict printed by ``--json``."""
    outcome = report.outcome
    request = outcome.request
    return {
        "verdict": report.verdict,
        "allowed": outcome.allowed,
        "browser": outcome.profile.name,
        "request": {
            "url": request.url,
            "origin": request.origin,
            "method": request.method,
            "headers": [list(pair) for pair in request.headers],
            "credentials": request.credentials,
            "private_network": request.private_network,
        },
        "preflight": {
            "required": bool(outcome.preflight_reasons),
            "reasons": list(outcome.preflight_reasons),
            "cache_seconds": outcome.preflight_cache_seconds,
        },
        "steps": [
            {
                "kind": step.kind,
                "ok": step.ok,
                "note": step.note,
                **_message(step.request, step.response),
                "checks": [_check_json(c) for c in step.checks],
            }
            for step in outcome.steps
        ],
        "diagnosis": [_check_json(c) for c in outcome.diagnosis],
        "readable_headers": dict(outcome.readable_headers),
        "failures": [_check_json(c) for c in outcome.failures],
        "thrown": None if outcome.thrown is None else _check_json(outcome.thrown),
        "request_sent": not outcome.unsent and outcome.thrown is None,
        "unsent": outcome.unsent,
        "warnings": [
            {"code": a.code, "severity": a.severity, "message": a.message, "fix": a.fix}
            for a in report.advice
        ],
        "probes": [_message(sent, response) for sent, response in report.probes],
    }


# --- the command ----------------------------------------------------------------------------


def _error(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"verdict": "error", "error": message}, indent=2))
    print(f"crossorigin check: could not check: {message}", file=sys.stderr)
    return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    try:
        headers = tuple(parse_header(text) for text in args.header)
        if args.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if args.max_redirects < 0:
            raise UsageError("--max-redirects must be 0 or more")
        request = Request(
            url=args.url,
            origin=args.origin,
            method=args.method,
            headers=headers,
            credentials=args.credentials,
            private_network=args.private_network,
        )
        report = check(
            request,
            profile=PROFILES[args.browser],
            timeout=args.timeout,
            max_redirects=args.max_redirects,
            probes=not args.no_probe,
            send_unsafe=args.send,
        )
    except (UsageError, TransportError) as error:
        return _error(args, str(error))
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print_report(report)
    if report.verdict == "not-checked":
        return EXIT_ERROR
    return EXIT_ALLOWED if report.allowed else EXIT_BLOCKED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crossorigin check")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
