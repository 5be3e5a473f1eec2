"""django-anymail's email delivery-report webhooks, closed until a secret is set.

Without ANYMAIL_WEBHOOK_SECRET anymail accepts anyone's events, with only a
warning: a forged bounce would send a fall-back message, a forged "delivered"
would stop one and inflate the reach figures. So every tracking webhook answers
404 until the secret (HTTP basic auth, "user:password") is configured, and
anymail then checks it on every request. Inbound mail is not used: not mounted.
"""

from __future__ import annotations

from functools import wraps

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404
from django.urls import URLPattern


def webhooks_open() -> bool:
    return bool(settings.ANYMAIL.get("WEBHOOK_SECRET"))


def _closed_without_secret(view):
    @wraps(view)  # keeps csrf_exempt: providers post without a token
    def guarded(request, *args, **kwargs):
        if not webhooks_open():
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


app_name = anymail_urls.app_name
urlpatterns = [
    URLPattern(pattern.pattern, _closed_without_secret(pattern.callback), None, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if "inbound" not in pattern.name
]
