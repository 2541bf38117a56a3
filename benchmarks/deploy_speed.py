"""Benchmark 1: deploy speed.

Cold ``migrate`` on an empty database and a no-op ``migrate`` on a migrated one, for this
project's ``migrate`` and for stock Django's on the same models, beside ``psql`` applying the same
schema from one SQL file (``pg_dump --schema-only`` of a migrated database) in one transaction.
Medians of RUNS runs, each child process timed from start to exit.
"""

import subprocess
import sys
import tempfile

from benchmarks.common import (
    child_env,
    machine,
    median,
    ours,
    scratch_database,
    stock_migrate,
    timed,
    url_for,
)

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def schema_file():
    with scratch_database() as db:
        timed(ours("migrate", "--no-input"), child_env(db))
        dump = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", url_for(db)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    handle = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)  # noqa: SIM115
    handle.write(dump)
    handle.close()
    return handle.name


def main():
    sql_path = schema_file()
    keys = ("ours_cold", "stock_cold", "psql_cold", "ours_noop", "stock_noop")
    samples = {key: [] for key in keys}
    cpu = {key: [] for key in keys}
    for _ in range(RUNS):
        for key, command in (("ours", ours), ("stock", stock_migrate)):
            with scratch_database() as db:
                env = child_env(db)
                for phase in ("cold", "noop"):
                    samples[f"{key}_{phase}"].append(
                        timed(command("migrate", "--no-input"), env)[0]
                    )
                    cpu[f"{key}_{phase}"].append(timed.cpu)
        with scratch_database() as db:
            psql = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-1", "-f", sql_path, url_for(db)]
            samples["psql_cold"].append(timed(psql, child_env(db))[0])
            cpu["psql_cold"].append(timed.cpu)
    medians = {key: median(values) for key, values in samples.items()}
    cpu_medians = {key: median(values) for key, values in cpu.items()}
    print(f"Machine: {machine()}; {RUNS} runs each; medians in seconds.\n")
    print("| run | this project | stock Django | psql, one SQL file | ours / stock |")
    print("|---|---|---|---|---|")
    print(
        f"| cold migrate (empty database) | {medians['ours_cold']:.3f} | "
        f"{medians['stock_cold']:.3f} | {medians['psql_cold']:.3f} | "
        f"{medians['ours_cold'] / medians['stock_cold']:.2f} |"
    )
    print(
        f"| no-op migrate (at head) | {medians['ours_noop']:.3f} | {medians['stock_noop']:.3f} | "
        f"n/a | {medians['ours_noop'] / medians['stock_noop']:.2f} |"
    )
    print(
        f"\ncold: ours / psql = {medians['ours_cold'] / medians['psql_cold']:.1f}x, "
        f"stock / psql = {medians['stock_cold'] / medians['psql_cold']:.1f}x"
    )
    print("\nClient CPU seconds (user+system of the child process; psql's excludes the server):")
    print("| run | this project | stock Django | psql | ours / stock |")
    print("|---|---|---|---|---|")
    for phase, label in (("cold", "cold migrate"), ("noop", "no-op migrate")):
        psql_cpu = f"{cpu_medians['psql_cold']:.3f}" if phase == "cold" else "n/a"
        print(
            f"| {label} | {cpu_medians[f'ours_{phase}']:.3f} | {cpu_medians[f'stock_{phase}']:.3f} "
            f"| {psql_cpu} | {cpu_medians[f'ours_{phase}'] / cpu_medians[f'stock_{phase}']:.2f} |"
        )
    print("raw samples:", {k: [round(v, 3) for v in vals] for k, vals in samples.items()})


if __name__ == "__main__":
    main()
