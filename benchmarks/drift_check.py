"""How much a health check pays for ``detect_drift`` compared with reading the migration records.

Run: ``LEDGERFLOW_ENV=test DATABASE_URL=postgres://... python benchmarks/drift_check.py [N]``
against a migrated database. Prints per-call medians and the ratio; asserts nothing.
"""

import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")
django.setup()

from django.db import connection  # noqa: E402  (after django.setup)
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402

from ledgerflow.schema.drift import detect_drift  # noqa: E402


def median_seconds(function, rounds):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    assert detect_drift(connection) == [], "benchmark needs a clean, migrated database"
    baseline = median_seconds(lambda: MigrationRecorder(connection).applied_migrations(), rounds)
    drift = median_seconds(lambda: detect_drift(connection), rounds)
    print(f"rounds: {rounds}")
    print(f"baseline MigrationRecorder.applied_migrations(): {baseline * 1000:.2f} ms per call")
    print(f"detect_drift(connection):                       {drift * 1000:.2f} ms per call")
    print(f"ratio: {drift / baseline:.1f}x")


if __name__ == "__main__":
    main()
