from __future__ import annotations

from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from customers import views as customer_views
from customers.headless import (
    CheckedResetPasswordView,
    CustomerRequestLoginCodeView,
    CustomerRequestPasswordResetView,
    phone_not_managed,
)
from portal.health import healthz, livez
from portal.observability.exposition import metrics_view
from portal.prerender import prerendered
from portal.public_pages import switch_language

urlpatterns = [
    path("", customer_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics_view, name="metrics"),
    path("language/<str:language>/", switch_language, name="switch_language"),
    path("", include("customers.urls")),
    path("", include("notices.urls")),
    # allauth's two pages of a sign-in by code, rendered once per process and
    # filled in per request (portal/prerender.py): everyone asks for them in a storm.
    path(
        "accounts/login/code/",
        prerendered(account_views.request_login_code),
        name="account_request_login_code",
    ),
    path(
        "accounts/login/code/confirm/",
        prerendered(account_views.confirm_login_code, fills=("email",)),
        name="account_confirm_login_code",
    ),
    path("accounts/", include("allauth.urls")),
    path("webhooks/email/", include("portal.email_webhooks")),
    # The app's code request goes through the customer records first.
    path(
        "_allauth/app/v1/auth/code/request",
        CustomerRequestLoginCodeView.as_api_view(client="app"),
    ),
    # A reset goes only to the login the email signs in to, as a code does.
    path(
        "_allauth/app/v1/auth/password/request",
        CustomerRequestPasswordResetView.as_api_view(client="app"),
    ),
    # A reset key must name a user before allauth reads it; phones are not managed here.
    path(
        "_allauth/app/v1/auth/password/reset",
        CheckedResetPasswordView.as_api_view(client="app"),
    ),
    path("_allauth/app/v1/account/phone", phone_not_managed),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    # GET only: DRF's OPTIONS answer has no template for the page's HTML renderer
    # (TemplateDoesNotExist, a 500); any other method is a 405.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema",
            template_name="portal/swagger_ui.html",
            http_method_names=["get", "head"],
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "portal.errors.bad_request"
handler404 = "portal.errors.not_found"
handler500 = "portal.errors.server_error"
