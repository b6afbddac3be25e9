"""What the policy decides for one request: the value every adapter acts on."""

from __future__ import annotations

import enum
from typing import NamedTuple

HeaderPairs = tuple[tuple[bytes, bytes], ...]

_CONTENT_LENGTH_ZERO = (b"content-length", b"0")


class RequestKind(enum.Enum):
    """How the CORS protocol classifies a request (docs/protocol.md, "How a server
    classifies a request")."""

    NOT_CORS = "not-cors"
    """No ``Origin`` header: pass through; only ``Vary`` (or a public ``*`` grant) is added."""
    PREFLIGHT = "preflight"
    """``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``: answered by us."""
    ACTUAL = "actual"
    """Any other request with ``Origin``: the app answers, the grant headers are added."""


class Reason(enum.Enum):
    """Which check refused a request."""

    ORIGIN = "origin"
    METHOD = "method"
    HEADERS = "headers"
    PRIVATE_NETWORK = "private-network"


_EXPLANATIONS: dict[Reason, str] = {
    Reason.ORIGIN: "origin {value} is not allowed",
    Reason.METHOD: "method {value} is not allowed",
    Reason.HEADERS: "request header(s) {value} not allowed",
    Reason.PRIVATE_NETWORK: "private network access ({value}) is not allowed",
}


class Refusal(NamedTuple):
    """One failed check and the request value that failed it (raw, never sanitised here)."""

    reason: Reason
    value: str

    @property
    def message(self) -> str:
        """A one-line explanation, safe to log: the value is sanitised and truncated."""
        return _EXPLANATIONS[self.reason].format(value=sanitize(self.value))


class Decision:
    """The policy's answer for one request. Treat it as immutable; instances are shared.

    - ``kind``: see :class:`RequestKind`.
    - ``allowed``: False when any check failed (then ``refusals`` says which).
    - ``status``: for a preflight, the status to answer with (``preflight_status`` or 403);
      0 otherwise, because the app chooses the status.
    - ``headers``: ready ``(lowercase name, value)`` byte pairs. For a preflight, every
      header of the answer (``Vary`` included); otherwise the headers to add to the app's
      response, which replace any ``Access-Control-*`` header the app set.
    - ``vary``: the ``Vary`` token(s) to merge into the app's response (empty for none). A
      preflight's ``Vary`` is already in ``headers``.
    """

    __slots__ = (
        "_str_headers",
        "_str_pairs",
        "_tail",
        "allowed",
        "headers",
        "kind",
        "refusals",
        "status",
        "vary",
    )

    def __init__(
        self,
        kind: RequestKind,
        allowed: bool,
        headers: HeaderPairs,
        vary: bytes = b"",
        status: int = 0,
        refusals: tuple[Refusal, ...] = (),
    ) -> None:
        self.kind = kind
        self.allowed = allowed
        self.headers = headers
        self.vary = vary
        self.status = status
        self.refusals = refusals
        self._str_headers: tuple[tuple[str, str], ...] | None = None
        self._str_pairs: tuple[tuple[str, str], ...] | None = None
        # What the ASGI adapter appends, built once per (shared) decision so a response
        # costs one list concatenation: for a preflight, every header of the answer;
        # otherwise the grant headers and the Vary pair, for an app response without
        # Vary or Access-Control-* headers of its own. Never handed out: copied first.
        tail = list(headers)
        if kind is RequestKind.PREFLIGHT:
            if status != 204:
                tail.append(_CONTENT_LENGTH_ZERO)
        elif vary:
            tail.append((b"vary", vary))
        self._tail = tail

    @property
    def str_headers(self) -> tuple[tuple[str, str], ...]:
        """``headers`` as ``str`` pairs (latin-1), for WSGI-style interfaces; computed once."""
        cached = self._str_headers
        if cached is None:
            cached = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers)
            self._str_headers = cached
        return cached

    @property
    def str_pairs(self) -> tuple[tuple[str, str], ...]:
        """``str_headers`` and then the ``Vary`` pair, if any: everything to add to an app
        response that has no ``Access-Control-*`` or ``Vary`` header of its own; computed once."""
        cached = self._str_pairs
        if cached is None:
            cached = self.str_headers
            if self.vary:
                cached = (*cached, ("Vary", self.vary.decode("latin-1")))
            self._str_pairs = cached
        return cached

    def __repr__(self) -> str:
        parts = [f"kind={self.kind.name}", f"allowed={self.allowed}"]
        if self.status:
            parts.append(f"status={self.status}")
        if self.headers:
            parts.append(f"headers={list(self.headers)!r}")
        if self.vary:
            parts.append(f"vary={self.vary!r}")
        if self.refusals:
            parts.append(f"refusals={[r.message for r in self.refusals]!r}")
        return f"Decision({', '.join(parts)})"


MAX_LOGGED_LENGTH = 120


_ESCAPES: dict[str, str] = {"\\": "\\\\", "'": "\\'", "\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape(ch: str) -> str:
    known = _ESCAPES.get(ch)
    if known is not None:
        return known
    if ch.isascii() and ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def sanitize(value: str, limit: int = MAX_LOGGED_LENGTH) -> str:
    """Quote a request value for logs, repr-style: always in single quotes, with quotes,
    backslashes, control and non-ASCII characters escaped, so no value can close the quote
    and read like more log text; truncated to ``limit`` characters."""
    truncated = len(value) > limit
    shown = value[:limit]
    if not (shown.isascii() and shown.isprintable()) or "'" in shown or "\\" in shown:
        shown = "".join(map(_escape, shown))
    return f"'{shown}'" + (f"... ({len(value)} chars)" if truncated else "")
