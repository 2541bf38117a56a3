"""What verification costs: ``take_backup``/``restore_archive`` against bare pg_dump/pg_restore.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres LEDGERFLOW_ENV=test \
     .venv/bin/python benchmarks/backup_restore.py [ROWS]

Builds a scratch database with the LedgerFlow schema and ROWS orders and ROWS deposit events,
then times, in the same run, the bare client call (the baseline) and the project's verified
equivalent (row counts in the dumped snapshot, full read-back, SHA-256, manifest; checksum
first and manifest comparison after for restore). Prints medians of 3 runs and the ratios.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")

import django

django.setup()

from django.db import connections  # noqa: E402

from ledgerflow.db import clienttools  # noqa: E402
from ledgerflow.recovery.backup import take_backup  # noqa: E402
from ledgerflow.recovery.restore import restore_archive  # noqa: E402
from tests.support.databases import (  # noqa: E402
    connect,
    database_url,
    manage,
    scratch_database,
)

REPEATS = 3


def _timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median(samples):
    return statistics.median(samples)


def main(rows):
    with scratch_database("lf_bench_src") as source:
        manage("migrate", database_url_value=database_url(source))
        with connect(source, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
                "SELECT 'ord-' || g, 'acc-' || (g %% 1000), 'b', g::text, '0x' || md5(g::text) "
                "FROM generate_series(1, %s) g",
                [rows],
            )
            conn.execute(
                "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
                "transaction_hash, block_number, log_index) SELECT 1, '0xc', 'ord-' || g, '0xs', "
                "g::text, md5(g::text), g, 0 FROM generate_series(1, %s) g",
                [rows],
            )
            conn.execute("VACUUM ANALYZE")
        connections["default"].settings_dict["NAME"] = source
        settings_dict = dict(connections["default"].settings_dict)
        workdir = Path(tempfile.mkdtemp(prefix="lf_bench_"))

        bare_dump, verified_dump, bare_restore, verified_restore = [], [], [], []
        for index in range(REPEATS):
            bare_path = workdir / f"bare-{index}.dump"
            bare_dump.append(
                _timed(
                    lambda path=bare_path: clienttools.run_client(
                        "pg_dump", ["--format=custom", f"--file={path}"], settings_dict
                    )
                )
            )
            result = {}
            verified_dump.append(
                _timed(lambda r=result: r.update(backup=take_backup(directory=workdir)))
            )
            archive = result["backup"].archive_path
            with scratch_database("lf_bench_dst") as target:
                target_dict = {**settings_dict, "NAME": target}
                bare_restore.append(
                    _timed(
                        lambda t=target, p=bare_path, d=target_dict: clienttools.run_client(
                            "pg_restore",
                            ["--single-transaction", "--no-owner", "--dbname", t, str(p)],
                            d,
                        )
                    )
                )
            with scratch_database("lf_bench_dst") as target:
                target_dict = {**settings_dict, "NAME": target}
                verified_restore.append(
                    _timed(
                        lambda a=archive, d=target_dict: restore_archive(
                            a, d, allow_unauthenticated=True
                        )
                    )
                )
        size = archive.stat().st_size
        subprocess.run(["rm", "-rf", str(workdir)], check=True)

    print(f"rows: {rows} orders + {rows} deposit events; archive {size / 1e6:.1f} MB")
    for name, baseline, ours in (
        ("backup", bare_dump, verified_dump),
        ("restore", bare_restore, verified_restore),
    ):
        b, o = _median(baseline), _median(ours)
        print(
            f"{name}: bare {b:.2f} s, verified {o:.2f} s, ratio {o / b:.2f}x (median of {REPEATS})"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
