"""Cold ``migrate`` on an empty database: the schema-load fast path against ``--replay``, and the
fast path with 10 more (no-op) migrations in history against today's history.

Whole-process wall times (``manage.py migrate --verbosity 0``, start-up included), runs
interleaved so that the machine's load falls on every variant alike; medians. The longer history
lives in a temporary copy of the repository: 10 empty migrations are added to ``users``, and the
copy's ``head_schema.sql`` is regenerated, as ``schema_docs`` would after adding them. Both
checkouts are compiled to bytecode first, as the image is.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m \
        benchmarks.schema_load [RUNS]
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import REPO_ROOT, child_env, median, scratch_database, timed
from benchmarks.deploy_speed import compile_project

EXTRA_MIGRATIONS = 10
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "artifacts", "cache", "node_modules", "*.egg-info"
)


def _noop_migration(previous):
    return (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('users', '{previous}')]\n"
        "    operations = []\n"
    )


def copy_with_longer_history(root, server_db):
    """A copy of the repository under ``root`` with ``EXTRA_MIGRATIONS`` more migrations and a
    head snapshot regenerated for them."""
    copy = Path(root) / "repo"
    shutil.copytree(REPO_ROOT, copy, ignore=_IGNORED)
    migrations = copy / "users" / "migrations"
    previous = (migrations / "max_migration.txt").read_text().strip()
    for number in range(2, 2 + EXTRA_MIGRATIONS):
        name = f"{number:04d}_noop"
        (migrations / f"{name}.py").write_text(_noop_migration(previous))
        previous = name
    (migrations / "max_migration.txt").write_text(previous + "\n")
    regenerate = (
        "from ledgerflow.schema import head_snapshot; "
        "head_snapshot.path().write_text(head_snapshot.generate_head_snapshot())"
    )
    subprocess.run(
        [sys.executable, str(copy / "manage.py"), "shell", "-v0", "-c", regenerate],
        cwd=copy,
        env=child_env(server_db),
        check=True,
        capture_output=True,
    )
    return copy


def cold_migrate(repo, *args):
    with scratch_database("lf_bench_load") as db:
        elapsed, result = timed(
            [sys.executable, str(repo / "manage.py"), "migrate", "--verbosity", "1", *args],
            child_env(db),
        )
    loaded = "Loaded the head schema" in result.stdout
    return elapsed, timed.cpu, loaded


def main(runs=7):
    with tempfile.TemporaryDirectory() as root, scratch_database("lf_bench_gen") as server_db:
        longer = copy_with_longer_history(root, server_db)
        # Both with bytecode, as the image has: under PYTHONDONTWRITEBYTECODE the copy would
        # otherwise compile every module at every run, and read as a longer history's cost.
        for repo in (REPO_ROOT, longer):
            compile_project(repo)
        variants = {
            "load": (REPO_ROOT, ()),
            "replay": (REPO_ROOT, ("--replay",)),
            f"load, +{EXTRA_MIGRATIONS} migrations": (longer, ()),
        }
        times = {name: [] for name in variants}
        cpu = {name: [] for name in variants}
        for _ in range(runs):
            for name, (repo, args) in variants.items():
                elapsed, cpu_seconds, loaded = cold_migrate(repo, *args)
                assert loaded == ("replay" not in name), f"{name}: wrong path taken"
                times[name].append(elapsed)
                cpu[name].append(cpu_seconds)
    medians = {name: median(values) for name, values in times.items()}
    print(f"cold migrate on an empty database, whole process, median of {runs} interleaved runs")
    print(f"  {'':<24} {'wall':>8} {'client CPU':>11}")
    for name, value in medians.items():
        print(f"  {name:<24} {value:7.3f}s {median(cpu[name]):10.3f}s")
    print(f"  load / replay:            {medians['load'] / medians['replay']:.2f}x")
    extra = medians[f"load, +{EXTRA_MIGRATIONS} migrations"] / medians["load"]
    print(f"  +{EXTRA_MIGRATIONS} migrations / today:   {extra:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
