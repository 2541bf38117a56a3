"""Acknowledged orders lost by ``restore --confirm`` while a service keeps inserting orders.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres LEDGERFLOW_ENV=test \
     .venv/bin/python -m benchmarks.restore_under_writes [RUNS] [ROWS] [BASELINE_REV]

A scratch database holds the LedgerFlow schema and ROWS orders; a backup of it is the archive.
Each run copies that database, starts a writer inserting one order per autocommit INSERT (an
order counts as acknowledged once its INSERT returned), runs ``manage.py restore ARCHIVE
--confirm`` and lets the writer go on briefly after. An acknowledged order is lost when it is in
neither the restored database nor the pre-restore backup the command wrote. The same runs are
made with the code of BASELINE_REV (a git revision, extracted with ``git archive``; default
9841101, the last revision before the restore held writes) as the baseline, in the same invocation.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from benchmarks.common import REPO_ROOT, child_env, connect, machine, scratch_database

KEY = "benchmark-backup-key-0123456789abcdef0123"
INSERT_ORDER = (
    "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
    "VALUES (%s, 'acc-1', 'broker', '1', '0x' || repeat('a', 40))"
)


def _manage(root, dbname, backups, *args, check=True):
    env = child_env(dbname, {"LEDGERFLOW_BACKUP_DIR": str(backups), "LEDGERFLOW_BACKUP_KEY": KEY})
    result = subprocess.run(
        [sys.executable, str(root / "manage.py"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
    return result


def _order_ids(dbname):
    with connect(dbname) as conn:
        return {row[0] for row in conn.execute("SELECT order_id FROM orders").fetchall()}


def _write_orders(dbname, stop, acknowledged):
    conn, number = None, 0
    while not stop.is_set():
        number += 1
        try:
            conn = conn or connect(dbname, autocommit=True)
            conn.execute(INSERT_ORDER, [f"w-{number}"])
        except psycopg.Error:
            conn = None
            time.sleep(0.01)
            continue
        acknowledged.append(f"w-{number}")


def _one_run(root, template, archive, backups):
    """(acknowledged, lost, restore exit code, restore seconds) of one restore under writes."""
    with scratch_database("lf_bench_live") as live:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{live}"')
            conn.execute(f'CREATE DATABASE "{live}" TEMPLATE "{template}"')
        before = set(backups.glob("*pre-restore*.dump"))
        stop, acknowledged = threading.Event(), []
        writer = threading.Thread(target=_write_orders, args=(live, stop, acknowledged))
        writer.start()
        try:
            while len(acknowledged) < 50:
                time.sleep(0.01)
            started = time.perf_counter()
            result = _manage(
                root, live, backups, "restore", str(archive), "--confirm", live, check=False
            )
            seconds = time.perf_counter() - started
            time.sleep(0.5)
        finally:
            stop.set()
            writer.join()
        in_database = _order_ids(live)
        (previous,) = set(backups.glob("*pre-restore*.dump")) - before
    with scratch_database("lf_bench_prev") as copy:
        _manage(REPO_ROOT, copy, backups, "restore", str(previous), "--allow-unauthenticated")
        in_backup = _order_ids(copy)
    lost = [order for order in acknowledged if order not in in_database | in_backup]
    return len(acknowledged), len(lost), result.returncode, seconds


def main(runs, rows, baseline_rev):
    workdir = Path(tempfile.mkdtemp(prefix="lf_bench_restore_"))
    baseline_root = workdir / "baseline"
    baseline_root.mkdir()
    archive_bytes = subprocess.run(
        ["git", "archive", baseline_rev], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(baseline_root)], input=archive_bytes, check=True)
    backups = workdir / "backups"
    results = {"this project": [], f"baseline ({baseline_rev})": []}
    with scratch_database("lf_bench_tpl") as template:
        _manage(REPO_ROOT, template, backups, "migrate")
        with connect(template, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
                "SELECT 'ord-' || g, 'acc-1', 'b', g::text, '0x' || repeat('a', 40) "
                "FROM generate_series(1, %s) g",
                [rows],
            )
        _manage(REPO_ROOT, template, backups, "backup")
        (archive,) = backups.glob("*.dump")
        for _ in range(runs):
            for samples, root in zip(results.values(), (REPO_ROOT, baseline_root), strict=True):
                samples.append(_one_run(root, template, archive, backups))
    subprocess.run(["rm", "-rf", str(workdir)], check=True)

    print(machine())
    print(f"{rows} orders in the archive; {runs} runs per variant, alternating")
    for label, samples in results.items():
        acknowledged = sum(s[0] for s in samples)
        lost = sum(s[1] for s in samples)
        exits = sorted({s[2] for s in samples})
        seconds = sorted(s[3] for s in samples)[len(samples) // 2]
        print(
            f"{label}: {lost} of {acknowledged} acknowledged orders lost; restore exit codes "
            f"{exits}; median restore {seconds:.2f} s"
        )
    print(json.dumps({label: samples for label, samples in results.items()}))


if __name__ == "__main__":
    os.environ.setdefault("LEDGERFLOW_ENV", "test")
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        int(sys.argv[2]) if len(sys.argv) > 2 else 50_000,
        sys.argv[3] if len(sys.argv) > 3 else "9841101",
    )
