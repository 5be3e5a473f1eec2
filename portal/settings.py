"""Firsthand settings: one file, every deployment difference read from the environment.

With no environment at all the site runs on its embedded defaults: SQLite, a
file-system Celery broker, a file cache and outbox channels. Production sets
DATABASE_URL, CELERY_BROKER_URL, CACHE_URL and the provider settings (README,
"Configuration").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import (
    env_bool,
    env_choice,
    env_float,
    env_french,
    env_int,
    env_list,
    env_rate,
    env_str,
)
from portal.observability.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FIRSTHAND_VAR_DIR", str(BASE_DIR / "var")))

# pytest sets PYTEST_VERSION; subprocesses started by tests (workers, servers)
# get an explicit environment instead.
TESTING = "PYTEST_VERSION" in os.environ and "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)

# Without DEBUG there is no default: an empty key lets commands that sign
# nothing (migrate, makemigrations) run, and makes Django refuse anything else.
_INSECURE_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY if (DEBUG or TESTING) else "")
if not (DEBUG or TESTING) and SECRET_KEY == _INSECURE_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a secret value when DEBUG is off.")
# Keys the hashes of dates of birth and claim codes (customers/hashing.py).
# Unlike SECRET_KEY it must never be rotated: stored hashes would stop matching.
HASH_KEY = env_str("HASH_KEY", SECRET_KEY)

# The public address of the portal: links in messages, provider callbacks and
# webhook signature checks are built from it, never from the Host header.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://localhost:8000").rstrip("/")
_base = urlsplit(PORTAL_BASE_URL)
if _base.scheme not in {"http", "https"} or not _base.hostname:
    raise ImproperlyConfigured(f"PORTAL_BASE_URL={PORTAL_BASE_URL!r} is not an http(s) URL.")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    ["localhost", "127.0.0.1", "[::1]", "testserver"] if (DEBUG or TESTING) else [_base.hostname],
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_base.scheme}://{_base.netloc}"])

INSTALLED_APPS = [
    "portal.admin_apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "anymail",
    "csp",
    "portal",
    "customers",
    "notices",
]

MIDDLEWARE = [
    # First: every line logged for a request carries its id.
    "portal.observability.middleware.request_id",
    # Before the Host check and the https redirect: the load balancer's probes
    # and Prometheus' scrapes, at each machine's own address.
    "portal.health.machine_endpoints",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is chosen: its 400 is in the reader's language.
    "portal.json_bodies.headless_json_depth",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.private_pages",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "portal.staff_auth.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.AllauthFormErrorsAre400",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web server and the Celery worker
    # share one SQLite file without "database is locked" errors.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _db["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", ":memory:")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's, with a health check only for a connection idle for a second or more.
    _db["ENGINE"] = "portal.postgresql"
    # .iterator() (allauth looks users up by email with it) would otherwise open a
    # server-side cursor: DECLARE, FETCH, CLOSE, three round trips for a row or two.
    # Big exports page by key instead (portal/csv_export.py: in_created_order).
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    # A database host gone without closing connections (a failover, a firewall
    # timeout) left each new connection, and /healthz's check, waiting for ever.
    _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DATABASE_CONNECT_TIMEOUT", 10, minimum=1
    )
    # A worker host that drops off the network mid-transaction must not keep
    # its row locks: the server ends such a session after this long (0: never;
    # behind PgBouncer in transaction mode set it on the role instead).
    _idle_tx = env_int("DATABASE_IDLE_TRANSACTION_TIMEOUT", 60, minimum=0)
    if _idle_tx:
        _db.setdefault("OPTIONS", {})["options"] = (
            f"-c idle_in_transaction_session_timeout={_idle_tx * 1000}"
        )
    if env_bool("DATABASE_POOL", False):
        # psycopg's pool inside each process; CONN_MAX_AGE must then be 0.
        _db["CONN_MAX_AGE"] = 0
        _db["CONN_HEALTH_CHECKS"] = False
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX", 4, minimum=1),
        }
else:
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL or SQLite.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "customers.User"

# --- Cache, sessions ----------------------------------------------------------

# Rate-limit counters and sessions must be shared by every process: Redis in
# production, a file cache that local processes share in the embedded default.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    # django-redis keeps one client per process (Django's own Redis backend
    # builds a client per call, which shows at thousands of requests a second).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "fh"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
elif CACHE_URL in ("", "file://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://…, file:// or locmem://.")
if TESTING and not CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the shared cache (Redis in production): a sign-in storm
# writes no session rows to PostgreSQL. Signed-in devices are listed from
# allauth's user sessions, which survive a cache flush (customers then sign in again).
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Celery -------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A Redis gone without closing the connection (a failover, a NAT or firewall
    # timeout) left a publish waiting for ever: every web thread that queued a
    # sign-in code in turn, and /healthz's broker check. Above kombu's 1 s BRPOP.
    _broker_timeout = env_float("BROKER_SOCKET_TIMEOUT", 5.0, minimum=2.0)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any countdown we use; redelivery is harmless anyway because
        # tasks only act on rows they claim in the database.
        "visibility_timeout": 3600,
        "socket_timeout": _broker_timeout,
        "socket_connect_timeout": _broker_timeout,
    }
elif not CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be filesystem://, redis:// or amqp://.")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Queues by kind of work, so a sign-in code never waits behind a campaign.
CELERY_QUEUES_ALL = ["transactional", "default", "bulk", "webhooks", "imports"]
CELERY_TASK_ROUTES = {
    "customers.tasks.send_transactional_email": {"queue": "transactional"},
    "notices.tasks.campaign_plan": {"queue": "bulk"},
    "notices.tasks.campaign_dispatch": {"queue": "bulk"},
    "notices.tasks.test_send": {"queue": "transactional"},
    "notices.tasks.resend_send": {"queue": "transactional"},
    "notices.tasks.send_claim_code": {"queue": "transactional"},
    "notices.tasks.deliveries_sweep": {"queue": "default"},
    "customers.tasks.run_import_job": {"queue": "imports"},
    "customers.tasks.import_jobs_sweep": {"queue": "default"},
    "notices.tasks.drain_receipts": {"queue": "webhooks"},
    "notices.tasks.publish_due_notices": {"queue": "default"},
    "notices.tasks.send_contact_code": {"queue": "transactional"},
    "notices.tasks.send_contact_changed": {"queue": "transactional"},
    # Housekeeping, in short slices (portal/tasks.py) so the sweep never waits long.
    "portal.tasks.apply_retention": {"queue": "default"},
}
CELERY_TASK_ALWAYS_EAGER = TESTING and env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": {
        "task": "notices.tasks.deliveries_sweep",
        "schedule": env_float("SWEEP_INTERVAL", 15.0, minimum=1.0),
    },
    "publish-due-notices": {"task": "notices.tasks.publish_due_notices", "schedule": 30.0},
    "import-jobs-sweep": {"task": "customers.tasks.import_jobs_sweep", "schedule": 600.0},
    # Daily, at a quiet hour (UTC): the retention policy below.
    "apply-retention": {
        "task": "portal.tasks.apply_retention",
        "schedule": crontab(minute=30, hour=3),
    },
}

# --- Email and other channels -------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "notices.channels.outbox.EmailBackend")
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Email delivery reports (portal/email_webhooks.py) are refused until this is set:
# "user:password" for HTTP basic auth in the ESP's webhook URL; several, comma-
# separated, while rotating it.
ANYMAIL = {"WEBHOOK_SECRET": env_list("ANYMAIL_WEBHOOK_SECRET")}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Firsthand <notices@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)

# SMS providers: the primary from SMS_BACKEND and TWILIO_*, then any named in
# SMS_EXTRA_PROVIDERS, each configured with SMS_<NAME>_BACKEND, _API_BASE_URL,
# _ACCOUNT_SID, _AUTH_TOKEN and _FROM. Traffic moves down the list when a
# provider keeps failing.
SMS_BACKEND = env_str("SMS_BACKEND", "notices.channels.outbox.SmsBackend")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM = env_str("TWILIO_FROM", "")
PROVIDER_TIMEOUT = env_float("PROVIDER_TIMEOUT", 10.0, minimum=0.1)
# Messages per second each provider account accepts, shared by every campaign
# and resend sending through it (0: no limit of ours). Campaigns may pace
# themselves lower still (their own rate per channel).
SMS_RATE = env_float("SMS_RATE", 100.0, minimum=0.0)
EMAIL_RATE = env_float("EMAIL_RATE", 200.0, minimum=0.0)
PUSH_RATE = env_float("PUSH_RATE", 10_000.0, minimum=0.0)  # FCM: 600,000 a minute a project


def _sms_provider(name: str, prefix: str, backend: str) -> dict:
    return {
        "name": name,
        "backend": backend,
        "api_base_url": env_str(f"{prefix}API_BASE_URL", "https://api.twilio.com"),
        "account_sid": env_str(f"{prefix}ACCOUNT_SID", ""),
        "auth_token": env_str(f"{prefix}AUTH_TOKEN", ""),
        "from_number": env_str(f"{prefix}FROM", ""),
        "timeout": PROVIDER_TIMEOUT,
        "rate": env_float(f"{prefix}RATE", SMS_RATE, minimum=0.0),
    }


SMS_PROVIDERS = [
    {
        "name": "primary",
        "backend": SMS_BACKEND,
        "api_base_url": TWILIO_API_BASE_URL,
        "account_sid": TWILIO_ACCOUNT_SID,
        "auth_token": TWILIO_AUTH_TOKEN,
        "from_number": TWILIO_FROM,
        "timeout": PROVIDER_TIMEOUT,
        "rate": SMS_RATE,
    }
] + [
    _sms_provider(
        name.lower(),
        f"SMS_{name.upper()}_",
        env_str(f"SMS_{name.upper()}_BACKEND", "notices.channels.twilio.TwilioBackend"),
    )
    for name in env_list("SMS_EXTRA_PROVIDERS")
]
# Push through Firebase Cloud Messaging's HTTP v1 API (base URL configurable:
# a local fake in tests); the outbox in the embedded default.
PUSH_PROVIDERS = [
    {
        "name": "primary",
        "backend": env_str("PUSH_BACKEND", "notices.channels.outbox.PushBackend"),
        "api_base_url": env_str("FCM_API_BASE_URL", "https://fcm.googleapis.com"),
        "project_id": env_str("FCM_PROJECT_ID", ""),
        "credentials_file": env_str("FCM_CREDENTIALS_FILE", ""),
        "access_token": env_str("FCM_ACCESS_TOKEN", ""),
        "timeout": PROVIDER_TIMEOUT,
        "rate": PUSH_RATE,
    }
]
if TESTING:
    SMS_PROVIDERS = [{"name": "primary", "backend": "notices.channels.locmem.SmsBackend"}]
    PUSH_PROVIDERS = [{"name": "primary", "backend": "notices.channels.locmem.PushBackend"}]
# A provider with this many transient failures within the window is set aside.
PROVIDER_FAILURE_THRESHOLD = env_int("PROVIDER_FAILURE_THRESHOLD", 20, minimum=1)
PROVIDER_FAILURE_WINDOW = env_int("PROVIDER_FAILURE_WINDOW", 60, minimum=1)
PROVIDER_COOLDOWN = env_int("PROVIDER_COOLDOWN", 120, minimum=1)

# Provider receipts are queued in this Redis list and applied in batches by a
# worker (recommended in production); empty: applied in the webhook request.
RECEIPTS_BUFFER_URL = env_str("RECEIPTS_BUFFER_URL", "")

# Messages may link only to these hosts (the portal's own by default).
MESSAGE_LINK_HOSTS = env_list("MESSAGE_LINK_HOSTS", [_base.hostname])
SMS_MAX_SEGMENTS = env_int("SMS_MAX_SEGMENTS", 4, minimum=1)
# Notices may also link to these (the regulator, a government helpline…).
NOTICE_LINK_HOSTS = env_list("NOTICE_LINK_HOSTS", [_base.hostname])
# Where a staff test send may go besides the sender's own verified email: the
# team's test phones and mailboxes (emails and E.164 numbers, comma-separated).
TEST_SEND_RECIPIENTS = env_list("TEST_SEND_RECIPIENTS", [])
# Direct first: a public notice waits until this share of the reachable
# affected customers have had their direct alert handed to a provider.
DIRECT_FIRST_THRESHOLD = env_float("DIRECT_FIRST_THRESHOLD", 0.95, minimum=0.0)
# /verify: per address and across everyone, so references cannot be guessed.
VERIFY_RATE_PER_IP = env_rate("VERIFY_RATE_PER_IP", "20/m")
VERIFY_RATE_GLOBAL = env_rate("VERIFY_RATE_GLOBAL", "3000/m")
# /report: per address, and overall so that a flood of made-up reports from many
# addresses stops at a number staff can still sift, instead of burying real ones.
REPORT_RATE_PER_IP = env_rate("REPORT_RATE_PER_IP", "10/h")
REPORT_RATE_GLOBAL = env_rate("REPORT_RATE_GLOBAL", "1000/h")
# The regulator and the identity-theft support service, named on every notice.
# A text shown inside sentences has a French twin (*_FR, see portal/env.py).
REGULATOR_NAME = env_str("REGULATOR_NAME", "Office of the Australian Information Commissioner")
REGULATOR_NAME_FR = env_french("REGULATOR_NAME", "Commissariat australien à l'information (OAIC)")
REGULATOR_URL = env_str("REGULATOR_URL", "https://www.oaic.gov.au")
ID_SUPPORT_NAME = env_str("ID_SUPPORT_NAME", "IDCARE")
ID_SUPPORT_PHONE = env_str("ID_SUPPORT_PHONE", "1800 595 160")
ID_SUPPORT_URL = env_str("ID_SUPPORT_URL", "https://www.idcare.org")

# Sending pipeline.
DISPATCH_BATCH_SIZE = env_int("DISPATCH_BATCH_SIZE", 200, minimum=1)
DISPATCH_THREADS = env_int("DISPATCH_THREADS", 16, minimum=1)
# A dispatch task runs batches for this long, and its last batch sends for up
# to this long again: twice it must fit in the tasks' soft limit of 240 s.
DISPATCH_TASK_SECONDS = env_int("DISPATCH_TASK_SECONDS", 30, minimum=1, maximum=100)
PLANNING_CHUNK = env_int("PLANNING_CHUNK", 50_000, minimum=100)
PLANNING_FIRST_CHUNK = env_int("PLANNING_FIRST_CHUNK", 2_000, minimum=1)
# Pace at this share of each rate (provider's, campaign's) so late sends never exceed it.
RATE_HEADROOM = env_float("RATE_HEADROOM", 0.95, minimum=0.1, maximum=1.0)
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 6, minimum=1)
DELIVERY_RETRY_BASE = env_float("DELIVERY_RETRY_BASE", 5.0, minimum=0.0)
DELIVERY_RETRY_MAX = env_float("DELIVERY_RETRY_MAX", 600.0, minimum=0.0)
# A delivery claimed longer ago than this was left by a dead worker. Keep it at or
# above the dispatch task's hard time limit (300 s), which ends a stalled one.
DELIVERY_IN_DOUBT_AFTER = env_int("DELIVERY_IN_DOUBT_AFTER", 300, minimum=5)

# --- Data retention (portal/retention.py) --------------------------------------
# Personal data is kept only while it serves the affected; the breach record
# (the counts the reach report and the incident timeline show) is kept. A
# period of 0 turns its rule off (keep for ever, e.g. under a legal hold).
# Message texts, contact snapshots (kept masked) and provider errors of
# deliveries, the demo outbox and test sends, this long after their last change:
RETENTION_DELIVERY_CONTENT_DAYS = env_int("RETENTION_DELIVERY_CONTENT_DAYS", 90, minimum=0)
# Exposures and deliveries of an incident, this long after it was closed:
RETENTION_MONTHS_AFTER_CLOSE = env_int("RETENTION_MONTHS_AFTER_CLOSE", 24, minimum=0)
# Claim codes and contact-change codes, this long after they expired or were used:
RETENTION_CODES_DAYS = env_int("RETENTION_CODES_DAYS", 30, minimum=0)
# Uploaded import files (raw personal data) and their reports, after the import:
RETENTION_IMPORT_FILES_DAYS = env_int("RETENTION_IMPORT_FILES_DAYS", 30, minimum=0)
# The staff audit log (the only deletion it allows):
RETENTION_AUDIT_YEARS = env_int("RETENTION_AUDIT_YEARS", 7, minimum=0)
# A sign-in's record (address, browser) once its session has ended, this long after it:
RETENTION_SIGN_INS_DAYS = env_int("RETENTION_SIGN_INS_DAYS", 90, minimum=0)
# Reports of a suspicious message (its sender and text, the reporter's contact):
RETENTION_REPORTS_DAYS = env_int("RETENTION_REPORTS_DAYS", 365, minimum=0)
# An app device (its push token) the app has not registered or refreshed for this
# long, or whose token the provider rejected this long ago (FCM expires idle tokens
# after 270 days):
RETENTION_DEVICES_DAYS = env_int("RETENTION_DEVICES_DAYS", 270, minimum=0)
# Support agents' notes of a contact with a customer, this long after they were
# written (long enough for a complaint to go to the ombudsman and the regulator):
RETENTION_CONTACT_NOTES_DAYS = env_int("RETENTION_CONTACT_NOTES_DAYS", 730, minimum=0)
# Rows per batch; each batch is one short transaction.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000, minimum=1)

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# Dates and times shown name the zone ("6:49 p.m. AEDT"): portal/formats.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
USE_TZ = True

# Phone numbers without a country code are read as numbers of this region.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "AU")

# --- Static files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if (DEBUG or TESTING)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Source maps are fetched only by developer tools: not worth compressing at deploy time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    *("jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "xz", "br"),
    *("woff", "woff2", "mp4", "webm", "map"),
)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media holds only uploaded imports and their reports (raw personal data): read
# by the processes that wrote them, never by other users of the machine.
FILE_UPLOAD_PERMISSIONS = 0o600
# Uploads staff import in the admin; the command line takes files of any size.
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 1024, minimum=1)
# The limit holds while a file streams in, before any of it past the limit is stored;
# elsewhere than the import's upload page no file is stored at all (portal/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "portal.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Development and tests serve straight from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# --- Authentication (django-allauth) ------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # What code sign-ins record: a cheaper user lookup on every signed-in request.
    "portal.auth_backend.AuthenticationBackend",
    # Passwords (and every session recorded before the line above).
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_request_login_code"
LOGIN_REDIRECT_URL = "customers:dashboard"
ACCOUNT_ADAPTER = "customers.adapters.AccountAdapter"
ACCOUNT_FORMS = {
    "request_login_code": "customers.forms.CustomerRequestLoginCodeForm",
    "reset_password": "customers.forms.CustomerResetPasswordForm",
}
ACCOUNT_LOGIN_METHODS = {"email"}
# How allauth names the person ("Successfully signed in as …"): their address,
# not the internal username a customer's login gets.
ACCOUNT_USER_DISPLAY = "customers.adapters.user_display"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# One address per login, the one on the customer's record: it changes only through
# the contact flow (a code to the new address). allauth's "add an email" left an
# unverified second address on someone's login, and a code request for that
# address then signed its real owner in to that login.
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
# A contact change asks for a sign-in or re-authentication this recent
# (portal.reauthentication), as allauth's own sensitive pages do.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _base.scheme
# Behind a load balancer, the client's address is the n-th from the right in
# X-Forwarded-For; rate limits count per client, not per proxy.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key,10/h/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_ADAPTER = "portal.staff_auth.MFAAdapter"
MFA_TOTP_ISSUER = "Firsthand"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or TESTING
HEADLESS_CLIENTS = ("app",)
HEADLESS_SERVE_SPECIFICATION = False
HEADLESS_TOKEN_STRATEGY = "portal.api_auth.SessionTokenStrategy"  # noqa: S105 (a class path)
# Sessions are recorded at sign-in; tracking every request would write to the
# database on every page view of a sign-in storm.
USERSESSIONS_TRACK_ACTIVITY = False

# --- REST API -----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.api_auth.SessionTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.json_bodies.JSONParser"],
    "EXCEPTION_HANDLER": "portal.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api_throttles.UserRateThrottle",
        "portal.api_throttles.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("API_RATE_PER_USER", "600/min", spans=False),
        "anon": env_rate("API_RATE_PER_IP", "120/min", spans=False),
        "verify": env_rate("API_VERIFY_RATE_PER_IP", "20/min", spans=False),
        "contact": env_rate("API_CONTACT_RATE_PER_USER", "10/hour", spans=False),
    },
    # Client addresses through the same proxies as everywhere else. 0 means none:
    # DRF would read None as "trust the whole X-Forwarded-For", which anyone can send.
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0, minimum=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Firsthand API",
    "DESCRIPTION": (
        "The API behind the Firsthand mobile app. Sign in through allauth's headless API "
        "for apps (/_allauth/app/v1/…: by email code or password, with MFA when enabled); "
        "send the session token it returns as `X-Session-Token`. Every error has the body "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "customers.models.Channel.choices",
        "LanguageEnum": "customers.models.Language.choices",
    },
}

# --- Security -----------------------------------------------------------------

# No inline script, style or event handler anywhere: code and styles come from
# our static files (templates are checked by tests/portal/test_security_headers.py).
# The API docs use drf-spectacular's split Swagger view for the same reason.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Powerful browser features the portal never uses (portal/middleware.py).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _base.scheme == "https")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = _base.scheme == "https"
    CSRF_COOKIE_SECURE = _base.scheme == "https"
    # The language switch (portal/public_pages.py) sets it with these, as
    # portal/i18n.py does when signing in: it went out without Secure.
    LANGUAGE_COOKIE_SECURE = _base.scheme == "https"
# Behind a proxy that terminates TLS on a private network, bench and tests run
# gunicorn over plain HTTP; deploy checks still apply with an https base URL.
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# --- Logging ------------------------------------------------------------------

LOG_LEVEL = env_choice("LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
# One JSON object a line (timestamp, level, logger, message, request_id or
# task_id), or the plain text format; emails and phone numbers are redacted
# from either (portal/observability/logs.py).
LOG_FORMAT = env_choice("LOG_FORMAT", ["json", "plain"], "plain" if DEBUG else "json")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

# --- Metrics (portal/observability) -------------------------------------------

# GET /metrics: for staff signed in with MFA, or with "Authorization: Bearer
# <METRICS_TOKEN>" (empty: staff only).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Database and broker figures are computed at most this often, in the shared cache.
METRICS_CACHE_SECONDS = env_int("METRICS_CACHE_SECONDS", 0 if TESTING else 15, minimum=0)
# Celery workers record a heartbeat this often (the admin's pipeline page).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 30, minimum=1)
# A worker serves its host's metrics on this port (0: off), unauthenticated:
# bind it to a private address.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1")

# --- Firsthand ----------------------------------------------------------------

SITE_NAME = env_str("SITE_NAME", "Firsthand")
SUPPORT_PHONE = env_str("SUPPORT_PHONE", "1800 000 000")
SUPPORT_HOURS = env_str("SUPPORT_HOURS", "8am to 8pm, 7 days")
SUPPORT_HOURS_FR = env_french("SUPPORT_HOURS", "De 8 h à 20 h, 7 jours sur 7")

# Account claim (customers/claims.py): a code from a letter, a text or a
# support agent, with the customer reference and the date of birth.
CLAIM_CODE_DAYS = {"letter": 60, "sms": 2, "support": 2}
CLAIM_CODE_MAX_ATTEMPTS = env_int("CLAIM_CODE_MAX_ATTEMPTS", 5, minimum=1)
CLAIM_RATE_PER_IP = env_rate("CLAIM_RATE_PER_IP", "10/h")
CLAIM_RATE_PER_CUSTOMER = env_rate("CLAIM_RATE_PER_CUSTOMER", "10/d")
CLAIM_RATE_GLOBAL = env_rate("CLAIM_RATE_GLOBAL", "2000/m")
# Every failed claim takes at least this long, whatever failed.
CLAIM_FAILURE_SECONDS = env_float("CLAIM_FAILURE_SECONDS", 0.0 if TESTING else 0.4, minimum=0.0)

# Staff: the admin requires MFA; a staff session ends after this long.
STAFF_SESSION_SECONDS = env_int("STAFF_SESSION_SECONDS", 8 * 3600, minimum=300)
# Support resends of the latest alert, per customer.
RESEND_RATE_PER_CUSTOMER = env_rate("RESEND_RATE_PER_CUSTOMER", "3/h")
# New email or phone confirmations started from the Preferences page, per login.
CONTACT_RATE_PER_USER = env_rate("CONTACT_RATE_PER_USER", "10/h")
# Each process keeps the latest notices this long for customer pages (0: never).
RECENT_NOTICES_SECONDS = env_float("RECENT_NOTICES_SECONDS", 0.0 if TESTING else 60.0, minimum=0)
