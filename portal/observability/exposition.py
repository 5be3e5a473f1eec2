"""GET /metrics: this host's counters plus what the database and broker say.

Protected: a signed-in staff member (with MFA, as for the admin), or
``Authorization: Bearer <METRICS_TOKEN>``. The database and broker figures
are computed at most once per METRICS_CACHE_SECONDS, in the shared cache, so
any number of scrapers and web processes cost one set of queries.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from portal.observability import metrics, pipeline, workers

_SNAPSHOT_KEY = "metrics:pipeline:v1"


def snapshot() -> dict:
    """Plain values, so the shared cache can hold them."""
    if settings.METRICS_CACHE_SECONDS:
        cached = cache.get(_SNAPSHOT_KEY)
        if cached is not None:
            return cached
    import_counts, active_imports = pipeline.import_jobs()
    left = pipeline.deliveries_left_sending()
    values = {
        "deliveries": pipeline.delivery_counts(),
        "campaigns": pipeline.campaign_counts(),
        "queues": pipeline.queue_depths(),
        "imports": import_counts,
        "active_imports": [(i.job_id, i.kind, i.bytes_read, i.bytes_total) for i in active_imports],
        "left_sending": left.count,
        "workers": len(workers.workers_seen()),
    }
    if settings.METRICS_CACHE_SECONDS:
        cache.set(_SNAPSHOT_KEY, values, settings.METRICS_CACHE_SECONDS)
    return values


class PipelineCollector:
    """Gauges read at scrape time from the database, the broker and the cache."""

    def collect(self):
        data = snapshot()
        deliveries = GaugeMetricFamily(
            "firsthand_deliveries",
            "Deliveries by campaign, channel and status (campaigns sending, paused or "
            f"finished within {pipeline.RECENT_CAMPAIGN_DAYS} days).",
            labels=["campaign", "channel", "status"],
        )
        for campaign, channel, status, n in data["deliveries"]:
            deliveries.add_metric([str(campaign), channel, status], n)
        yield deliveries

        campaigns = GaugeMetricFamily(
            "firsthand_campaigns", "Campaigns by status.", labels=["status"]
        )
        for status, n in sorted(data["campaigns"].items()):
            campaigns.add_metric([status], n)
        yield campaigns

        yield GaugeMetricFamily(
            "firsthand_deliveries_left_sending",
            "Deliveries claimed by a worker longer than DELIVERY_IN_DOUBT_AFTER ago "
            "that never reported back.",
            value=data["left_sending"],
        )
        yield GaugeMetricFamily(
            "firsthand_broker_up",
            "1 when the Celery broker answered this scrape.",
            value=0 if data["queues"] is None else 1,
        )
        depth = GaugeMetricFamily(
            "firsthand_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        for queue, n in (data["queues"] or {}).items():
            depth.add_metric([queue], n)
        yield depth
        yield GaugeMetricFamily(
            "firsthand_workers_seen",
            "Celery workers whose heartbeat is recent.",
            value=data["workers"],
        )
        yield from _imports(data)


def _imports(data: dict):
    jobs = GaugeMetricFamily("firsthand_import_jobs", "Imports by status.", labels=["status"])
    for status, n in sorted(data["imports"].items()):
        jobs.add_metric([status], n)
    yield jobs
    read = GaugeMetricFamily(
        "firsthand_import_bytes_read",
        "Bytes read so far by each queued or running import.",
        labels=["job", "kind"],
    )
    total = GaugeMetricFamily(
        "firsthand_import_file_bytes",
        "Size of the file of each queued or running import.",
        labels=["job", "kind"],
    )
    for job, kind, done, size in data["active_imports"]:
        read.add_metric([str(job), kind], done)
        total.add_metric([str(job), kind], size)
    yield read
    yield total


_pipeline = CollectorRegistry(auto_describe=False)
_pipeline.register(PipelineCollector())


def exposition() -> bytes:
    return generate_latest(metrics.registry()) + generate_latest(_pipeline)


# --- the view --------------------------------------------------------------------


def _bearer_ok(request: HttpRequest) -> bool | None:
    """True or False for a bearer token; None when the request has none."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    expected = settings.METRICS_TOKEN
    if scheme.lower() != "bearer" or not expected:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _refuse(status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    from portal.staff_auth import staff_may_enter

    bearer = _bearer_ok(request)
    if bearer is False:
        return _refuse(401)
    if bearer is None:
        if not request.user.is_authenticated:
            return _refuse(401)
        if not staff_may_enter(request):
            return _refuse(403)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
