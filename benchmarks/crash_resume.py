"""Crash injection: interrupt a cold ``migrate`` everywhere, then check a plain rerun converges.

Three kinds of interruption, each on a fresh empty database:

- ``boundary``: SIGKILL at each migration's history row. A session holds ``django_migrations``
  against writes, so the run stops right after a migration's DDL (deferred index SQL included);
  the holder lets the run through one migration at a time and kills it at the k-th stop.
- ``boundary-server-stop``: the same stops, with ``pg_ctl stop -m immediate`` of a private
  cluster instead of SIGKILL.
- ``sigkill``: SIGKILL at evenly spaced moments over a cold run (start-up, inside migrations,
  between them, the post-migrate signals).
- ``server-stop``: ``pg_ctl stop -m immediate`` of a private cluster at the same moments, then
  the server is started again.

A point counts as *resumed* when a plain ``migrate`` afterwards exits 0 and the database is
indistinguishable from a clean cold migrate: the same catalogue (every table of the schema,
Django's included: columns, constraints, indexes, triggers, enums, functions, sequences), no
history row twice, and a checksum row for every applied migration.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m benchmarks.crash_resume [--points N] [--checkout PATH]

``--checkout`` runs the same points against another checkout of the project (e.g. an older
commit made with ``git worktree add``), as the baseline beside this one.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg

from benchmarks.common import REPO_ROOT, SERVER_URL, machine, url_for

# Django's history table, made by Django itself, so a benchmark session can hold it from the start.
CREATE_HISTORY_TABLE = (
    "from django.db import connection; "
    "from django.db.migrations.recorder import MigrationRecorder; "
    "MigrationRecorder(connection).ensure_schema()"
)


# Rows that migrate's post-migrate step writes, as a clean run leaves them.
SEEDED_ROWS = (
    "SELECT app_label || '.' || model FROM django_content_type ORDER BY 1",
    "SELECT codename FROM auth_permission ORDER BY 1",
)


def snapshot(conninfo):
    """The catalogue of every table of the database's schema, and the rows migrate seeds, as
    comparable data."""
    from ledgerflow.db.introspection import schema_snapshot

    with psycopg.connect(conninfo) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        )
        tables = [row[0] for row in cursor.fetchall()]
        catalogue = schema_snapshot(cursor, tables=tables)
        seeded = [cursor.execute(sql).fetchall() for sql in SEEDED_ROWS]
        return catalogue, seeded


def problems(conninfo, reference):
    """What differs from a clean cold migrate; empty when the database converged."""
    found = []
    catalogue, seeded = snapshot(conninfo)
    if catalogue != reference[0]:
        found.append("catalogue differs from a clean migrate")
    if seeded != reference[1]:
        found.append("content types or permissions differ from a clean migrate")
    with psycopg.connect(conninfo) as conn:
        twice = conn.execute(
            "SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1"
        ).fetchall()
        if twice:
            found.append(f"history rows twice: {twice}")
        missing = conn.execute(
            "SELECT m.app, m.name FROM django_migrations m "
            "LEFT JOIN ledgerflow_migration_checksums c ON (c.app, c.name) = (m.app, m.name) "
            "WHERE c.app IS NULL"
        ).fetchall()
        if missing:
            found.append(f"no checksum for {len(missing)} applied migrations")
    return found


class Target:
    """Where the runs go: databases on the given server, or on a private cluster we may stop."""

    def __init__(self, server_url, cluster_dir=None):
        self.server_url = server_url
        self.cluster_dir = cluster_dir

    def url(self, dbname):
        if self.cluster_dir is None:
            return url_for(dbname)
        from ledgerflow.db import embedded

        return embedded.database_url(self.cluster_dir).rsplit("/", 1)[0] + f"/{quote(dbname)}"

    def admin(self):
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create(self):
        name = f"lf_crash_{uuid.uuid4().hex[:8]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name):
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop_immediately(self):
        from ledgerflow.db import embedded

        embedded.stop(self.cluster_dir, mode="immediate")

    def start(self):
        from ledgerflow.db import embedded

        embedded.ensure_running(self.cluster_dir)


def migrate_command(checkout, url):
    env = {**os.environ, "LEDGERFLOW_ENV": "test", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    # --replay: the interruptions fall between migrations; an empty database would otherwise
    # get the head schema in one transaction (tests/migrating/test_interruptions.py kills that).
    command = [sys.executable, str(Path(checkout) / "manage.py"), "migrate"]
    if (Path(checkout) / "ledgerflow" / "migrating" / "schema_load.py").exists():
        command.append("--replay")  # an older checkout (the baseline) always replays
    return command, env, checkout


def start_migrate(checkout, url):
    command, env, cwd = migrate_command(checkout, url)
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run_migrate(checkout, url):
    command, env, cwd = migrate_command(checkout, url)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _history_waiters(conn, dbname):
    return conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = %s "
        "AND l.relation = to_regclass('django_migrations')",
        [dbname],
    ).fetchone()[0]


def kill_at_boundary(checkout, target, dbname, k, server_stop=False):
    """Let the run record k-1 migrations, then SIGKILL it (or stop the server under it) at the
    k-th history row. Returns False when the run finished before reaching it."""
    url = target.url(dbname)
    command, env, cwd = migrate_command(checkout, url)
    command = [*command[:-1], "shell", "-c", CREATE_HISTORY_TABLE]
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    holder = psycopg.connect(url)
    watcher = psycopg.connect(url, autocommit=True)
    child = start_migrate(checkout, url)
    try:
        holder.execute("LOCK TABLE django_migrations IN EXCLUSIVE MODE")
        for stop in range(1, k + 1):
            while _history_waiters(watcher, dbname) == 0:
                if child.poll() is not None:
                    return False
                time.sleep(0.005)
            if stop == k:
                interrupt(target, child, server_stop)
                return True
            holder.commit()  # let this one record, and hold the table again for the next
            holder.execute("LOCK TABLE django_migrations IN EXCLUSIVE MODE")
    finally:
        for conn in (holder, watcher):
            with contextlib.suppress(psycopg.Error):
                conn.close()
        if child.poll() is None:
            child.kill()
        child.wait()
    return True


def interrupt(target, child, server_stop):
    if server_stop:
        target.stop_immediately()
        child.wait(timeout=120)
        target.start()
    else:
        child.send_signal(signal.SIGKILL)
        child.wait()


def kill_after(checkout, target, dbname, delay, server_stop):
    child = start_migrate(checkout, target.url(dbname))
    time.sleep(delay)
    finished = child.poll() is not None
    interrupt(target, child, server_stop)
    return not finished


def measure(checkout, target, kind, points, reference):
    """``(resumed, interrupted, failures)`` over ``points`` interruptions of ``kind``."""
    resumed = interrupted = 0
    failures = []
    duration = None
    boundary = kind.startswith("boundary")
    server_stop = kind.endswith("server-stop")
    if not boundary:
        dbname = target.create()
        started = time.perf_counter()
        assert run_migrate(checkout, target.url(dbname)).returncode == 0
        duration = time.perf_counter() - started
        target.drop(dbname)
    for point in range(1, points + 1):
        dbname = target.create()
        try:
            if boundary:
                hit = kill_at_boundary(checkout, target, dbname, point, server_stop)
            else:
                delay = duration * (point - 0.5) / points
                hit = kill_after(checkout, target, dbname, delay, server_stop)
            if not hit:
                continue
            interrupted += 1
            rerun = run_migrate(checkout, target.url(dbname))
            found = problems(target.url(dbname), reference) if rerun.returncode == 0 else []
            if rerun.returncode == 0 and not found:
                resumed += 1
            else:
                reason = found or [(rerun.stderr.strip().splitlines() or ["?"])[-1][:160]]
                failures.append((point, reason))
        finally:
            target.drop(dbname)
    return resumed, interrupted, failures


def reference_snapshot(checkout, target):
    dbname = target.create()
    try:
        result = run_migrate(checkout, target.url(dbname))
        assert result.returncode == 0, result.stderr
        return snapshot(target.url(dbname))
    finally:
        target.drop(dbname)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10, help="timed interruptions per kind")
    parser.add_argument("--boundaries", type=int, default=30, help="history rows to stop at")
    parser.add_argument("--checkout", action="append", default=[], help="another checkout")
    parser.add_argument("--kind", action="append", help="only these interruptions")
    args = parser.parse_args()
    checkouts = [str(REPO_ROOT), *args.checkout]
    print(f"Machine: {machine()}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="lf-crash-") as cluster:
        os.chmod(cluster, 0o755)  # the cluster's own user must reach its directory
        private = Target(SERVER_URL, cluster_dir=cluster)
        private.start()
        shared = Target(SERVER_URL)
        try:
            print("| checkout | interruption | resumed / interrupted | failures |")
            print("|---|---|---|---|")
            for checkout in checkouts:
                for kind, target, points in (
                    ("boundary", shared, args.boundaries),
                    ("boundary-server-stop", private, args.boundaries),
                    ("sigkill", shared, args.points),
                    ("server-stop", private, args.points),
                ):
                    if args.kind and kind not in args.kind:
                        continue
                    reference = reference_snapshot(checkout, target)
                    resumed, interrupted, failures = measure(
                        checkout, target, kind, points, reference
                    )
                    shown = "; ".join(f"#{p}: {', '.join(r)}" for p, r in failures[:3])
                    print(
                        f"| {Path(checkout).name} | {kind} | {resumed} / {interrupted} | "
                        f"{shown or '-'} |",
                        flush=True,
                    )
        finally:
            from ledgerflow.db import embedded

            embedded.stop(cluster)


if __name__ == "__main__":
    main()
