"""Latency of GET /health/ready: warm cache, cold cache, and 50 concurrent clients.

Local only and bounded: it creates a scratch database on DATABASE_URL's server, migrates it, serves
the project with gunicorn (2 workers x 25 threads, psycopg pool of 10 per worker) on 127.0.0.1,
measures, and drops the database. /health/live (no database work) is the baseline in the same run.
Every check is the real one: checksums, migration state and drift (a catalog snapshot compared
with the stored expected schema).

    LEDGERFLOW_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/health_ready.py [--requests 300] [--per-client 20]
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.servers import get, running_server  # noqa: E402

CLIENTS = 50


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_get(url):
    start = time.perf_counter()
    status, _ = get(url)
    return time.perf_counter() - start, status


def sequential(url, count):
    timed_get(url)  # warm-up: the process's first request loads the migration graph
    return [timed_get(url) for _ in range(count)]


def concurrent(url, per_client):
    timed_get(url)

    def client(_):
        return [timed_get(url) for _ in range(per_client)]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [sample for batch in pool.map(client, range(CLIENTS)) for sample in batch]
    return results, time.perf_counter() - start


def summarise(name, samples, elapsed=None):
    seconds = [s for s, _ in samples]
    statuses = sorted({status for _, status in samples})
    row = {
        "name": name,
        "n": len(samples),
        "median_ms": statistics.median(seconds) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "statuses": statuses,
    }
    if elapsed:
        row["throughput"] = len(samples) / elapsed
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per case")
    parser.add_argument("--per-client", type=int, default=20, help="requests per concurrent client")
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000 or not 1 <= args.per_client <= 200:
        parser.error("--requests must be 1..5000 and --per-client 1..200 (keep the run bounded)")
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        parser.error("set DATABASE_URL to a local PostgreSQL server (its database is not used)")
    parts = urlsplit(server_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark runs against a local server only")

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    dbname = f"lf_bench_{uuid.uuid4().hex[:10]}"
    bench_url = urlunsplit(parts._replace(path=f"/{dbname}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    rows = []
    try:
        env = {**os.environ, "LEDGERFLOW_ENV": "test", "DATABASE_URL": bench_url}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True
        )
        common = {
            "DATABASE_POOL": "true",
            "DATABASE_POOL_MIN_SIZE": "2",
            "DATABASE_POOL_MAX_SIZE": "10",
            "LOG_LEVEL": "WARNING",
        }
        serve = {"threads": 25, "workers": 2}
        for label, cache_seconds in (("warm", "300"), ("cold", "0")):
            with running_server(
                bench_url, env={**common, "HEALTH_CACHE_SECONDS": cache_seconds}, **serve
            ) as server:
                live, ready = server.url("/health/live"), server.url("/health/ready")
                if label == "warm":
                    rows.append(summarise("live (baseline)", sequential(live, args.requests)))
                rows.append(summarise(f"ready, {label} cache", sequential(ready, args.requests)))
                if label == "warm":
                    rows.append(
                        summarise(
                            f"live, {CLIENTS} clients (baseline)",
                            *concurrent(live, args.per_client),
                        )
                    )
                rows.append(
                    summarise(
                        f"ready, {label} cache, {CLIENTS} clients",
                        *concurrent(ready, args.per_client),
                    )
                )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    print(
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, PostgreSQL {server_version}"
    )
    base = {False: rows[0]["median_ms"], True: None}
    for row in rows:
        concurrent_row = "clients" in row["name"]
        if concurrent_row and "live" in row["name"]:
            base[True] = row["median_ms"]
        reference = base[concurrent_row] if base[concurrent_row] else row["median_ms"]
        ratio = row["median_ms"] / reference
        extra = f", {row['throughput']:.0f} req/s" if "throughput" in row else ""
        print(
            f"{row['name']:<34} n={row['n']:<5} median {row['median_ms']:7.2f} ms  "
            f"p99 {row['p99_ms']:7.2f} ms  ({ratio:4.1f}x live){extra}  status {row['statuses']}"
        )


if __name__ == "__main__":
    main()
