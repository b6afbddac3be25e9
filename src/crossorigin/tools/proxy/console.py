"""One line per request on the terminal: method, path, status, time, the CORS verdict.

The verdict is the policy's own :class:`~crossorigin.Decision` for the request (memoised by
the policy, so asking again costs a dict lookup), with the refusal reasons when it refused.
Lines are coloured on a terminal (rich) and plain when the output is a file or a pipe.
Request values are sanitised before printing: no control characters reach the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from crossorigin import CORSPolicy, RequestKind
from crossorigin.asgi import ASGIApp, Message, Receive, Scope, Send, read_cors_headers
from crossorigin.decision import sanitize

from .config import NOTE

if TYPE_CHECKING:
    from rich.console import Console

PATH_LIMIT = 80


def cors_verdict(policy_for: Callable[[str], CORSPolicy | None], scope: Scope) -> tuple[str, str]:
    """(style, text): what the policy decided for this request, in a few words."""
    origin, request_method, request_headers, private_network = read_cors_headers(scope["headers"])
    if origin is None:
        return "dim", "no Origin"
    policy = policy_for(scope.get("path", ""))
    if policy is None:
        return "yellow", f"no CORS rule for this path ({sanitize(origin, 60)} gets no grant)"
    if scope["type"] == "websocket":
        return "dim", ""  # the proxy's note says what happened to the handshake
    decision = policy.decide(
        scope["method"], origin, request_method, request_headers, private_network
    )
    what = "preflight" if decision.kind is RequestKind.PREFLIGHT else "CORS"
    if decision.allowed:
        return "green", f"{what} ok for {sanitize(origin, 60)}"
    reasons = "; ".join(refusal.message for refusal in decision.refusals)
    return "bold red", f"{what} refused: {reasons}"


def printable(text: str, limit: int) -> str:
    """``text`` with anything unprintable escaped, cut to ``limit`` characters."""
    if not (text.isascii() and text.isprintable()):
        text = "".join(ch if ch.isprintable() and ch.isascii() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_line(
    method: str, path: str, status: int, seconds: float, verdict: tuple[str, str], note: str
) -> list[tuple[str, str]]:
    """The line's parts, each with a rich style."""
    shown_path = printable(path, PATH_LIMIT)
    if status >= 500 or status == 0:
        status_style = "bold red"
    elif status >= 400:
        status_style = "yellow"
    elif status >= 300:
        status_style = "cyan"
    else:
        status_style = "green"
    parts = [
        (time.strftime("%H:%M:%S "), "dim"),
        (f"{printable(method, 12):<7} ", "bold"),
        (shown_path + " ", ""),
        (f"{status or '---'} ", status_style),
        (f"{seconds * 1000:.1f} ms ", "dim"),
    ]
    style, text = verdict
    if text:
        parts.append((text, style))
    if note:
        parts.append(((" · " if text else "") + printable(note, 300), "magenta"))
    return parts


class RequestLog:
    """ASGI wrapper (outermost): prints a line when each request ends; counts in-flight ones."""

    def __init__(
        self,
        app: ASGIApp,
        policy_for: Callable[[str], CORSPolicy | None],
        console: Console | None,
    ) -> None:
        self.app = app
        self.policy_for = policy_for
        self.console = console
        self.in_flight = 0
        self._styles: dict[str, tuple[str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status == 0:
                status = 403
            await send(message)

        self.in_flight += 1
        try:
            await self.app(scope, receive, watch)
        finally:
            self.in_flight -= 1
            if self.console is not None:
                self._print(scope, status, time.perf_counter() - started)

    def _print(self, scope: Scope, status: int, seconds: float) -> None:
        assert self.console is not None
        try:
            verdict = cors_verdict(self.policy_for, scope)
        except Exception:  # the log must never break a request
            verdict = ("dim", "")
        path = scope.get("path", "")
        if scope.get("query_string"):
            path += "?" + bytes(scope["query_string"]).decode("latin-1")
        method = "WS" if scope["type"] == "websocket" else scope.get("method", "")
        parts = format_line(method, path, status, seconds, verdict, str(scope.get(NOTE, "")))
        line = "".join(self._styled(text, style) for text, style in parts)
        # Written directly: rendering through console.print costs about a millisecond a
        # line, more than forwarding the request. The text is already sanitised.
        try:
            self.console.file.write(line + "\n")
            self.console.file.flush()
        except (OSError, ValueError):  # a closed or broken output must not break requests
            pass

    def _styled(self, text: str, style: str) -> str:
        """``text`` wrapped in the terminal's codes for ``style`` (rich decides whether the
        output is a colour terminal: NO_COLOR, pipes and files get plain text)."""
        if not style or not text:
            return text
        codes = self._styles.get(style)
        if codes is None:
            from rich.text import Text

            assert self.console is not None
            with self.console.capture() as captured:
                self.console.print(Text("\0", style=style), end="", soft_wrap=True)
            before, _, after = captured.get().partition("\0")
            codes = self._styles[style] = (before, after)
        return codes[0] + text + codes[1]
