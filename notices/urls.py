from __future__ import annotations

from django.urls import path

from notices import views, webhooks

app_name = "notices"

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("messages/", views.messages_page, name="messages"),
    path(
        "webhooks/sms/<slug:provider>/<str:reference>",
        webhooks.sms_status,
        name="sms_status",
    ),
]
