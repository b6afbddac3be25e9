"""A Django project for the compatibility tests: django-cors-headers' README setup.

Django is configured once per process; whichever test package configures it first, every
test here runs under ``override_settings(**project(...))`` so the values below hold.
"""

from __future__ import annotations

from collections.abc import Callable

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
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
