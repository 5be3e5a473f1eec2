"""gunicorn settings for production: `gunicorn portal.wsgi -c python:portal.gunicorn`.

Threads serve the many short, I/O-bound requests of a sign-in spike; each
worker process holds at most `threads` database connections (fewer with
DATABASE_POOL), which is what PostgreSQL's connection limit must allow for.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os

from gunicorn.glogging import Logger

from portal.env import env_bool, env_choice, env_int
from portal.observability.logs import ContextFilter, JsonFormatter, RedactFilter, redact

bind = os.environ.get("WEB_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# One process per core, a few threads each. Measured with `make bench` on 2 cores:
# 2 processes of 4 threads served the signed-in dashboard at 654 req/s and code
# sign-ins at 34/s, 4 of 8 at 405 req/s and 16/s (their threads mostly queue for
# the interpreter lock while they wait on PostgreSQL and Redis in turn).
# Read strictly, as the settings are: WEB_WORKERS=0 started a master with no worker,
# which served nothing and said nothing.
workers = env_int("WEB_WORKERS", multiprocessing.cpu_count(), minimum=1)
threads = env_int("WEB_THREADS", 4, minimum=1)
worker_class = "gthread"
# Load the application once, before forking: workers start (and are recycled) warm.
preload_app = True
# 0 would be gunicorn's "never": a hung worker would hold its threads for good.
timeout = env_int("WEB_TIMEOUT", 30, minimum=1)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage, but not
# every minute of a sign-in storm: a new worker opens its connections and renders
# every page shape again, and the bench caught 20,000 recycling both workers in
# the middle of a ten-second run.
max_requests = env_int("WEB_MAX_REQUESTS", 200_000, minimum=0)  # 0: never recycled
max_requests_jitter = max_requests // 10
# The load balancer's address(es), whose X-Forwarded-* headers are believed.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
# Application logs carry the request id; the access log must not carry query strings
# with personal data, so it records the path only, redacted as application logs
# are (a password reset link carries its key in the path).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# gunicorn's own lines (workers booting and exiting, errors outside Django) in the
# application's format, read as portal/settings.py reads it.
LOG_FORMAT = env_choice(
    "LOG_FORMAT", ["json", "plain"], "plain" if env_bool("DEBUG", False) else "json"
)


class RedactingLogger(Logger):
    """gunicorn's own logs through the application's masks. Its error log names
    a request that failed outside Django (a CSV download's rows stream after the
    view returned) with its query string, and prints the traceback. With
    LOG_FORMAT=json its lines are JSON like every other; the access log keeps
    its own one-line format."""

    def setup(self, cfg) -> None:
        super().setup(cfg)  # a reload replaces gunicorn's handlers: set them again
        for kind in (ContextFilter, RedactFilter):
            if not any(isinstance(f, kind) for f in self.error_log.filters):
                self.error_log.addFilter(kind())
        if LOG_FORMAT == "json":
            for handler in self.error_log.handlers:
                # Its stream or file (syslog keeps its own framing).
                if getattr(handler, "_gunicorn", False) and isinstance(
                    handler, logging.StreamHandler
                ):
                    handler.setFormatter(JsonFormatter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            if atoms.get(key):
                atoms[key] = redact(atoms[key])
        return atoms

    def exception(self, msg, *args, **kwargs) -> None:
        # "Error handling request GET /…?q=…": the path, as in the access log.
        args = tuple(
            arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
            for arg in args
        )
        super().exception(msg, *args, **kwargs)


logger_class = RedactingLogger


def when_ready(server) -> None:
    """In the master, with the application loaded (preload_app) and before the
    first worker forks: import every view, then move all that is loaded into
    the garbage collector's permanent generation. A full collection stops every
    thread of a worker while it runs: walking only what the worker made itself
    it took 6 to 15 ms instead of 70 to 75 (measured in one process), a pause
    that every request the worker holds at that moment waits out. Workers also
    keep sharing those pages of memory with the master instead of copying them."""
    from django.apps import apps

    if apps.ready:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()
