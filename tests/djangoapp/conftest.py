"""Django settings for the crossorigin.django tests.

Configured once for the session; each test also runs under ``override_settings`` with the
same values, so the tests hold even if another part of the suite configured Django first.
"""

from __future__ import annotations

from collections.abc import Iterator

import django
import pytest
from django.conf import settings
from django.core import checks
from django.test import override_settings

from crossorigin.django import check_settings

BASE_SETTINGS: dict[str, object] = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["*"],
    "SECRET_KEY": "crossorigin-tests-only",
    "ROOT_URLCONF": "tests.djangoapp.urls",
    "MIDDLEWARE": [
        "crossorigin.django.CorsMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
    "CORS_ALLOWED_ORIGINS": ["https://app.example"],
}

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["crossorigin.django.CrossOriginConfig"],
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **BASE_SETTINGS,
    )
django.setup()
# CrossOriginConfig.ready() registers the check; do it here too in case another part of
# the suite configured Django without our app (registering twice is harmless).
checks.register(check_settings, checks.Tags.security)


@pytest.fixture(autouse=True)
def project_settings() -> Iterator[None]:
    with override_settings(**BASE_SETTINGS):
        yield
