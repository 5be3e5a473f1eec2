"""How much a statement reads in vain on PostgreSQL: the rows its plan reads and
then throws away, which an index on what it looks for would never have read."""

from __future__ import annotations

import json

from django.db import connection, transaction


def rows_read_in_vain(sql: str) -> int:
    """Run ``sql`` under EXPLAIN ANALYZE (rolled back: it may write) with
    sequential scans discouraged, and count the rows its filters removed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        transaction.set_rollback(True)
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return _removed(plan[0]["Plan"])


def _removed(node: dict) -> int:
    removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Join Filter", 0)
    return removed + sum(_removed(child) for child in node.get("Plans", []))
