from __future__ import annotations

from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("account/", views.account, name="account"),
    path("account/sessions/end/", views.end_other_sessions, name="end_other_sessions"),
    path("dashboard/steps/<slug:code>/", views.step_toggle, name="step_toggle"),
    path("language/", views.set_language, name="set_language"),
    path("claim/", views.claim_start, name="claim"),
    path("claim/confirm/", views.claim_confirm, name="claim_confirm"),
]
