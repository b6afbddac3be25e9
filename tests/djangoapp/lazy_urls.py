"""A URLconf no other test imports: the first request resolving it imports it."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("lazy/special", views.special), path("lazy/items", views.items)]
