"""Flask, with the Flask-CORS-style integration: ``CORS(app, ...)``."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from crossorigin.flask import CORS

from .common import ALLOWED_ORIGIN, Boom, echo

app = Flask(__name__)
CORS(
    app,
    origins=[ALLOWED_ORIGIN],
    methods=["GET", "PUT"],
    allow_headers=["Content-Type", "Authorization"],
    expose_headers=["X-Framework"],
)


@app.get("/api/data")
def read() -> tuple[dict[str, Any], dict[str, str]]:
    return {"framework": "flask"}, {"X-Framework": "flask"}


@app.put("/api/data")
def write() -> dict[str, Any]:
    return echo("flask", request.get_data(), request.headers.get("Authorization"))


@app.get("/api/boom")
def boom() -> str:
    raise Boom("flask")
