"""The embedded PostgreSQL starts from nothing, is reused while running, and runs as root too."""

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from ledgerflow.db import embedded

pytestmark = pytest.mark.process  # they start servers or manage.py, or create databases


@pytest.fixture
def base_dir():
    # Not pytest's tmp_path: that is private to us, and as root the cluster runs as another user
    # (postgres or nobody) who must be able to reach the directory.
    path = Path(tempfile.mkdtemp(prefix="lf-embedded-"))
    path.chmod(0o755)
    yield path
    embedded.stop(path)
    shutil.rmtree(path, ignore_errors=True)


def connect(base_dir):
    return psycopg.connect(
        host=str(embedded.socket_dir(base_dir)),
        user=embedded.SUPERUSER,
        dbname=embedded.DATABASE_NAME,
    )


def server_pid(base_dir):
    with connect(base_dir) as conn:
        return conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]


@pytest.mark.process
def test_starts_from_nothing_and_serves_the_ledgerflow_database(base_dir):
    url = embedded.ensure_running(base_dir)

    with connect(base_dir) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("ledgerflow",)
    assert url == embedded.database_url(base_dir)
    assert (base_dir / ".pgembedded" / "data" / "PG_VERSION").is_file()


@pytest.mark.process
def test_a_running_instance_is_reused(base_dir):
    embedded.ensure_running(base_dir)
    started = server_pid(base_dir)

    embedded.ensure_running(base_dir)

    assert server_pid(base_dir) == started


@pytest.mark.process
def test_a_stopped_instance_is_started_again_with_its_data(base_dir):
    embedded.ensure_running(base_dir)
    with connect(base_dir) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    embedded.stop(base_dir)

    embedded.ensure_running(base_dir)

    with connect(base_dir) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [(7,)]


@pytest.mark.process
@pytest.mark.skipif(embedded._pgserver_bin_dir() is None, reason="pgserver has no wheel here")
def test_falls_back_to_the_pgserver_binaries(base_dir, monkeypatch):
    monkeypatch.setenv("LEDGERFLOW_POSTGRES_BIN_DIR", str(embedded._pgserver_bin_dir()))

    embedded.ensure_running(base_dir)

    with connect(base_dir) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0] >= "150000"


def test_missing_binaries_name_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("LEDGERFLOW_POSTGRES_BIN_DIR", str(tmp_path))

    with pytest.raises(embedded.EmbeddedDatabaseError, match="holds no pg_ctl"):
        embedded.find_bin_dir()


def test_without_any_binaries_the_error_says_what_to_install(monkeypatch):
    monkeypatch.delenv("LEDGERFLOW_POSTGRES_BIN_DIR", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(embedded, "SYSTEM_BIN_ROOT", Path("/nonexistent"))
    monkeypatch.setattr(embedded, "_pgserver_bin_dir", lambda: None)

    with pytest.raises(embedded.EmbeddedDatabaseError) as error:
        embedded.find_bin_dir()

    message = str(error.value)
    assert "\n" not in message
    assert "apt-get install postgresql" in message
    # pgserver is the `embedded` extra: installed by `make install`, left out of the image.
    assert 'pip install -e ".[embedded]"' in message
    assert "make install" in message
    assert "DATABASE_URL" in message


def test_long_checkout_paths_get_a_short_socket_directory():
    deep = Path("/srv") / ("x" * 120)

    assert len(str(embedded.socket_dir(deep))) < 90
    assert embedded.socket_dir(deep) == embedded.socket_dir(deep)


def postmaster_pid(base_dir):
    pid_file = base_dir / ".pgembedded" / "data" / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0])


def test_a_server_whose_socket_vanished_is_replaced_with_its_data(base_dir):
    embedded.ensure_running(base_dir)
    with connect(base_dir) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    (embedded.socket_dir(base_dir) / ".s.PGSQL.5432").unlink()

    embedded.ensure_running(base_dir)

    with connect(base_dir) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [(7,)]


def test_a_server_left_by_a_deleted_checkout_is_stopped_before_a_new_one_starts(base_dir):
    # Re-cloning at the same path: the old server would shut down a minute later and remove the
    # socket file, which by then belongs to the new server.
    embedded.ensure_running(base_dir)
    old = postmaster_pid(base_dir)
    shutil.rmtree(base_dir / ".pgembedded")

    embedded.ensure_running(base_dir)

    assert not embedded._alive(old)
    assert postmaster_pid(base_dir) != old
    with connect(base_dir) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("ledgerflow",)
