"""The policy both middleware test modules (ASGI and WSGI) exercise, and the grant it gives."""

from __future__ import annotations

from typing import Any

ORIGIN = "https://app.example.com"
OTHER = "https://evil.example.net"
OPTIONS: dict[str, Any] = {
    "allow_origins": [ORIGIN],
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["Content-Type", "Authorization", "X-Token"],
    "expose_headers": ["X-Total"],
    "allow_credentials": True,
    "max_age": 600,
}
GRANT = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-credentials": "true",
    "access-control-expose-headers": "X-Total",
}
PREFLIGHT_GRANT = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": "GET, POST, PUT, DELETE",
    "access-control-allow-headers": "Content-Type, Authorization, X-Token",
    "access-control-max-age": "600",
}
# The ASGI middleware takes Starlette's option names, and with them Starlette's always
# allowed request headers (appended to the listed ones).
ASGI_PREFLIGHT_GRANT = {
    **PREFLIGHT_GRANT,
    "access-control-allow-headers": (
        "Content-Type, Authorization, X-Token, Accept, Accept-Language, Content-Language"
    ),
}
