"""No database password reaches stdout or stderr of a real command, whatever shape its URL has
and whichever way it comes in: DATABASE_URL, MIGRATION_DATABASE_URL, ``restore --database-url``
or ``schema_drift --against``. Each case runs ``manage.py`` in a child process."""

import pytest

from tests.support.databases import manage

pytestmark = pytest.mark.process

SECRET = "hunter2"
# Each malformed shape, and the pieces of its password that must never be shown.
MALFORMED = [
    ("missing //", f"postgres:ledger:{SECRET}@db.internal/ledgerflow", [SECRET]),
    ("single slash", f"postgres:/ledger:{SECRET}@db.internal/ledgerflow", [SECRET]),
    ("no scheme", f"ledger:{SECRET}@db.internal:5432/ledgerflow", [SECRET]),
    ("no scheme, //", f"//ledger:{SECRET}@db.internal/ledgerflow", [SECRET]),
    ("bad port", f"postgres://ledger:{SECRET}@db.internal:54x2/ledgerflow", [SECRET]),
    ("port out of range", f"postgres://ledger:{SECRET}@db.internal:99999/ledgerflow", [SECRET]),
    # urlsplit reads a piece of these passwords as the host and port.
    ("'/' in password", f"postgres://ledger:{SECRET}/x@db.internal/ledgerflow", [SECRET]),
    ("numeric password with '/'", "postgres://ledger:31337/x@db.internal/l", ["31337"]),
    ("'?' in password", f"postgres://ledger:{SECRET}?x@db.internal/ledgerflow", [SECRET]),
    ("'#' in password", f"postgres://ledger:{SECRET}#x@db.internal/ledgerflow", [SECRET]),
    ("stray '['", f"postgres://ledger:{SECRET}@[::1/ledgerflow", [SECRET]),
    ("space in host", f"postgres://ledger:{SECRET}@db internal/ledgerflow", [SECRET]),
    ("'@' in query", f"postgres://db.internal/ledgerflow?password={SECRET}@zq9", [SECRET, "zq9"]),
    ("query password, no //", f"postgres:/db.internal/ledgerflow?password={SECRET}", [SECRET]),
    ("not postgres", f"mysql://root:{SECRET}@db.internal/ledgerflow", [SECRET]),
    ("names no database", f"postgres://ledger:{SECRET}@db.internal:5432", [SECRET]),
]

# Well formed, however odd: they get as far as connecting (to a port nothing listens on).
CONNECTABLE = [
    ("'@' in password", f"postgres://ledger:{SECRET}@zq9@127.0.0.1:1/l", [SECRET, "zq9"]),
    ("':' in password", f"postgres://ledger:{SECRET}:zq9@127.0.0.1:1/l", [SECRET, "zq9"]),
    ("percent-encoded", f"postgres://ledger:{SECRET}%2Fzq9@127.0.0.1:1/l", [SECRET, "zq9"]),
    ("bad percent-encoding", f"postgres://ledger:{SECRET}%zz@127.0.0.1:1/l", [SECRET]),
    ("space in password", f"postgres://ledger:{SECRET} zq9@127.0.0.1:1/l", [SECRET, "zq9"]),
    ("unicode password", "postgres://ledger:hünter2séc@127.0.0.1:1/l", ["hünter2séc", "nter2s"]),
    ("fullwidth slash", f"postgres://ledger:{SECRET}\uff0fzq9@127.0.0.1:1/l", [SECRET, "zq9"]),
    ("empty password", f"postgres://ledger:@127.0.0.1:1/l?password={SECRET}", [SECRET]),
    (
        "query password",
        f"postgres://ledger@127.0.0.1:1/l?sslmode=disable&password={SECRET}",
        [SECRET],
    ),
]
SHAPES = MALFORMED + CONNECTABLE
PATHS = [
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "restore --database-url",
    "schema_drift --against",
]


def run_with_url(path, url, live_url, tmp_path):
    if path == "DATABASE_URL":
        return manage("migrate", "--no-input", database_url_value=url, check=False)
    if path == "MIGRATION_DATABASE_URL":
        return manage(
            "migrate",
            "--no-input",
            database_url_value=live_url,
            env={"MIGRATION_DATABASE_URL": url},
            check=False,
        )
    if path == "restore --database-url":
        archive = tmp_path / "missing.dump"
        return manage(
            "restore", str(archive), "--database-url", url, database_url_value=live_url, check=False
        )
    return manage("schema_drift", "--against", url, database_url_value=live_url, check=False)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("shape", "url", "secrets"), SHAPES, ids=[s[0] for s in SHAPES])
def test_no_url_shape_shows_its_password_on_any_input_path(
    path, shape, url, secrets, live_database_url, tmp_path
):
    result = run_with_url(path, url, live_database_url, tmp_path)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    for secret in secrets:
        assert secret not in output, f"{shape} via {path} shows {secret!r}:\n{output}"
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(("shape", "url", "secrets"), SHAPES, ids=[s[0] for s in SHAPES])
def test_diffsettings_shows_a_migration_database_url_only_as_described(
    shape, url, secrets, live_database_url
):
    result = manage(
        "diffsettings",
        database_url_value=live_database_url,
        env={"MIGRATION_DATABASE_URL": url},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "MIGRATION_DATABASE_URL = " in result.stdout
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, f"{shape} shows {secret!r}"
