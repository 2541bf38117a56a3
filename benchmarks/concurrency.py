"""Benchmark 2: N simultaneous ``migrate`` runs on an empty database (default 8 and 32).

For this project's ``migrate`` and for stock Django's: exit codes, duplicate history rows, and
whether the schema equals the contract's (the legacy SQL, compared through pg_catalog).
"""

import subprocess
import sys
import time

from benchmarks.common import REPO_ROOT, child_env, connect, machine, ours, scratch_database
from benchmarks.common import stock_migrate as stock

COUNTS = [int(arg) for arg in sys.argv[1:]] or [8, 32]


def snapshot(dbname):
    sys.path.insert(0, str(REPO_ROOT))
    from ledgerflow.db.introspection import schema_snapshot

    with connect(dbname) as conn:
        return schema_snapshot(conn.cursor())


def legacy_snapshot():
    with scratch_database("lf_bench_legacy") as db:
        with connect(db, autocommit=True) as conn:
            conn.execute((REPO_ROOT / "tests" / "contract" / "legacy_schema.sql").read_text())
        return snapshot(db)


def race(command, count, expected):
    from ledgerflow.db.introspection import diff_snapshots

    with scratch_database() as db:
        env = child_env(db)
        started = time.perf_counter()
        children = [
            subprocess.Popen(
                command("migrate", "--no-input"),
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        errors = [child.communicate()[1] for child in children]
        elapsed = time.perf_counter() - started
        failed = sum(1 for child in children if child.returncode != 0)
        with connect(db) as conn:
            duplicates = conn.execute(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM django_migrations "
                "GROUP BY app, name) t"
            ).fetchone()[0]
        differences = diff_snapshots(expected, snapshot(db))
        sample = next((e.strip().splitlines()[-1] for e in errors if e.strip()), "")
        return failed, duplicates, len(differences), elapsed, sample


def main():
    sys.path.insert(0, str(REPO_ROOT))
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
    os.environ.setdefault("LEDGERFLOW_ENV", "test")
    import django

    django.setup()
    expected = legacy_snapshot()
    print(f"Machine: {machine()}.\n")
    print(
        "| runs at once | command | failed runs | duplicate history rows | schema differences "
        "| wall time (s) | a failure |"
    )
    print("|---|---|---|---|---|---|---|")
    for count in COUNTS:
        for label, command in (("this project", ours), ("stock Django", stock)):
            failed, duplicates, differences, elapsed, sample = race(command, count, expected)
            print(
                f"| {count} | {label} | {failed} | {duplicates} | {differences} | "
                f"{elapsed:.1f} | {sample[:90] if failed else ''} |"
            )


if __name__ == "__main__":
    main()
