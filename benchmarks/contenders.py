"""Every contender, grouped by the server interface they share a bare app with.

Within a group, overheads are taken over that group's ``bare`` contender, and the ratio is
taken against the group's ``incumbent`` (the library people use today for that interface).
"""

from __future__ import annotations

from .apps import bare_asgi, bare_wsgi, flask_app
from .drivers import ASGIDriver, WSGIDriver
from .floor import FloorMiddleware
from .harness import Config, Contender, Driver

_NO_PREFLIGHT = "answers no preflight (reference for actual requests only)"
FLOOR_UNSUPPORTED = dict.fromkeys(
    ("preflight", "refused-preflight", "acrh-commas", "acrh-names"), _NO_PREFLIGHT
)


# --- ASGI -------------------------------------------------------------------------------------


def _asgi_bare(config: Config) -> Driver:
    return ASGIDriver(bare_asgi)


def _asgi_crossorigin(config: Config) -> Driver:
    from crossorigin.asgi import CORSMiddleware

    return ASGIDriver(CORSMiddleware(bare_asgi, **config.crossorigin_options()))


def _asgi_starlette(config: Config) -> Driver:
    from starlette.middleware.cors import CORSMiddleware

    return ASGIDriver(
        CORSMiddleware(
            bare_asgi,
            allow_origins=list(config.origins),
            allow_methods=list(config.methods),
            allow_headers=list(config.headers),
            expose_headers=list(config.expose),
            allow_credentials=config.credentials,
            max_age=config.max_age,
        )
    )


def _asgi_cors(config: Config) -> Driver:
    from asgi_cors import asgi_cors

    # No max_age: asgi-cors 1.0.1 sends it as a str, which ASGI servers reject.
    return ASGIDriver(
        asgi_cors(
            bare_asgi,
            hosts=list(config.origins),
            headers=list(config.headers),
            methods=list(config.methods),
        )
    )


def _asgi_floor(config: Config) -> Driver:
    return ASGIDriver(FloorMiddleware(bare_asgi, config.origins, config.credentials, config.expose))


ASGI = (
    Contender("bare ASGI app", "ASGI", "bare", _asgi_bare),
    Contender(
        "crossorigin.asgi", "ASGI", "crossorigin", _asgi_crossorigin, label="crossorigin.asgi"
    ),
    Contender("Starlette CORSMiddleware", "ASGI", "incumbent", _asgi_starlette),
    Contender(
        "asgi-cors",
        "ASGI",
        "incumbent",
        _asgi_cors,
        unsupported={"credentialed-get": "cannot send Access-Control-Allow-Credentials"},
    ),
    Contender("floor (hand-written)", "ASGI", "floor", _asgi_floor, FLOOR_UNSUPPORTED),
)


# --- WSGI: raw, Flask, Django -------------------------------------------------------------------


def _wsgi_bare(config: Config) -> Driver:
    return WSGIDriver(bare_wsgi)


def _wsgi_crossorigin(config: Config) -> Driver:
    from crossorigin.wsgi import CORSMiddleware

    return WSGIDriver(CORSMiddleware(bare_wsgi, **config.crossorigin_options()))


WSGI = (
    Contender("bare WSGI app", "WSGI", "bare", _wsgi_bare),
    Contender(
        "crossorigin.wsgi", "WSGI", "crossorigin", _wsgi_crossorigin, label="crossorigin.wsgi"
    ),
)


def _flask_bare(config: Config) -> Driver:
    return WSGIDriver(flask_app())


def _flask_crossorigin(config: Config) -> Driver:
    from crossorigin.wsgi import CORSMiddleware

    app = flask_app()
    app.wsgi_app = CORSMiddleware(app.wsgi_app, **config.crossorigin_options())
    return WSGIDriver(app)


def _flask_integration(config: Config) -> Driver:
    from crossorigin.flask import CORS

    # Flask-CORS's option names, the same values the Flask-CORS contender gets.
    app = flask_app()
    CORS(
        app,
        origins=list(config.origins),
        methods=list(config.methods),
        allow_headers=list(config.headers),
        expose_headers=list(config.expose),
        supports_credentials=config.credentials,
        max_age=config.max_age,
    )
    return WSGIDriver(app)


def _flask_cors(config: Config) -> Driver:
    from flask_cors import CORS

    app = flask_app()
    CORS(
        app,
        origins=list(config.origins),
        methods=list(config.methods),
        allow_headers=list(config.headers),
        expose_headers=list(config.expose),
        supports_credentials=config.credentials,
        max_age=config.max_age,
    )
    return WSGIDriver(app)


FLASK = (
    Contender("bare Flask app", "Flask", "bare", _flask_bare),
    Contender(
        "crossorigin.flask CORS(app)",
        "Flask",
        "crossorigin",
        _flask_integration,
        label="crossorigin.flask",
    ),
    Contender(
        "Flask + crossorigin.wsgi (app.wsgi_app wrapped)",
        "Flask",
        "crossorigin",
        _flask_crossorigin,
        label="crossorigin.wsgi (Flask)",
    ),
    Contender("Flask-CORS", "Flask", "incumbent", _flask_cors),
)


def _django_bare(config: Config) -> Driver:
    from . import django_app

    return WSGIDriver(django_app.handler([]))


def _django_crossorigin(config: Config) -> Driver:
    from crossorigin.wsgi import CORSMiddleware

    from . import django_app

    return WSGIDriver(CORSMiddleware(django_app.handler([]), **config.crossorigin_options()))


def _django_integration(config: Config) -> Driver:
    from . import django_app

    # crossorigin's middleware reads the CORS_* settings once, when Django builds the
    # middleware chain; django-cors-headers' are the same settings.
    django_app.setup()
    django_app.apply_cors_settings(config)
    return WSGIDriver(django_app.handler(["crossorigin.django.CorsMiddleware"]))


def _django_cors_headers(config: Config) -> Driver:
    from . import django_app

    def prepare() -> None:
        django_app.apply_cors_settings(config)

    return WSGIDriver(django_app.handler(["corsheaders.middleware.CorsMiddleware"]), prepare)


DJANGO = (
    Contender("bare Django app", "Django", "bare", _django_bare),
    Contender(
        "crossorigin.django CorsMiddleware",
        "Django",
        "crossorigin",
        _django_integration,
        label="crossorigin.django",
    ),
    Contender(
        "Django + crossorigin.wsgi (WSGIHandler wrapped)",
        "Django",
        "crossorigin",
        _django_crossorigin,
        label="crossorigin.wsgi (Django)",
    ),
    Contender("django-cors-headers", "Django", "incumbent", _django_cors_headers),
)


def all_contenders() -> tuple[Contender, ...]:
    from .aiohttp_bench import AIOHTTP

    return ASGI + WSGI + FLASK + DJANGO + AIOHTTP
