"""Django with WhiteNoise's middleware serving static files, crossorigin's middleware above it.

``MIDDLEWARE`` runs top-down on the way in and bottom-up on the way out, so
``crossorigin.django.CorsMiddleware`` listed first sees WhiteNoise's responses and its policy
replaces WhiteNoise's ``Access-Control-Allow-Origin: *``.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

settings.configure(
    DEBUG=False,
    SECRET_KEY="assets-test-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.staticfiles", "crossorigin.django.CrossOriginConfig"],
    MIDDLEWARE=[
        "crossorigin.django.CorsMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ],
    STATIC_URL="/static/",
    STATIC_ROOT=os.environ["ASSETS_DIR"],
    CORS_ALLOWED_ORIGINS=[os.environ["MATRIX_ALLOWED_ORIGIN"]],
    LOGGING_CONFIG=None,
)
urlpatterns: list[object] = []
app = get_wsgi_application()
