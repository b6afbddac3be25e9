"""Django settings for the crossorigin.django tests (configured once, per test overridden)."""

from __future__ import annotations

import django
from django.conf import settings

BASE_SETTINGS: dict[str, object] = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["*"],
    "SECRET_KEY": "crossorigin-tests-only",
    "ROOT_URLCONF": "tests.djangoapp.urls",
    "INSTALLED_APPS": ["crossorigin.django.CrossOriginConfig"],
    "MIDDLEWARE": [
        "crossorigin.django.CorsMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
    "DATABASES": {},
    "USE_TZ": True,
    "CORS_ALLOWED_ORIGINS": ["https://app.example"],
    "LOGGING_CONFIG": None,
}

if not settings.configured:
    settings.configure(**BASE_SETTINGS)
    django.setup()
