"""The client tools (pg_dump, pg_restore): which one runs against which server (the server's
major, else a newer one) and the version check before it runs."""

import stat

import pytest

from ledgerflow.db import clienttools
from ledgerflow.db.errors import ClientToolError
from tests.support.databases import connect


def _fake_client(directory, program, version):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / program
    path.write_text(f"#!/bin/sh\necho '{program} (PostgreSQL) {version}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def installed(tmp_path, monkeypatch, settings):
    """``installed(on_path, *debian_versions)``: pg_dump clients of those versions, one on PATH
    and one under a Debian-style <root>/<major>/bin each; returns their paths by version."""
    settings.LEDGERFLOW_PG_BIN_DIR = ""
    root = tmp_path / "lib-postgresql"
    monkeypatch.setattr(clienttools, "SYSTEM_BIN_ROOT", root)

    def install(on_path, *debian_versions):
        paths = {on_path: _fake_client(tmp_path / "path-bin", "pg_dump", on_path)}
        monkeypatch.setenv("PATH", str(tmp_path / "path-bin"))
        for version in debian_versions:
            major = version.split(".")[0]
            paths.setdefault(version, _fake_client(root / major / "bin", "pg_dump", version))
        return paths

    return install


@pytest.mark.process
def test_client_of_the_servers_major_is_chosen_over_newer_ones(installed):
    paths = installed("17.2", "15.14", "16.8", "17.2")

    assert clienttools.client_path("pg_dump", 160004) == paths["16.8"]
    assert clienttools.client_version("pg_dump", 160004) == (16, "pg_dump (PostgreSQL) 16.8")


@pytest.mark.process
def test_oldest_newer_client_is_chosen_when_none_has_the_servers_major(installed):
    paths = installed("17.2", "15.14", "18.1")

    assert clienttools.client_path("pg_dump", 140011) == paths["15.14"]
    assert clienttools.client_path("pg_dump", 170000) == paths["17.2"]


def test_path_client_is_kept_when_no_server_version_is_given(installed):
    paths = installed("15.14", "17.2")

    assert clienttools.client_path("pg_dump") == paths["15.14"]


@pytest.mark.process
def test_server_newer_than_every_client_is_refused_naming_the_major_needed(installed):
    paths = installed("15.14", "16.8")

    with pytest.raises(ClientToolError) as error:
        clienttools.client_path("pg_dump", 180004)

    assert str(error.value) == (
        "the server runs PostgreSQL 18, which needs pg_dump 18 or newer; the installed ones are "
        f"older: {paths['15.14']} (15), {paths['16.8']} (16). Nothing was changed. Install "
        "postgresql-client-18 (Debian: from the PostgreSQL apt repository) or set "
        "LEDGERFLOW_PG_BIN_DIR to the bin directory of a pg_dump 18 or newer."
    )


def test_version_check_names_both_versions_and_the_fix():
    with pytest.raises(ClientToolError) as error:
        clienttools.check_versions_match(
            "pg_restore", 14, "pg_restore (PostgreSQL) 14.11", 150020, "db x"
        )

    assert "pg_restore (PostgreSQL) 14.11" in str(error.value)
    assert "runs PostgreSQL 15" in str(error.value)
    assert "/usr/lib/postgresql/15/bin" in str(error.value)


def test_version_check_accepts_the_same_major():
    clienttools.check_versions_match("pg_dump", 15, "pg_dump (PostgreSQL) 15.20", 150004, "db x")


def test_newer_client_passes_the_version_check_and_an_older_one_does_not():
    clienttools.check_versions_match("pg_dump", 16, "pg_dump (PostgreSQL) 16.8", 150004, "db x")
    with pytest.raises(ClientToolError) as error:
        clienttools.check_versions_match(
            "pg_dump", 15, "pg_dump (PostgreSQL) 15.14", 170002, "db x"
        )

    assert "must be 17 or newer" in str(error.value)
    assert "Nothing was changed" in str(error.value)


@pytest.mark.process
def test_backup_without_a_new_enough_pg_dump_is_refused_and_writes_nothing(
    seeded_db, run, backup_dir
):
    with connect(seeded_db) as conn:
        server_version_num = conn.info.server_version
    try:
        clienttools.client_path("pg_dump", server_version_num)
    except ClientToolError:
        pass  # the version matrix starts servers newer than every installed pg_dump
    else:
        pytest.skip("a pg_dump of the test server's major or newer is installed")
    major = server_version_num // 10000

    result = run(seeded_db, "backup")

    assert result.returncode == 1
    assert f"the server runs PostgreSQL {major}, which needs pg_dump {major} or newer" in (
        result.stderr
    )
    assert "Nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not backup_dir.exists() or list(backup_dir.glob("*.dump")) == []
