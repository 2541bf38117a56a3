"""Benchmark 3: online safety of a schema change on a busy ``orders`` table.

``orders`` holds ROWS rows (default one million) while a workload shaped like the services runs:
one thread inserting orders, one updating statuses by ``order_id``, two looking orders up by
``order_id``, each paced at RATE statements per second. Meanwhile a migration adds an index on
``broker_id`` and a column with a default:

* safe path: this project's ``migrate`` applying ``AddIndexConcurrently`` (non-atomic migration)
  and then ``AddField`` with ``db_default`` (a metadata-only change);
* naive path: stock Django's ``migrate`` applying what ``makemigrations`` writes for the same
  model change: one atomic migration with ``AddField(default=...)`` then ``AddIndex``.

Reported per path: statements during the migration, failed ones, worst and p99 latency, and the
same before the migration as the baseline.
"""

import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import (
    REPO_ROOT,
    child_env,
    connect,
    machine,
    ours,
    scratch_database,
    stock_migrate,
)

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
RATE = 75  # statements per second per thread; four threads

SAFE = {
    "0002_add_broker_index.py": """from django.contrib.postgres import operations as pg
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        pg.AddIndexConcurrently(
            "order", models.Index(fields=["broker_id"], name="idx_orders_broker_id")
        ),
    ]
""",
    "0003_add_memo.py": """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_add_broker_index")]
    operations = [
        migrations.AddField("order", "memo", models.CharField(max_length=20, db_default="none")),
    ]
""",
}

NAIVE = {
    "0002_add_memo_and_broker_index.py": """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        migrations.AddField("order", "memo", models.CharField(max_length=20, default="none")),
        migrations.AddIndex(
            "order", models.Index(fields=["broker_id"], name="idx_orders_broker_id")
        ),
    ]
""",
}


def migrations_package(root, files):
    package = root / f"bench_orders_{random.randrange(10**8)}"
    shutil.copytree(
        REPO_ROOT / "orders" / "migrations", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    for name, text in files.items():
        (package / name).write_text(text)
    (package / "max_migration.txt").write_text(sorted(files)[-1][:-3] + "\n")
    return package


def fill(db):
    with connect(db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
            "SELECT 'o-' || i, (i %% 5000)::text, 'b-' || (i %% 50), (i * 7)::text, "
            "'0x' || lpad(to_hex(i), 40, '0'), "
            "(ARRAY['pending','completed','failed','cancelled'])[1 + i %% 4]::order_status "
            "FROM generate_series(1, %s) AS i",
            [ROWS],
        )
        conn.execute("VACUUM ANALYZE orders")


class Workload:
    def __init__(self, db):
        self.db = db
        self.stop = threading.Event()
        self.samples = []  # (started, seconds, ok, kind)
        self.errors = {}  # kind -> first error message
        self.lock = threading.Lock()
        self.counter = ROWS

    def _next_id(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def _statement(self, kind):
        if kind == "insert":
            i = self._next_id()
            return (
                "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
                "VALUES (%s, '42', 'b-1', '100', '0x00')",
                [f"o-{i}"],
            )
        target = f"o-{random.randint(1, ROWS)}"
        if kind == "update":
            return "UPDATE orders SET status = 'completed' WHERE order_id = %s", [target]
        return "SELECT id, status, amount FROM orders WHERE order_id = %s", [target]

    def _run(self, kind):
        with connect(self.db, autocommit=True, application_name=f"service-{kind}") as conn:
            interval = 1.0 / RATE
            while not self.stop.is_set():
                sql, params = self._statement(kind)
                started = time.perf_counter()
                ok = True
                try:
                    cursor = conn.execute(sql, params)
                    if kind == "lookup":
                        cursor.fetchall()
                except Exception as exc:  # every failure counts, whatever its kind
                    ok = False
                    self.errors.setdefault(kind, str(exc).splitlines()[0][:100])
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.samples.append((started, elapsed, ok, kind))
                time.sleep(max(0.0, interval - elapsed))

    def __enter__(self):
        self.threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True)
            for kind in ("insert", "update", "lookup", "lookup")
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def window(self, start, end):
        chosen = [s for s in self.samples if start <= s[0] <= end]
        latencies = sorted(s[1] for s in chosen)
        failed = sum(1 for s in chosen if not s[2])
        if not latencies:
            return 0, 0, 0.0, 0.0
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return len(chosen), failed, latencies[-1] * 1000, p99 * 1000


def run_path(template, label, command, package):
    with scratch_database("lf_bench_online") as db:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{db}"')
            conn.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
        env = child_env(
            db,
            {
                "PYTHONPATH": str(package.parent),
                "DJANGO_SETTINGS_MODULE": "tests.migrating.child_settings",
                "LEDGERFLOW_TEST_MIGRATION_MODULES": f"orders={package.name}",
            },
        )
        with Workload(db) as workload:
            time.sleep(3.0)
            t0 = time.perf_counter()
            result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
            t1 = time.perf_counter()
            time.sleep(1.0)
        if result.returncode != 0:
            raise RuntimeError(f"{label} migrate failed:\n{result.stderr[-2000:]}")
        before = workload.window(t0 - 3.0, t0)
        during = workload.window(t0, t1)
        failures = {}
        for started, _, ok, kind in workload.samples:
            if t0 <= started <= t1 and not ok:
                failures[kind] = failures.get(kind, 0) + 1
        return label, t1 - t0, before, during, failures, workload.errors


def main():
    root = Path(tempfile.mkdtemp(prefix="lf_bench_online_"))
    safe_package = migrations_package(root, SAFE)
    naive_package = migrations_package(root, NAIVE)
    rows = []
    with scratch_database("lf_bench_tpl") as template:
        subprocess.run(
            ours("migrate", "--no-input"),
            cwd=REPO_ROOT,
            env=child_env(template),
            check=True,
            capture_output=True,
        )
        fill(template)
        rows.append(
            run_path(
                template,
                "this project (safe path)",
                ours("migrate", "--no-input", "--no-preflight"),
                safe_package,
            )
        )
        rows.append(
            run_path(
                template,
                "stock Django (naive migration)",
                stock_migrate("migrate", "--no-input"),
                naive_package,
            )
        )
    shutil.rmtree(root, ignore_errors=True)
    print(f"Machine: {machine()}; orders holds {ROWS:,} rows; workload 4 x {RATE} statements/s.\n")
    print(
        "| path | migrate wall time (s) | statements during | failed | worst latency (ms) | "
        "p99 latency (ms) | baseline p99 / worst before (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, wall, before, during, _, _ in rows:
        print(
            f"| {label} | {wall:.1f} | {during[0]} | {during[1]} | {during[2]:.0f} | "
            f"{during[3]:.1f} | {before[3]:.1f} / {before[2]:.0f} |"
        )
    for label, _, _, _, failures, errors in rows:
        if failures:
            print(f"\n{label}: failed statements by kind {failures}; first errors {errors}")


if __name__ == "__main__":
    main()
