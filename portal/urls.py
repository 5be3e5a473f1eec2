from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from customers import views as customer_views
from portal.health import healthz, livez

urlpatterns = [
    path("", customer_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("", include("customers.urls")),
    path("", include("notices.urls")),
    path("accounts/", include("allauth.urls")),
    path("webhooks/email/", include("anymail.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("admin/", admin.site.urls),
]
