"""Authentication: allauth's backend, with a cheaper user lookup per request.

Every signed-in page and API call loads its user from the id in the session.
Through the ORM that lookup builds and compiles a query each time, which was
most of what a signed-in request cost beyond an anonymous one (`make bench`,
step 7: a signed-in trivial request went from 0.31 to 0.55 of an anonymous
one's speed). On PostgreSQL the row is read here with one fixed statement,
built once: psycopg returns the types the fields hold (aware datetimes,
booleans), so the row needs none of the ORM's converters; a user model with a
converting field, and other databases, keep the ORM's lookup.

Sessions record the backend that signed them in. allauth picks this one for a
sign-in by code because it is the first subclass of its own in the settings.
It checks no passwords: a password sign-in is allauth's own backend's, listed
after it (so a wrong password is hashed once, not twice), and sessions recorded
before this backend existed go on naming that one.
"""

from __future__ import annotations

from functools import cache

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.db import connections, router


@cache
def _user_by_id_sql() -> tuple[str, list[str]]:
    user_model = get_user_model()
    fields = user_model._meta.concrete_fields
    quote = connections[router.db_for_read(user_model)].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table, pk = quote(user_model._meta.db_table), quote(user_model._meta.pk.column)
    # Names from the model, quoted; the id is a parameter.
    sql = f"SELECT {columns} FROM {table} WHERE {pk} = %s"  # noqa: S608
    return sql, [f.attname for f in fields]


@cache
def _needs_converters() -> bool:
    """A field that converts what the database returns (a JSON or encrypted
    field, say) needs the ORM's reading of the row."""
    return any(hasattr(f, "from_db_value") for f in get_user_model()._meta.concrete_fields)


class AuthenticationBackend(AllauthBackend):
    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        user_model = get_user_model()
        alias = router.db_for_read(user_model)
        connection = connections[alias]
        if connection.vendor != "postgresql" or _needs_converters():
            return super().get_user(user_id)
        sql, names = _user_by_id_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = user_model.from_db(alias, names, row)
        return user if self.user_can_authenticate(user) else None
