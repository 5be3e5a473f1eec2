"""The site's URLs plus views that fail, for the error-page tests."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path

from portal.urls import handler400, handler404, handler500
from portal.urls import urlpatterns as site_urlpatterns

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("forbidden/", forbidden),
    path("broken/", broken),
    path("api/v1/broken", broken),
    path("_allauth/app/v1/broken", broken),
    *site_urlpatterns,
]
