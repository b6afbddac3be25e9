"""Views of the Django test project."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from crossorigin.django import cross_origin

SPECIAL_ORIGIN = "https://special.example"


def items(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"items": 1})
    response.headers["Vary"] = "Accept-Encoding"
    return response


async def async_items(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"items": 2})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


async def async_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("async boom")


def only_post(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return HttpResponse("posted")


@cross_origin(allow_origins=[SPECIAL_ORIGIN], allow_methods=["PUT"])
def special(request: HttpRequest) -> HttpResponse:
    return HttpResponse("special")


@cross_origin(allow_origins=[SPECIAL_ORIGIN])
async def async_special(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async special")
