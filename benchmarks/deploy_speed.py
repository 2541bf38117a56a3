"""Benchmark 1: deploy speed, against every way of putting this schema into PostgreSQL.

In one run, interleaved (each round runs every variant once, on its own empty database), each
child process timed from start to exit, medians of RUNS rounds, wall and client CPU:

- **ours**: ``manage.py migrate`` (and ``migrate --replay`` when the command has it);
- **stock Django**: Django's own ``migrate`` command and executor on the same settings, models
  and migrations (``benchmarks/stock_migrate.py``);
- **Alembic**: the same schema as ONE Alembic revision (the schema SQL executed in the revision's
  ``upgrade``, in Alembic's one transaction), ``alembic upgrade head``;
- **psycopg floor**: one Python process, one psycopg connection executing the schema SQL in one
  transaction (the least a Python deploy tool can do);
- **psql**: ``psql -1 -f`` of the schema SQL.

The schema SQL is ``pg_dump --schema-only`` of a database ``manage.py migrate`` built: the five
tables, schema v2 and Django's tables (without their rows: content types, permissions and the
history are what the two Django commands add). Cold = an empty database; no-op = the same
database right after (nothing to apply). Each Python variant is also run once under
``benchmarks.round_trips`` to count the statements it sends. The project's modules are compiled
to bytecode first, as the image does; the installed packages already are (pip compiles them).
``--before DIR`` adds a checkout's ``manage.py migrate`` (the code before a change).

Run from the repository root: ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
.venv/bin/python -m benchmarks.deploy_speed 7 [--before DIR]``.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import (
    REPO_ROOT,
    child_env,
    machine,
    median,
    ours,
    scratch_database,
    stock_migrate,
    timed,
    url_for,
)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=int, nargs="?", default=5, help="interleaved rounds")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout of the project (e.g. `git archive REV | tar -x -C DIR`): its "
        "`manage.py migrate` is measured too, as a before column",
    )
    return parser.parse_args()


ALEMBIC_ENV = """\
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql+psycopg://", 1)
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""

ALEMBIC_REVISION = '''\
"""The LedgerFlow schema, as one revision."""
from pathlib import Path

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.get_bind().exec_driver_sql(Path(__file__).parents[1].joinpath("schema.sql").read_text())
'''

PSYCOPG_FLOOR = """\
import os
import sys
from pathlib import Path

import psycopg

sql = Path(sys.argv[1]).read_text()
with psycopg.connect(os.environ["DATABASE_URL"]) as connection:  # commits on leaving
    connection.execute(sql)
"""


def schema_sql(workdir):
    """``pg_dump --schema-only`` of a migrated database, less psql's meta-commands (``\\restrict``,
    which only psql reads): the schema every non-Django variant applies."""
    with scratch_database() as db:
        timed(ours("migrate", "--no-input"), child_env(db))
        dump = subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", url_for(db)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    path = workdir / "schema.sql"
    sql = "".join(line for line in dump.splitlines(True) if not line.startswith("\\"))
    # The dump empties search_path for the session; Alembic then writes its version table.
    path.write_text(sql + "\nRESET search_path;\n")
    return path


def alembic_project(workdir):
    (workdir / "versions").mkdir()
    (workdir / "env.py").write_text(ALEMBIC_ENV)
    (workdir / "versions" / "0001_schema.py").write_text(ALEMBIC_REVISION)
    ini = workdir / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {workdir}\n")
    return ini


def has_replay():
    """Whether this checkout's ``migrate`` has ``--replay`` (the schema-load fast path)."""
    result = timed(ours("migrate", "--help"), child_env("postgres"))[1]
    return "--replay" in result.stdout


def compile_project(root):
    """Bytecode for the project's modules under ``root``, as the image has (its Dockerfile runs
    compileall): where PYTHONDONTWRITEBYTECODE is set, every run would compile them again,
    while the installed packages (Django, SQLAlchemy, Alembic) were compiled by pip."""
    packages = [path.name for path in root.iterdir() if (path / "__init__.py").is_file()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=root, check=True)


def variants(workdir, before=None):
    """``{name: (command, has a no-op phase)}``, in the order of the tables."""
    for root in (REPO_ROOT, before):
        if root:
            compile_project(root)
    sql = schema_sql(workdir)
    ini = alembic_project(workdir)
    floor = workdir / "psycopg_floor.py"
    floor.write_text(PSYCOPG_FLOOR)
    found = {"ours": (ours("migrate", "--no-input"), True)}
    if before:
        manage = str(before.resolve() / "manage.py")
        found["before"] = ([sys.executable, manage, "migrate", "--no-input"], True)
    if has_replay():
        found["ours --replay"] = (ours("migrate", "--no-input", "--replay"), True)
    found["stock Django"] = (stock_migrate("migrate", "--no-input"), True)
    found["Alembic"] = ([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"], True)
    found["psycopg floor"] = ([sys.executable, str(floor), str(sql)], False)
    found["psql -1 -f"] = (
        ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(sql)],
        False,
    )
    return found


def round_trips(command, env):
    """Statements the Python ``command`` sends (``benchmarks.round_trips``); ``None`` for psql."""
    if command[0] != sys.executable:
        return None
    counted = [sys.executable, "-m", "benchmarks.round_trips", *command[1:]]
    stderr = timed(counted, env)[1].stderr
    return int(stderr.rsplit("round trips:", 1)[1].split()[0])


def measure(found, runs):
    wall = {(name, phase): [] for name, (_, noop) in found.items() for phase in ("cold", "noop")}
    cpu = {key: [] for key in wall}
    trips = {}
    for round_ in range(runs + 1):
        for name, (command, noop) in found.items():
            with scratch_database() as db:
                env = child_env(db)
                if name == "psql -1 -f":
                    command = [*command, url_for(db)]
                for phase in ("cold", "noop") if noop else ("cold",):
                    if round_ == runs:  # one more round, counting statements, not timed
                        trips[(name, phase)] = round_trips(command, env)
                        continue
                    wall[(name, phase)].append(timed(command, env)[0])
                    cpu[(name, phase)].append(timed.cpu)
    return wall, cpu, trips


def table(found, values, fmt):
    names = list(found)
    lines = [
        "| run | " + " | ".join(names) + " | ours / stock | ours / Alembic |",
        "|---" * (len(names) + 3) + "|",
    ]
    for phase, label in (("cold", "cold migrate (empty database)"), ("noop", "no-op migrate")):
        cells = [fmt(values.get((name, phase))) for name in names]
        ratios = [
            _ratio(values.get(("ours", phase)), values.get((other, phase)))
            for other in ("stock Django", "Alembic")
        ]
        lines.append(f"| {label} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def _ratio(ours_value, other):
    return f"{ours_value / other:.2f}" if ours_value and other else "—"


def main():
    args = arguments()
    with tempfile.TemporaryDirectory(prefix="lf_deploy_speed_") as tmp:
        found = variants(Path(tmp), args.before)
        wall, cpu, trips = measure(found, args.runs)
    medians = {key: median(values) for key, values in wall.items() if values}
    cpu_medians = {key: median(values) for key, values in cpu.items() if values}
    seconds = lambda value: "—" if value is None else f"{value:.3f}"  # noqa: E731
    count = lambda value: "—" if value is None else str(value)  # noqa: E731
    print(f"Machine: {machine()}; {args.runs} interleaved rounds; medians.")
    print(f"Command: python -m benchmarks.deploy_speed {' '.join(sys.argv[1:])}\n")
    print("Wall seconds, process start to exit:\n")
    print(table(found, medians, seconds))
    print("\nClient CPU seconds (user+system of the child; psql's excludes the server):\n")
    print(table(found, cpu_medians, seconds))
    print("\nStatements sent (round trips; BEGIN/COMMIT included, psql not counted):\n")
    print(table(found, trips, count))
    print("\nraw wall samples:")
    for (name, phase), values in wall.items():
        if values:
            print(f"  {name} {phase}: {[round(value, 3) for value in values]}")


if __name__ == "__main__":
    main()
