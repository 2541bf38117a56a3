"""Running ``pg_dump``/``pg_restore`` against a Django database, with the versions checked.

Backups, restores and the generated schema docs run them through here; every failure is a
``ClientToolError`` whose message names the fix.

A client older than the server cannot read its catalogs: it is refused up front with the fix
named, never half-way through. Among several installed clients the server's own major is chosen,
else the oldest newer one (a newer pg_dump also writes archives an older pg_restore cannot read).
"""

import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from django.conf import settings

from ledgerflow.db.embedded import SYSTEM_BIN_ROOT
from ledgerflow.db.errors import ClientToolError
from ledgerflow.db.urls import describe_target, psycopg_params

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_PR_SET_PDEATHSIG = 1


def _dies_with_parent():
    """A ``preexec_fn`` (Linux): the kernel kills the child when this process dies, even by
    SIGKILL, so a killed ``backup`` or ``restore`` never leaves a ``pg_dump``/``pg_restore``
    writing on. Elsewhere None: a child then outlives a parent killed outright."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def arm():
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def client_path(program, server_version_num=None):
    """The path of ``program`` (pg_dump, pg_restore) to run against a server of that version.

    LEDGERFLOW_PG_BIN_DIR, when set, is the operator's choice and the only candidate. Otherwise
    the candidates are the one on PATH and those under /usr/lib/postgresql/*/bin (Debian keeps
    one per major version): with no server version the first of them; with one, the client of
    the server's own major, else the oldest newer one (a client reads the catalogs of older
    servers, never of newer ones), else a refusal naming the major needed.
    """
    bin_dir = settings.LEDGERFLOW_PG_BIN_DIR
    if bin_dir:
        candidates = [shutil.which(program, path=bin_dir)]
    else:
        candidates = [shutil.which(program), *map(str, SYSTEM_BIN_ROOT.glob(f"*/bin/{program}"))]
    candidates = list(
        dict.fromkeys(path for path in candidates if path and os.access(path, os.X_OK))
    )
    if not candidates:
        where = f"LEDGERFLOW_PG_BIN_DIR ({bin_dir})" if bin_dir else f"PATH or {SYSTEM_BIN_ROOT}"
        raise ClientToolError(
            f"{program} was not found on {where}. Install the PostgreSQL client tools of the "
            "server's major version (Debian: apt-get install postgresql-client-15) or set "
            "LEDGERFLOW_PG_BIN_DIR to the directory holding them."
        )
    if server_version_num is None or bin_dir:
        return candidates[0]
    major = server_major(server_version_num)
    found = sorted(
        {_version_of(path)[0]: path for path in reversed(candidates)}.items()
    )  # by major; the earlier candidate wins a tie
    usable = [path for client_major, path in found if client_major >= major]
    if not usable:
        have = ", ".join(f"{path} ({client_major})" for client_major, path in found)
        raise ClientToolError(
            f"the server runs PostgreSQL {major}, which needs {program} {major} or newer; the "
            f"installed ones are older: {have}. Nothing was changed. Install "
            f"postgresql-client-{major} (Debian: from the PostgreSQL apt repository) or set "
            f"LEDGERFLOW_PG_BIN_DIR to the bin directory of a {program} {major} or newer."
        )
    return usable[0]


def _version_of(path):
    """``(major, full_version_text)`` reported by ``path --version``: asked once per file as it
    is now (choosing a client, checking it and running it each want the version)."""
    stat = os.stat(path)
    return _reported_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _reported_version(path, _mtime_ns, _size):
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = _VERSION.search(output.stdout)
    if output.returncode != 0 or not match:
        raise ClientToolError(
            f"{path} --version did not report a PostgreSQL version: {output.stdout!r}"
        )
    return int(match.group(1)), output.stdout.strip()


def client_version(program, server_version_num=None):
    """``(major, full_version_text)`` of the ``program`` that ``client_path`` chooses."""
    return _version_of(client_path(program, server_version_num))


def server_major(server_version_num):
    """The major version from ``server_version_num`` (150020 → 15)."""
    return int(server_version_num) // 10000


def check_versions_match(program, client_major, client_text, server_version_num, target):
    """Refuse a client older than the server (it cannot read the server's catalogs), naming both
    and the fix. A newer client works; ``client_path`` prefers the server's own major."""
    major = server_major(server_version_num)
    if client_major < major:
        raise ClientToolError(
            f"{program} is {client_text} but the server of {target} runs PostgreSQL {major}. "
            f"The client's major version must be {major} or newer: install "
            f"postgresql-client-{major} and point LEDGERFLOW_PG_BIN_DIR at its bin directory "
            f"(Debian: /usr/lib/postgresql/{major}/bin). Nothing was changed."
        )


def libpq_environment(settings_dict):
    """Environment variables that point libpq programs at ``settings_dict``'s database.

    The password travels in the environment, never on a command line that ``ps`` shows.
    """
    child = dict(os.environ)
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE"):
        child.pop(name, None)
    values = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
        "PGSSLMODE": settings_dict.get("OPTIONS", {}).get("sslmode"),
        "PGAPPNAME": "ledgerflow-recovery",
    }
    child.update({key: str(value) for key, value in values.items() if value})
    return child


def run_client(program, args, settings_dict, *, check_against_server_version=None):
    """Run a PostgreSQL client program; raise ``ClientToolError`` with its stderr on failure."""
    path = client_path(program, check_against_server_version)
    if check_against_server_version is not None:
        major, text = _version_of(path)
        check_versions_match(
            program, major, text, check_against_server_version, describe_target(settings_dict)
        )
    result = subprocess.run(
        [path, *args],
        env=libpq_environment(settings_dict),
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_dies_with_parent(),
    )
    if result.returncode != 0:
        raise ClientToolError(
            _client_failure(program, result.returncode, result.stderr, settings_dict)
        )
    return result


def _client_failure(program, returncode, stderr, settings_dict):
    """One paragraph: the client's own error lines joined, without its ``program: error:``
    prefixes."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    reason = " ".join(line.removeprefix(f"{program}: ").removeprefix("error: ") for line in lines)
    return (
        f"{program} failed (exit {returncode}) on {describe_target(settings_dict)}: "
        f"{reason or 'no error message'}."
    )


@contextlib.contextmanager
def client_output(program, args, settings_dict, server_version_num=None):
    """Run a PostgreSQL client program (the one ``client_path`` chooses for the server) and
    yield its standard output (a binary file) to read to the end; raise ``ClientToolError`` with
    its stderr when it fails. The program is killed when the block raises, or when this process
    dies."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [client_path(program, server_version_num), *args],
            env=libpq_environment(settings_dict),
            stdout=subprocess.PIPE,
            stderr=errors,
            preexec_fn=_dies_with_parent(),
        )
        try:
            with process.stdout:
                yield process.stdout
        except BaseException:
            process.kill()
            process.wait()
            raise
        returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
            raise ClientToolError(_client_failure(program, returncode, stderr, settings_dict))


def connect(settings_dict, **kwargs):
    """A psycopg connection of its own to ``settings_dict``'s database (not Django's)."""
    import psycopg

    params = {"connect_timeout": 10, **psycopg_params(settings_dict)}
    params["application_name"] = "ledgerflow-recovery"
    try:
        return psycopg.connect(**params, **kwargs)
    except psycopg.ProgrammingError as exc:  # a malformed option, e.g. ?connect_timeout=abc
        raise ClientToolError(
            f"cannot connect to {describe_target(settings_dict)}: {exc}. Fix that option in "
            "DATABASE_URL (or --database-url). Nothing was changed."
        ) from None
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClientToolError(
            f"cannot connect to {describe_target(settings_dict)}: {reason}"
        ) from None
