"""A Django project for the compatibility tests: django-cors-headers' README setup.

Django is configured once per process; whichever test package configures it first, every
test here runs under ``override_settings(**project(...))`` so the values below hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import override_settings
from django.urls import path, re_path

from crossorigin.django import cross_origin

ROOT_URLCONF = "tests.compat.django_project"

INCUMBENT = "corsheaders.middleware.CorsMiddleware"
OURS = "crossorigin.django.CorsMiddleware"


def project(middleware: str, **cors: object) -> dict[str, object]:
    """Settings of the project with one CORS middleware: the migration changes only
    ``INSTALLED_APPS`` and ``MIDDLEWARE``, never the ``CORS_*`` values."""
    app = "corsheaders" if middleware == INCUMBENT else "crossorigin.django.CrossOriginConfig"
    return {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": ROOT_URLCONF,
        "INSTALLED_APPS": [app],
        "MIDDLEWARE": [middleware, "django.middleware.common.CommonMiddleware"],
        **cors,
    }


@contextmanager
def overridden(middleware: str, **cors: object) -> Iterator[None]:
    """The project's settings with exactly the ``cors`` settings: any other ``CORS_*`` or
    ``CROSSORIGIN_*`` setting (another test package's base configuration) is hidden."""
    with override_settings(**project(middleware, **cors)):
        for name in dir(settings):
            if name.startswith(("CORS_", "CROSSORIGIN_")) and name not in cors:
                delattr(settings, name)
        yield


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def wsgi_served(application: Any) -> Iterator[str]:
    """``application`` under a threaded WSGI server on 127.0.0.1: its ``host:port``."""
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


if not settings.configured:
    settings.configure(
        SECRET_KEY="crossorigin-tests-only",
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **project(OURS),
    )
    django.setup()


def items(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"items": [1, 2], "method": request.method})
    response["X-Total"] = "2"
    return response


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def named(name: str) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        return HttpResponse(name)

    return view


@cross_origin(allow_origins=["https://partner.example"])
def decorated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("decorated")


urlpatterns = [
    path("api/items", items),
    path("api/boom", boom),
    path("api/admin/users", named("admin")),
    # Catch-alls: Django hands them whatever follows, dot segments included.
    path("api/admin/<path:rest>", named("admin-any")),
    path("api/public/<path:rest>", named("public-any")),
    re_path(r"^api/decorated$", decorated),
    path("other", items),
]
