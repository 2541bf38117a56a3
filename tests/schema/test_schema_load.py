"""The schema-load fast path builds exactly what a replayed ``migrate`` builds, on this server.

Run on every supported PostgreSQL major by .ci/pg-matrix (tests/schema is in its subset): the
catalogue fingerprint (OID-free, dropped columns included), the rows, the history and checksum
rows and the sequence positions of a loaded database equal a replayed one's.
"""

import pytest

from ledgerflow.db.introspection.fingerprint import catalogue_fingerprint, is_empty
from tests.migrating.support import query, run_manage
from tests.support.databases import connect, scratch_database

pytestmark = pytest.mark.process

# Per-run values (timestamps, durations, who ran it) are left out; everything else must match.
ROWS = {
    "django_content_type": "SELECT * FROM django_content_type ORDER BY id",
    "auth_permission": "SELECT * FROM auth_permission ORDER BY id",
    "django_migrations": "SELECT id, app, name FROM django_migrations ORDER BY id",
    "checksums": "SELECT id, app, name, checksum, algorithm, baselined "
    "FROM ledgerflow_migration_checksums ORDER BY id",
    "runs": "SELECT id, applied_count, outcome, error FROM ledgerflow_migrate_runs ORDER BY id",
}


def _picture(dbname):
    with connect(dbname) as conn:
        cursor = conn.cursor()
        picture = {"catalogue": catalogue_fingerprint(cursor)}
        for name, sql in ROWS.items():
            cursor.execute(sql)
            picture[name] = cursor.fetchall()
    return picture


@pytest.fixture(scope="module")
def loaded_and_replayed():
    with scratch_database("lf_loaded") as loaded, scratch_database("lf_replayed") as replayed:
        load = run_manage(loaded, "migrate")
        replay = run_manage(replayed, "migrate", "--replay")
        assert load.returncode == 0, load.stderr
        assert replay.returncode == 0, replay.stderr
        yield (load, _picture(loaded)), (replay, _picture(replayed))


def test_an_empty_database_gets_the_head_schema_in_one_transaction(loaded_and_replayed):
    (load, _), (replay, _) = loaded_and_replayed

    assert "Loaded the head schema (28 migrations) in one transaction" in load.stdout
    assert "Applying" not in load.stdout
    assert "Applying orders.0001_create_order_status_and_orders... OK" in replay.stdout


def test_the_loaded_catalogue_is_the_replayed_one_dropped_columns_included(loaded_and_replayed):
    (_, loaded), (_, replayed) = loaded_and_replayed
    dropped = [column for column in loaded["catalogue"]["columns"] if column[9]]

    # contenttypes.0002 drops django_content_type.name: attnum 2 stays taken.
    assert [column[:3] for column in dropped] == [["public", "django_content_type", 2]]
    for kind, rows in replayed["catalogue"].items():
        assert loaded["catalogue"][kind] == rows, kind


def test_the_loaded_rows_and_sequences_are_the_replayed_ones(loaded_and_replayed):
    (_, loaded), (_, replayed) = loaded_and_replayed

    for name in ROWS:
        assert loaded[name] == replayed[name], name
    assert len(loaded["django_migrations"]) == 28
    assert loaded["runs"] == [(1, 28, "succeeded", "")]


def test_the_load_sets_timestamps_and_who_applied_at_load_time():
    with scratch_database("lf_loaded") as db:
        before = query(db, "SELECT now()")[0][0]
        assert run_manage(db, "migrate", "--verbosity", "0").returncode == 0
        history = query(db, "SELECT min(applied) FROM django_migrations")[0][0]
        ledger = query(
            db,
            "SELECT min(applied_at), count(DISTINCT applied_by), min(applied_by) "
            "FROM ledgerflow_migration_checksums",
        )[0]
        run = query(db, "SELECT started_at, finished_at FROM ledgerflow_migrate_runs")[0]

    assert history > before
    assert ledger[0] > before
    assert ledger[1] == 1
    assert "@" in ledger[2]
    assert before < run[0] <= run[1]


def test_verbosity_0_loads_quietly():
    with scratch_database("lf_loaded") as db:
        result = run_manage(db, "migrate", "--verbosity", "0")

    assert result.returncode == 0
    assert result.stdout == ""
    assert "head schema loaded" not in result.stderr


def test_a_database_that_is_not_empty_is_replayed():
    with scratch_database("lf_not_empty") as db:
        with connect(db, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.kept_by_someone (id int)")
        result = run_manage(db, "migrate")
        kept = query(db, "SELECT to_regclass('public.kept_by_someone') IS NOT NULL")[0][0]

    assert result.returncode == 0, result.stderr
    assert "Loaded the head schema" not in result.stdout
    assert "Applying users.0001_create_users... OK" in result.stdout
    assert kept


def test_a_partial_target_is_replayed():
    with scratch_database("lf_partial") as db:
        result = run_manage(db, "migrate", "accounts")
        with connect(db) as conn:
            empty_of_orders = conn.execute("SELECT to_regclass('public.orders') IS NULL").fetchone()

    assert "Loaded the head schema" not in result.stdout
    assert "Applying accounts.0001_create_accounts... OK" in result.stdout
    assert empty_of_orders[0]


def test_a_failed_load_leaves_the_database_empty():
    # A session creates, without committing, a table named as an index the load builds late:
    # the load waits on it until its lock_timeout fires, and rolls back whole.
    index = "ledgerflow_release_tags_name_dfb1be85_like"
    with scratch_database("lf_failed_load") as db:
        blocker = connect(db)
        try:
            blocker.execute(f"CREATE TABLE public.{index} (id int)")
            result = run_manage(db, "migrate", env={"MIGRATION_LOCK_TIMEOUT": "0.5"})
        finally:
            blocker.rollback()
            blocker.close()
        with connect(db) as conn:
            empty = is_empty(conn.cursor())
        again = run_manage(db, "migrate")

    assert result.returncode != 0
    assert "lock timeout" in (result.stdout + result.stderr).lower()
    assert empty
    assert again.returncode == 0, again.stderr
    assert "Loaded the head schema" in again.stdout
