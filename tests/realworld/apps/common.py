"""What every matrix app shares: the policy, read from the environment the test sets."""

from __future__ import annotations

import os
from typing import Any

from crossorigin import CORSPolicy

#: The one page origin the policy grants (the tests serve the page there).
ALLOWED_ORIGIN = os.environ.get("MATRIX_ALLOWED_ORIGIN", "http://localhost:8000")

OPTIONS: dict[str, Any] = {
    "allow_origins": [ALLOWED_ORIGIN],
    "allow_methods": ["GET", "PUT"],
    "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Framework"],
}
POLICY = CORSPolicy(**OPTIONS)


class Boom(RuntimeError):
    """What /api/boom raises: the browser must see a 500, not a CORS error."""


def echo(framework: str, body: bytes, authorization: str | None) -> dict[str, Any]:
    return {"framework": framework, "received": body.decode(), "authorization": authorization}
