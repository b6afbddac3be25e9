"""Django, under WSGI (``wsgi``) and ASGI (``asgi``), with ``crossorigin.django`` wired
through the django-cors-headers settings it reads."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from .common import ALLOWED_ORIGIN, Boom, echo

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="matrix-test-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["crossorigin.django.CrossOriginConfig"],
        MIDDLEWARE=["crossorigin.django.CorsMiddleware"],
        CORS_ALLOWED_ORIGINS=[ALLOWED_ORIGIN],
        CORS_ALLOW_METHODS=["GET", "PUT"],
        CORS_ALLOW_HEADERS=["Content-Type", "Authorization"],
        CORS_EXPOSE_HEADERS=["X-Framework"],
        LOGGING_CONFIG=None,
    )


def data(request: HttpRequest) -> HttpResponse:
    if request.method == "PUT":
        return JsonResponse(echo("django", request.body, request.headers.get("Authorization")))
    response = JsonResponse({"framework": "django"})
    response["X-Framework"] = "django"
    return response


def boom(request: HttpRequest) -> HttpResponse:
    raise Boom("django")


urlpatterns = [path("api/data", data), path("api/boom", boom)]
