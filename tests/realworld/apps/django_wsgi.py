"""Django's WSGI application for the matrix (settings in :mod:`.django_project`)."""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application

from . import django_project  # noqa: F401 - configures the settings first

app = get_wsgi_application()
