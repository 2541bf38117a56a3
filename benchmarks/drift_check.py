"""How much a health check pays for ``detect_drift`` compared with reading the migration records.

Run: ``LEDGERFLOW_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
.venv/bin/python -m benchmarks.drift_check [N]``. Builds a scratch database on that server with
this project's ``migrate``, times N calls of each in the same process, prints the medians and the
ratio, and drops the database.
"""

import os
import platform
import statistics
import sys
import time

from benchmarks.common import child_env, ours, scratch_database, timed, url_for


def median_seconds(function, rounds):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(rounds):
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
    django.setup()
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from ledgerflow.schema.drift import detect_drift

    if detect_drift(connection):
        raise SystemExit("the freshly migrated scratch database shows drift; fix that first")
    baseline = median_seconds(lambda: MigrationRecorder(connection).applied_migrations(), rounds)
    drift = median_seconds(lambda: detect_drift(connection), rounds)
    server = connection.cursor().connection.info.parameter_status("server_version")
    connection.close()
    return baseline, drift, server


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with scratch_database("lf_bench_drift") as dbname:
        timed(ours("migrate", "--no-input"), child_env(dbname))
        os.environ["DATABASE_URL"] = url_for(dbname)
        baseline, drift, server = measure(rounds)
    print(
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, PostgreSQL {server}"
    )
    print(f"rounds: {rounds}")
    print(f"baseline MigrationRecorder.applied_migrations(): {baseline * 1000:.2f} ms per call")
    print(f"detect_drift(connection):                       {drift * 1000:.2f} ms per call")
    print(f"ratio: {drift / baseline:.1f}x")


if __name__ == "__main__":
    main()
