from __future__ import annotations

import logging

from anymail.exceptions import AnymailAPIError
from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from customers.import_jobs import IMPORT_TIME_LIMIT
from portal import send_slots
from portal.transactional import transactional_message_record, transactional_message_sent

logger = logging.getLogger(__name__)


# A provider that throttles (429) or fails (5xx) during a sign-in storm must
# not lose the code: retried with back-off, as a network error is.
@shared_task(
    time_limit=60,
    soft_time_limit=50,
    autoretry_for=(OSError, AnymailAPIError),
    retry_backoff=True,
    max_retries=5,
)
def send_transactional_email(
    message: dict, slot_at: float | None = None, provider: str = ""
) -> None:
    """Send one transactional email (sign-in code, verification) rendered in the web request.

    Its reference is recorded before it is sent and vouched for once sent. It
    takes a slot of the email provider's rate, shared with campaigns: on the
    day of a breach a campaign must not use up the rate and get codes refused.
    """
    reference = message.get("reference")
    if reference:
        transactional_message_record(reference=reference, channel="email", to=message["to"][0])
    try:
        send_slots.take(
            send_transactional_email,
            channel="email",
            slot_at=slot_at,
            provider=provider,
            useful_until=message.get("useful_until"),
        )
    except send_slots.SlotAfterExpiry as exc:
        logger.warning("email %s not sent, it would arrive expired: %s", reference, exc)
        return
    email = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=message["from_email"],
        to=message["to"],
        headers=message.get("headers") or {},
    )
    for content, mimetype in message.get("alternatives", []):
        email.attach_alternative(content, mimetype)
    email.send()
    if reference:
        transactional_message_sent(reference=reference)


@shared_task(time_limit=IMPORT_TIME_LIMIT, soft_time_limit=IMPORT_TIME_LIMIT - 60)
def run_import_job(job_id: int) -> None:
    from customers.import_jobs import import_job_run

    import_job_run(job_id)


@shared_task
def import_jobs_sweep() -> int:
    """Fail the jobs that lost their worker; queue again those still waiting
    (their task may have been lost with the broker). Returns how many failed."""
    from customers.import_jobs import import_jobs_fail_abandoned, import_jobs_requeue_waiting

    failed = import_jobs_fail_abandoned()
    import_jobs_requeue_waiting()
    return failed
