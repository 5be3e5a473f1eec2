"""Provider status callbacks. Signatures are checked against the URL the
provider called, rebuilt from PORTAL_BASE_URL (never the Host header, which a
proxy may rewrite); forged or unsigned callbacks are refused."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notices import receipts
from notices.channels.twilio import twilio_signature


def _sms_provider(name: str) -> dict | None:
    return next((p for p in settings.SMS_PROVIDERS if p["name"] == name), None)


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest, provider: str, reference: str) -> HttpResponse:
    config = _sms_provider(provider)
    token = (config or {}).get("auth_token", "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return HttpResponse(status=403)
    url = settings.PORTAL_BASE_URL + request.get_full_path()
    params = {key: request.POST.get(key, "") for key in request.POST}
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500 otherwise).
    expected = twilio_signature(token, url, params).encode()
    if not hmac.compare_digest(expected, signature.encode()):
        return HttpResponse(status=403)
    provider_status = params.get("MessageStatus", "")
    status = receipts.TWILIO_STATUSES.get(provider_status)
    if status is not None:
        receipts.record_receipt(
            reference=reference,
            provider=provider,
            provider_status=provider_status,
            status=status,
            provider_id=receipts.text(params.get("MessageSid", "")),
            error=receipts.text(params.get("ErrorCode", "")),
        )
    return HttpResponse(status=204)
