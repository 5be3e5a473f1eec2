from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# Django reads SECRET_KEY only when it signs (settings.py lets commands that sign
# nothing, like migrate, run without it): a web process without one started,
# passed /healthz and answered every page with a 500. It refuses to start instead.
settings.SECRET_KEY  # noqa: B018 (raises ImproperlyConfigured when it is empty)
