"""``make bench``: each hot path and, in the same run on the same machine, its raw
ceiling. Prints a table of figures and ratios and writes it as JSON.

Needs PostgreSQL and Redis (DATABASE_URL's server, REDIS_URL); works in its own
database (BENCH_DB, default ``firsthand_bench``), created afresh. SCALE (default 1,000,000) is the
number of customers; 80% of them are affected. BENCH_STEPS=dashboard,signin runs
the import (their data) and only those steps, for work on one path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Its own database, dropped and created afresh (BENCH_DB lets two runs share a server).
BENCH_DB = os.environ.get("BENCH_DB", "firsthand_bench")
if not BENCH_DB.isidentifier():
    sys.exit(f"BENCH_DB={BENCH_DB!r}: a plain database name, please")
sys.path.insert(0, str(ROOT))


def configure(scale: int, work: Path) -> dict:
    """Environment for this process and every process the bench starts."""
    from urllib.parse import urlsplit, urlunsplit

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL to a postgres:// URL")
    parts = urlsplit(base)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    bench_url = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    from tests.integration.stack import SECRET_KEY as STACK_SECRET_KEY
    from tests.integration.stack import free_port, redis_url

    port = free_port()
    env = {
        "DEBUG": "0",
        "SECRET_KEY": STACK_SECRET_KEY,
        "DATABASE_URL": bench_url,
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"),
        # The cache the stack's web server uses: sessions made here must be its.
        "CACHE_URL": redis_url(4),
        "FIRSTHAND_VAR_DIR": str(work / "var"),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return {"admin_url": admin_url, "bench_url": bench_url, "port": port}


def recreate_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [BENCH_DB],
        )
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE", 1_000_000)))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    args = parser.parse_args()

    # BENCH_KEEP=1 keeps the work folder (logs of every process) for a look after.
    keep = os.environ.get("BENCH_KEEP") == "1"
    folder = tempfile.mkdtemp(prefix="firsthand-bench-")
    try:
        work = Path(folder)
        if keep:
            print(f"work folder: {work}")
        setup = configure(args.scale, work)
        recreate_database(setup["admin_url"])
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from bench import paths
        from bench.report import Report

        report = Report(scale=args.scale)
        run = paths.Run(scale=args.scale, work=work, seconds=args.seconds, port=setup["port"])
        try:
            for step in paths.selected_steps(os.environ.get("BENCH_STEPS", "")):
                started = time.monotonic()
                print(f"… {step.__doc__.strip().splitlines()[0]}", flush=True)
                for row in step(run):
                    report.add(row)
                print(f"  done in {time.monotonic() - started:.0f}s", flush=True)
        finally:
            run.stop()
        print()
        print(report.table())
        args.out.mkdir(parents=True, exist_ok=True)
        data = report.as_dict()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for name in (f"bench-{stamp}.json", "latest.json"):
            (args.out / name).write_text(json.dumps(data, indent=2))
        print(f"\nJSON: {args.out / 'latest.json'}")
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
