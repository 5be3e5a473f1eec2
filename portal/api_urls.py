"""/api/v1/: the mobile app's API. /api/schema/ and /api/docs/ describe it."""

from __future__ import annotations

from django.urls import path

from customers import api as customers_api
from notices import api as notices_api

app_name = "api"

urlpatterns = [
    path("me", customers_api.MeView.as_view(), name="me"),
    path("me/contact", notices_api.ContactStartView.as_view(), name="contact"),
    path("me/contact/confirm", notices_api.ContactConfirmView.as_view(), name="contact_confirm"),
    path("incidents", customers_api.IncidentListView.as_view(), name="incidents"),
    path("exposures", customers_api.ExposureListView.as_view(), name="exposures"),
    path("steps/<slug:code>/done", customers_api.StepDoneView.as_view(), name="step_done"),
    path("messages", notices_api.MessageListView.as_view(), name="messages"),
    path("notices", notices_api.NoticeListView.as_view(), name="notices"),
    path("notices/<slug:slug>", notices_api.NoticeDetailView.as_view(), name="notice"),
    path("devices", notices_api.DeviceListView.as_view(), name="devices"),
    path("devices/<str:device_id>", notices_api.DeviceDetailView.as_view(), name="device"),
    path("verify", notices_api.VerifyView.as_view(), name="verify"),
    path("health", notices_api.HealthView.as_view(), name="health"),
]
