"""Observability: Prometheus metrics, structured logs with request and task ids,
and the admin's pipeline health page.

- ``context``: the request or task a log line belongs to.
- ``logs``: the JSON formatter and the filters (ids, redaction of personal data).
- ``middleware``: request ids, and counting rate-limit refusals (429 answers).
- ``metrics``: counters and histograms kept by each process.
- ``pipeline``: what the database and the broker say about the pipeline (read
  at scrape time and by the health page).
- ``exposition``: the /metrics view and the scrape-time collector.
- ``celery_hooks``: logging, task ids, worker heartbeats and worker metrics in Celery.
"""
