"""Helpers for the safe-deploy tests: editable copies of an app's migrations, child processes."""

import shutil
import subprocess
import sys
import time
import uuid

from tests.support.databases import REPO_ROOT, connect, database_url, manage


class MigrationsCopy:
    """An app's migrations copied into ``tmp_path/<package>`` so a test can edit or add some."""

    def __init__(self, tmp_path, app_label):
        self.app_label = app_label
        self.package = f"lf_test_{app_label}_{uuid.uuid4().hex[:8]}"
        self.root = tmp_path
        self.path = tmp_path / self.package
        shutil.copytree(
            REPO_ROOT / app_label / "migrations",
            self.path,
            ignore=shutil.ignore_patterns("__pycache__"),
        )

    def write(self, filename, text):
        (self.path / filename).write_text(text)
        if filename.endswith(".py") and not filename.startswith("__"):
            (self.path / "max_migration.txt").write_text(filename[:-3] + "\n")

    def edit(self, filename, old, new):
        target = self.path / filename
        text = target.read_text()
        assert old in text, f"{old!r} not in {filename}"
        target.write_text(text.replace(old, new, 1))
        shutil.rmtree(self.path / "__pycache__", ignore_errors=True)

    def env(self):
        return {
            "PYTHONPATH": str(self.root),
            "DJANGO_SETTINGS_MODULE": "tests.migrating.child_settings",
            "LEDGERFLOW_TEST_MIGRATION_MODULES": f"{self.app_label}={self.package}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }


def run_manage(dbname, *args, env=None, check=False, timeout=300):
    return manage(
        *args, database_url_value=database_url(dbname), env=env, check=check, timeout=timeout
    )


def start_manage(dbname, *args, env=None):
    """``manage.py ARGS`` as a running child process (stdout and stderr piped)."""
    import os

    child_env = {
        **os.environ,
        "LEDGERFLOW_ENV": "test",
        "PYTHONWARNINGS": "error",
        "DATABASE_URL": database_url(dbname),
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def query(dbname, sql, params=None):
    with connect(dbname, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def migrate_has_connected(dbname, timeout=60.0):
    """Whether a child ``manage.py`` connected to ``dbname`` (then it polls for a held lock)."""
    return wait_until(
        lambda: query(
            dbname,
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s "
            "AND application_name = 'ledgerflow-schema'",
            [dbname],
        ),
        timeout=timeout,
    )


def column_exists(dbname, table, column):
    return bool(
        query(
            dbname,
            "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
    )


def applied(dbname, app_label):
    return [
        row[0]
        for row in query(
            dbname, "SELECT name FROM django_migrations WHERE app = %s ORDER BY id", [app_label]
        )
    ]
