from __future__ import annotations

from django.urls import path

from notices import views

app_name = "notices"

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
]
