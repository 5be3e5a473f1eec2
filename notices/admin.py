from __future__ import annotations

from django.contrib import admin

from notices.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "to", "subject", "reference"]
    list_filter = ["channel"]
    search_fields = ["=reference"]
