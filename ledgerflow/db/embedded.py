"""The embedded PostgreSQL used when ``DATABASE_URL`` is not set (development and tests).

A private cluster under ``.pgembedded/`` in the checkout, listening only on a Unix socket, so it
never competes with a machine's own server for a port. Binaries come from the machine's
PostgreSQL (``pg_ctl``/``initdb`` on PATH or under ``/usr/lib/postgresql``) or, failing that, from
the ``pgserver`` wheel (the project's optional ``embedded`` extra). PostgreSQL refuses to run as
root, so as root the cluster runs as an unprivileged user (``LEDGERFLOW_EMBEDDED_USER``, default
``postgres``, else ``nobody``).
"""

import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

DATABASE_NAME = "ledgerflow"
SYSTEM_BIN_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu keep one bin/ per major version
SUPERUSER = "postgres"
# Unix socket paths are limited to 107 bytes; leave room for "/.s.PGSQL.5432".
_MAX_SOCKET_DIR = 90

# pgserver is the optional `embedded` extra: development installs it, the image does not.
INSTALL_HINT = (
    "On Python 3.12 and older, install the project's `embedded` extra, which carries them "
    '(`pip install -e ".[embedded]"`; `make install` does), or install PostgreSQL\'s server '
    "binaries (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), or "
    "set DATABASE_URL to an existing PostgreSQL database."
)


class EmbeddedDatabaseError(RuntimeError):
    pass


def root_dir(base_dir):
    return Path(base_dir) / ".pgembedded"


def socket_dir(base_dir):
    preferred = root_dir(base_dir) / "run"
    if len(str(preferred)) <= _MAX_SOCKET_DIR:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ledgerflow-pg-{digest}"


def database_url(base_dir):
    """The URL of the embedded database; it may not be running yet (see ``ensure_running``)."""
    encoded = str(socket_dir(base_dir)).replace("/", "%2F")
    return f"postgres://{SUPERUSER}@{encoded}/{DATABASE_NAME}"


def find_bin_dir():
    """The directory holding ``pg_ctl`` and ``initdb``: the machine's first, then pgserver's."""
    override = os.environ.get("LEDGERFLOW_POSTGRES_BIN_DIR")
    if override:
        bin_dir = Path(override)
        if not (bin_dir / "pg_ctl").is_file():
            raise EmbeddedDatabaseError(f"LEDGERFLOW_POSTGRES_BIN_DIR={override} holds no pg_ctl.")
        return bin_dir
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(
        SYSTEM_BIN_ROOT.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in [*candidates, _pgserver_bin_dir()]:
        if candidate and (candidate / "pg_ctl").is_file() and (candidate / "initdb").is_file():
            return candidate
    raise EmbeddedDatabaseError(
        f"No PostgreSQL server binaries (pg_ctl, initdb) found. {INSTALL_HINT}"
    )


def _pgserver_bin_dir():
    """The binaries inside the pgserver wheel, found without importing it (its import has side
    effects we do not need)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as():
    """The unprivileged account to run the cluster as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("LEDGERFLOW_EMBEDDED_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise EmbeddedDatabaseError(
        "Running as root, and PostgreSQL refuses to run as root; no unprivileged user "
        "(postgres or nobody) exists. Create one and set LEDGERFLOW_EMBEDDED_USER to it."
    )


def _command(account, *args):
    if account is None:
        return list(args)
    return ["runuser", "-u", account.pw_name, "--", *args]


def _run(account, *args, check=True):
    result = subprocess.run(_command(account, *map(str, args)), capture_output=True, text=True)
    if check and result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise EmbeddedDatabaseError(f"{Path(str(args[0])).name} failed: {output}")
    return result


def _own(path, account):
    path.mkdir(parents=True, exist_ok=True)
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def ensure_running(base_dir):
    """Initialise (once) and start (unless already running) the embedded cluster; create the
    database. Returns the database URL."""
    base = root_dir(base_dir)
    data, run, log = base / "data", socket_dir(base_dir), base / "postgres.log"
    bin_dir = find_bin_dir()
    account = _run_as()
    base.mkdir(parents=True, exist_ok=True)
    _own(run, account)
    if not (data / "PG_VERSION").is_file():
        _own(data, account)
        os.chmod(data, 0o700)
        _run(
            account,
            bin_dir / "initdb",
            "-D",
            data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
    _check_cluster_version(data, bin_dir, account)
    # A server left behind by a deleted checkout at this same path shuts itself down about a
    # minute after it notices, and removes the socket file on its way out, which by then is ours.
    _stop_orphans(data)
    running = _run(account, bin_dir / "pg_ctl", "status", "-D", data, check=False).returncode == 0
    if running and not _accepts_connections(run):
        # Alive by its pid file but unreachable (its socket file was removed): start it afresh.
        _run(account, bin_dir / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w", check=False)
        running = False
    if not running:
        if account is not None and not log.exists():
            log.touch()
            os.chown(log, account.pw_uid, account.pw_gid)
        _run(
            account,
            bin_dir / "pg_ctl",
            "start",
            "-D",
            data,
            "-w",
            "-t",
            "60",
            "-l",
            log,
            "-o",
            f"-c listen_addresses='' -k {run}",
        )
    if not _accepts_connections(run):
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL in {data} was started but accepts no connection on "
            f"{run}. Its log is {log}. Stop it with `make embedded-stop` and run the command "
            f"again; if that fails too, remove {base} (make clean) to start from an empty database."
        )
    _create_database(run)
    return database_url(base_dir)


def _check_cluster_version(data, bin_dir, account):
    """A cluster only starts under the major version that created it: say so plainly."""
    cluster = (data / "PG_VERSION").read_text().strip()
    version = _run(account, bin_dir / "pg_ctl", "--version").stdout.split()[-1]
    if version.split(".")[0] != cluster:
        raise EmbeddedDatabaseError(
            f"the embedded cluster in {data} was created by PostgreSQL {cluster}, but the binaries "
            f"in {bin_dir} are {version}. Point LEDGERFLOW_POSTGRES_BIN_DIR at PostgreSQL "
            f"{cluster}'s bin directory, or remove {data.parent} (make clean) to start afresh."
        )


def stop(base_dir, mode="fast"):
    """Stop the cluster: ``fast`` ends sessions cleanly; ``immediate`` is a crash, as the crash
    benchmark needs. Returns whether a server was running."""
    data = root_dir(base_dir) / "data"
    if not (data / "PG_VERSION").is_file():
        return False
    stopped = _run(
        _run_as(), find_bin_dir() / "pg_ctl", "stop", "-D", data, "-m", mode, check=False
    )
    return stopped.returncode == 0


def stop_and_say(base_dir):
    """``make embedded-stop``: stop the server and confirm what happened."""
    data = root_dir(base_dir) / "data"
    if stop(base_dir):
        print(f"Stopped the embedded PostgreSQL; its data stays in {data}.")
    else:
        print(f"The embedded PostgreSQL was not running (data directory: {data}).")


def _accepts_connections(run):
    """Running means a connection succeeds, not that a pid file names a live process."""
    import psycopg

    try:
        with psycopg.connect(
            host=str(run), user=SUPERUSER, dbname="postgres", connect_timeout=5
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def orphans(data):
    """Pids of postmasters started for ``data`` whose data directory is no longer that
    directory (the checkout was deleted, maybe cloned again at the same path)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    try:
        current = data.stat().st_ino if data.exists() else None
    except OSError:
        current = None
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not argv[0].endswith(b"postgres") or str(data).encode() not in argv:
                continue
            # A postmaster's working directory is its data directory.
            if current is None or (entry / "cwd").stat().st_ino != current:
                found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours to inspect
    return found


def _stop_orphans(data, wait_seconds=30):
    pids = orphans(data)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGQUIT)  # its data is gone: nothing to shut down cleanly
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + wait_seconds
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.05)
    if pids:
        raise EmbeddedDatabaseError(
            f"a PostgreSQL server left behind by a deleted checkout still runs for {data} and "
            f"did not stop. Stop it (kill {' '.join(map(str, pids))}) and run the command again."
        )


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _create_database(run):
    import psycopg

    with psycopg.connect(host=str(run), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
