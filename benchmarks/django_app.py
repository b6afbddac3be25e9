"""A minimal Django project configured in-process (no settings module, no database).

Django has one global settings object, so this module configures it once, with
django-cors-headers' settings in it; those are read per request, which is why
:func:`apply_cors_settings` switches them between configurations.
"""

from __future__ import annotations

import importlib
from typing import Any

from .harness import PLAIN, Config

# Django ships no type information; imported dynamically so its names are plain Any.
django: Any = importlib.import_module("django")
settings: Any = importlib.import_module("django.conf").settings
_HttpResponse: Any = importlib.import_module("django.http").HttpResponse
_path: Any = importlib.import_module("django.urls").path


def index(request: Any) -> Any:
    return _HttpResponse(b"ok", content_type="text/plain; charset=utf-8")


urlpatterns = [_path("", index)]

_configured = False


def setup() -> None:
    global _configured
    if _configured:
        return
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only-not-secret",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=["corsheaders"],
            USE_TZ=True,
            # Django's default logging, as a new project has it. crossorigin.django marks
            # its preflight answers as already logged, so a refused preflight's 403 builds
            # no "Forbidden: /" warning.
            DATABASES={},
        )
        django.setup()
    apply_cors_settings(PLAIN)
    _configured = True


def apply_cors_settings(config: Config) -> None:
    settings.CORS_ALLOWED_ORIGINS = list(config.origins)
    settings.CORS_ALLOW_METHODS = list(config.methods)
    settings.CORS_ALLOW_HEADERS = [name.lower() for name in config.headers]
    settings.CORS_EXPOSE_HEADERS = list(config.expose)
    settings.CORS_ALLOW_CREDENTIALS = config.credentials
    settings.CORS_PREFLIGHT_MAX_AGE = config.max_age


def handler(middleware: list[str]) -> Any:
    """A WSGIHandler with exactly these middleware (Django reads the list at construction)."""
    setup()
    wsgi_handler: Any = importlib.import_module("django.core.handlers.wsgi").WSGIHandler
    settings.MIDDLEWARE = middleware
    try:
        return wsgi_handler()
    finally:
        settings.MIDDLEWARE = []
