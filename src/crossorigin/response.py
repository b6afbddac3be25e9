"""Applying a :class:`~crossorigin.decision.Decision` to a response's header list.

Shared by every adapter (ASGI byte pairs, WSGI string pairs), so the rules live once:
the app's own ``Access-Control-*`` headers are dropped (the policy owns them), ``Vary`` is
merged without duplicates, and ``Vary: *`` is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, AnyStr, Generic, cast

from .decision import Decision, sanitize

logger = logging.getLogger("crossorigin")


@dataclass(frozen=True, slots=True)
class _Spelling(Generic[AnyStr]):
    """The literals the merge needs, spelled as bytes (ASGI) or str (WSGI)."""

    prefix: AnyStr
    vary: AnyStr
    comma: AnyStr
    star: AnyStr
    separator: AnyStr


_BYTES = _Spelling(b"access-control-", b"vary", b",", b"*", b", ")
_STR = _Spelling("access-control-", "vary", ",", "*", ", ")


# First characters of the only response header names the merge must look at
# (``access-control-*`` and ``vary``, any case): as bytes items (ints) and as str.
_SPECIAL_FIRST = frozenset((*b"aAvV", "a", "A", "v", "V"))
_VARY_NAMES: dict[type, Any] = {bytes: b"vary", str: "vary"}


def add_cors_headers(
    app_headers: Iterable[tuple[AnyStr, AnyStr]],
    cors_headers: Sequence[tuple[AnyStr, AnyStr]],
    vary: AnyStr,
) -> list[tuple[AnyStr, AnyStr]]:
    """:func:`merge_response_headers`, fast when nothing clashes; bytes (ASGI) or str (WSGI).

    Most responses carry no ``Access-Control-*`` or ``Vary`` header of their own: one look
    at each name's first character proves it, and the result is then a plain
    concatenation. Anything else (a name starting with a or v, an empty name, a malformed
    pair) takes the full merge, so the result is always the same.
    """
    headers: list[tuple[AnyStr, AnyStr]] = (
        app_headers if type(app_headers) is list else list(app_headers)
    )
    try:
        for name, _ in headers:
            if name[0] in _SPECIAL_FIRST:
                break
        else:
            merged = headers.copy()
            merged.extend(cors_headers)
            if vary:
                merged.append((_VARY_NAMES[type(vary)], vary))
            return merged
    except (IndexError, TypeError, ValueError):  # an empty name or a malformed pair
        pass
    return merge_response_headers(headers, cors_headers, vary)


# The WSGI adapters' name for the same function (kept: str pairs read better at call sites).
add_cors_str_headers = add_cors_headers


def merge_response_headers(
    app_headers: Iterable[tuple[AnyStr, AnyStr]],
    cors_headers: Sequence[tuple[AnyStr, AnyStr]],
    vary: AnyStr,
) -> list[tuple[AnyStr, AnyStr]]:
    """The app's headers minus its ``Access-Control-*`` ones, plus ours, ``Vary`` merged.

    Works on ``bytes`` pairs (ASGI) and ``str`` pairs (WSGI) alike; header names are
    compared case-insensitively. ``vary`` is the token list to add (empty for none).
    """
    spelling: _Spelling[AnyStr] = cast(Any, _BYTES if isinstance(vary, bytes) else _STR)
    prefix = spelling.prefix
    vary_name = spelling.vary
    merged: list[tuple[AnyStr, AnyStr]] = []
    app_vary: list[tuple[AnyStr, AnyStr]] = []
    for pair in app_headers:
        name = pair[0].lower()
        if name.startswith(prefix):
            continue
        if name == vary_name:
            app_vary.append(pair)
        else:
            merged.append(pair)
    merged.extend(cors_headers)
    if not vary:
        merged.extend(app_vary)
    elif app_vary:
        values = [value for _, value in app_vary]
        merged.append((vary_name, _merged_vary(values, vary, spelling)))
    else:
        merged.append((vary_name, vary))
    return merged


def _merged_vary(app_values: list[AnyStr], vary: AnyStr, spelling: _Spelling[AnyStr]) -> AnyStr:
    """One Vary value: the app's tokens first, then ours that are missing; ``*`` wins."""
    tokens: list[AnyStr] = []
    seen: set[AnyStr] = set()
    values = list(app_values)
    values.append(vary)
    for value in values:
        for token in value.split(spelling.comma):
            token = token.strip()
            key = token.lower()
            if not token or key in seen:
                continue
            if token == spelling.star:
                return spelling.star  # "Vary: *" already says every request differs
            seen.add(key)
            tokens.append(token)
    return spelling.separator.join(tokens)


def log_refusal(decision: Decision, method: str, path: str) -> None:
    """Log why a request was refused, at DEBUG on the ``crossorigin`` logger, sanitised."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    reasons = "; ".join(refusal.message for refusal in decision.refusals)
    logger.debug(
        "refused %s %s %s: %s",
        decision.kind.value,
        sanitize(method, 20),
        sanitize(path, 200),
        reasons,
    )


def log_non_canonical(preflight: bool, method: str, path: str) -> None:
    """Log, at DEBUG, a CORS request refused any grant because its path is not canonical."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    logger.debug(
        "refused %s %s %s: the path is not in canonical form ('//', '.' or '..' segments, "
        "a backslash or an encoded slash), so no route rule grants it",
        "preflight" if preflight else "actual",
        sanitize(method, 20),
        sanitize(path, 200),
    )


def passthrough_headers(decision: Decision) -> tuple[tuple[tuple[bytes, bytes], ...], bytes]:
    """A preflight decision split for an app's own answer: its headers minus ``Vary``, and
    the ``Vary`` tokens to merge with the app's (a refused preflight keeps only those)."""
    headers = tuple(pair for pair in decision.headers if pair[0] != b"vary")
    vary = b", ".join(value for name, value in decision.headers if name == b"vary")
    return headers, vary
