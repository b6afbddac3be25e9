"""URLs of the Django test project."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("api/items", views.items),
    path("api/async", views.async_items),
    path("api/boom", views.boom),
    path("api/async-boom", views.async_boom),
    path("api/only-post", views.only_post),
    path("api/special", views.special),
    path("api/async-special", views.async_special),
    path("other", views.items),
]
