"""Django's PostgreSQL backend, with a cheaper connection health check.

With CONN_HEALTH_CHECKS Django sends ``SELECT 1`` before the first query of every
request, so a connection the server dropped (a restart, a failover) is replaced
instead of failing a request. In a sign-in storm that is one round trip in three
of a signed-in page. Like connection pools do (HikariCP's "alive bypass window"),
a connection that answered a query less than HEALTH_CHECK_GRACE seconds ago is
taken as alive: only an idle connection is checked.

The price: when the server drops connections (a restart, a failover), each one
used in the second before fails its next request or task once, as it would with
no health checks (Django then closes it and the next one reconnects); every
connection idle for longer is still checked and replaced first.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

HEALTH_CHECK_GRACE = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = float("-inf")

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and not self.health_check_done
            and time.monotonic() - self.last_used < HEALTH_CHECK_GRACE
        ):
            self.health_check_done = True  # it answered a moment ago
            return
        super().close_if_health_check_failed()

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self.last_used = time.monotonic()
        return cursor

    def connect(self):
        super().connect()
        self.last_used = time.monotonic()
