"""Shared plumbing for the benchmarks: scratch databases and timed child processes.

Run from the repository root with the project's virtualenv and ``DATABASE_URL`` pointing at any
database on the server to use (only its host, port and credentials are used), e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m
benchmarks.deploy_speed``.
"""

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ledgerflow.db import scratch as db_scratch

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def url_for(dbname):
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def connect(dbname, **kwargs):
    return psycopg.connect(url_for(dbname), **kwargs)


def scratch_database(prefix="lf_bench"):
    """An empty database on the server of ``DATABASE_URL`` for the block; dropped afterwards."""
    return db_scratch.scratch_database(conninfo_to_dict(url_for("postgres")), prefix=prefix)


def child_env(dbname, extra=None):
    return {
        **os.environ,
        "LEDGERFLOW_ENV": "test",
        "DATABASE_URL": url_for(dbname),
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


def ours(*args):
    """``manage.py ARGS``: this project's commands."""
    return [sys.executable, str(REPO_ROOT / "manage.py"), *args]


def stock_migrate(command, *args):
    """Stock Django's ``migrate`` command on the same settings, models and migrations."""
    assert command == "migrate", command
    return [sys.executable, str(REPO_ROOT / "benchmarks" / "stock_migrate.py"), *args]


def timed(command, env, check=True):
    """Run ``command``; returns (wall seconds, result). ``timed.cpu`` holds the child's user+system
    CPU seconds, which the load of other processes on the machine barely moves."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and result.returncode != 0:
        raise RuntimeError(f"{command} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return elapsed, result


def median(values):
    return statistics.median(values)


def machine():
    uname = os.uname()
    with connect("postgres") as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return f"{os.cpu_count()}-core {uname.sysname} {uname.machine} VM, PostgreSQL {version}"
