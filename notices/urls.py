from __future__ import annotations

from django.urls import path

from notices import preferences, views, webhooks
from portal.public_pages import cached_for_visitors

app_name = "notices"

urlpatterns = [
    path("notices/", views.notice_index, name="index"),
    # Polled by feed readers: one shared copy per language a minute, as the pages.
    path("notices/feed.atom", cached_for_visitors(views.NoticeFeed()), name="feed"),
    path("notices/<slug:slug>/", views.notice_detail, name="notice"),
    path("verify", views.verify, name="verify"),
    path("report", views.report, name="report"),
    path("report/thanks", views.report_thanks, name="report_thanks"),
    path("messages/", views.messages_page, name="messages"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("help/", views.help_page, name="help"),
    path("outbox/", views.outbox, name="outbox"),
    path(
        # A reference is a slug (portal.codes.ALPHABET); anything else, a NUL
        # character included (a 500 on PostgreSQL), is a 404.
        "webhooks/sms/<slug:provider>/<slug:reference>",
        webhooks.sms_status,
        name="sms_status",
    ),
]
