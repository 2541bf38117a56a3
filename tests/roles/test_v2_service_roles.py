"""The newest services' roles on schema v2: each statement of CONTRACT-V2.md (typed as sqlx binds
them, tests/contract_v2/service_statements.py) runs under its role, each privilege granted is
needed by one of them, what a service does not do is refused (v1's tables above all), and
``search_path = ledgerflow_v2`` is the role's setting, so a URL naming only the role reaches v2."""

import uuid

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from ledgerflow.roles import RoleError, grants
from ledgerflow.roles.services import V2_SERVICES
from tests.contract_v2.service_statements import ServiceSession
from tests.roles.test_service_roles import revoke
from tests.support.databases import (
    connect,
    database_url,
    manage,
    migrated_database,
    server_conninfo,
)

pytestmark = pytest.mark.django_db

SERVICE = {service.name: service for service in V2_SERVICES}
# The order the indexer's statements find (the balancer creates orders in production).
INDEXER_ORDER = "f" * 64


def balancer_statements(session, seed):
    token = f"{seed:064x}"
    [account] = session.run(
        "N10 register_account", f"b{seed}", f"b{seed}@x.org", seed, None, None, token, False
    )
    for statement, key in (
        ("N11 get_account_by_username", f"b{seed}"),
        ("N12 get_account_by_email", f"b{seed}@x.org"),
        ("N13 get_account_by_telegram_id", seed),
        ("N14 get_account_by_id", account[0]),
        ("N15 get_account_by_api_token_hash", token),
    ):
        session.run(statement, key)
    [(number,)] = session.run("N1 get_next_order_id_num")
    order_id = f"{number:064x}"
    session.run(
        "N2 create_order", number, order_id, account[0], "ledgerflow", "10", "0x" + "b" * 40, 1,
        "pending", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
    )  # fmt: skip
    session.run("N3 get_order_by_id", order_id)
    session.run("N4 get_pending_orders_count", account[0])
    session.run("N7 list_pending_orders", 50, 0)
    session.run("N8 update_order_status", "deposited", "0x" + "1" * 64, order_id)
    session.run("N16 get_deposited_orders")
    assert session.run("N20 mark_order_completed_if_deposited", order_id) == 1
    session.run("N18 add_to_balance", account[0], "10")
    session.run("N5 get_completed_orders_count", account[0])
    session.run("N21a get_account_balance_record", account[0])
    [other] = session.run(
        "N10 register_account", f"c{seed}", None, seed + 1, None, None, None, False
    )
    session.run("N21b get_account_balance_record (insert)", other[0])
    session.run(
        "N9 create_or_update_account", f"b{seed}", None, seed, None, None, None, True,
        "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
    )  # fmt: skip


def bot_statements(session, seed):
    [(account_id,)] = session.run("T3 create_account", f"t{seed}", seed, None, None, None, False)
    session.run("T4 get_account_by_telegram_id", seed)
    session.run("T2 update_account_encrypted_pk", "v2:key", account_id)
    session.run("T1 get_account_evm_pk_by_id", account_id)
    session.run("T5 update_account_evm_address", "0x" + "e" * 40, seed)
    [(order,)] = session.run(
        "T6 create_order", f"t{seed}", account_id, "ledgerflow", "5", "0x" + "b" * 40, 1,
        "completed", False,
    )  # fmt: skip
    session.run("T7 get_account_orders", seed)
    session.run("T8 get_balance", account_id)
    session.run("T9 get_completed_unnotified_orders")
    assert session.run("T10 mark_order_as_notified", order) == 1


def indexer_statements(session, seed):
    vault = "0x" + "c" * 40
    session.run("I2 update_chain_state", 1, vault, 100)
    session.run("I1 get_chain_state", 1, vault)
    tx = f"0x{seed:064x}"
    session.run("I3 insert_deposit_event", 1, vault, INDEXER_ORDER, "0xs", "10", tx, 101, 0)
    session.run("I5 get_unprocessed_events", 1)
    session.run("I4 mark_order_completed", INDEXER_ORDER)
    assert session.run("I6 update_order_with_deposit_details", tx, "10", 1, INDEXER_ORDER) == 1


STATEMENTS = {
    "balancer-v2": balancer_statements,
    "bot-v2": bot_statements,
    "indexer-v2": indexer_statements,
}
SCHEMA_VERSION_V2 = (
    "SELECT 'ledgerflow_v2:' || max(name) FROM public.django_migrations WHERE app = 'ledgerflow_v2'"
)


def run_statements(cursor, name, seed=8_000_001):
    """``None`` when every statement of service ``name`` runs, else the first failure."""
    session = ServiceSession(cursor)
    try:
        cursor.execute(SCHEMA_VERSION_V2)
        STATEMENTS[name](session, seed)
    except (DatabaseError, psycopg.Error) as exc:
        return str(exc).strip().splitlines()[0]
    return None


def seed_indexer_order(cursor):
    cursor.execute(
        "INSERT INTO ledgerflow_v2.accounts (username, telegram_id) VALUES ('idx', 9) RETURNING id"
    )
    [account_id] = cursor.fetchone()
    cursor.execute(
        "INSERT INTO ledgerflow_v2.orders (order_id, account_id, broker_id, amount, "
        "token_address) VALUES (%s, %s, 'b', 10, '0xb')",
        [INDEXER_ORDER, account_id],
    )


@pytest.fixture(scope="module")
def v2_role_names():
    """One login role per v2 service and a monitor, unique to this run (roles are cluster-wide),
    dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"lf_test_{suffix}_{kind}" for kind in (*SERVICE, "monitor")}
    with connect("postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE ROLE "{name}" LOGIN')
    yield names
    with connect("postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def role_env(names):
    return {
        "LEDGERFLOW_V2_BALANCER_ROLE": names["balancer-v2"],
        "LEDGERFLOW_V2_BOT_ROLE": names["bot-v2"],
        "LEDGERFLOW_V2_INDEXER_ROLE": names["indexer-v2"],
        "LEDGERFLOW_MONITOR_ROLE": names["monitor"],
    }


@pytest.fixture
def v2_roles(settings, v2_role_names):
    """The settings name this run's v2 roles (and its monitor); the test's transaction takes
    back what ``grants.apply`` does, the role settings included."""
    for setting, role in role_env(v2_role_names).items():
        setattr(settings, setting, role)
    return v2_role_names


def as_v2_role(cursor, role):
    """The session becomes ``role`` with the search_path its role setting gives a login (SET
    ROLE applies no role setting). Both end with the caller's savepoint."""
    cursor.execute(f'SET ROLE "{role}"')
    cursor.execute("SET LOCAL search_path = ledgerflow_v2")


def run_as(role, name):
    """``run_statements`` as ``role`` in a savepoint rolled back afterwards (the role and the
    search_path with it); prepared statements outlive it, so they are dropped too."""
    with connection.cursor() as cursor:
        with transaction.atomic():
            if name == "indexer-v2":
                seed_indexer_order(cursor)
            as_v2_role(cursor, role)
            failure = run_statements(cursor, name)
            transaction.set_rollback(True)
        cursor.execute("DEALLOCATE ALL")
    return failure


@pytest.mark.parametrize("name", list(SERVICE))
def test_each_v2_privilege_granted_is_needed_by_a_statement(v2_roles, name):
    grants.apply(connection)
    assert run_as(v2_roles[name], name) is None
    unneeded = []
    for item in sorted(SERVICE[name].items(), key=lambda i: (i[0], i[1] or "", i[2])):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(revoke(v2_roles[name], item))
            if run_as(v2_roles[name], name) is None:
                unneeded.append(grants.describe_privilege(item))
            transaction.set_rollback(True)

    assert unneeded == []


def test_the_v2_roles_get_their_search_path_and_the_v1_roles_none(v2_roles):
    plan = grants.apply(connection)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s "
            "JOIN pg_roles r ON r.oid = s.setrole "
            "WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND r.rolname = ANY(%s)",
            [list(v2_roles.values())],
        )
        settings_by_role = dict(cursor.fetchall())
    assert settings_by_role == {v2_roles[name]: ["search_path=ledgerflow_v2"] for name in SERVICE}
    assert any(statement.startswith("ALTER ROLE") for statement in plan.statements())
    assert grants.plan(connection).differences() == []  # idempotent: nothing left to do


def test_a_runner_that_may_not_set_role_settings_is_refused_with_the_statement(v2_roles):
    runner = f"lf_test_{uuid.uuid4().hex[:8]}_runner"  # no CREATEROLE; gone with the rollback
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{runner}"; SET ROLE "{runner}"')
    try:
        with pytest.raises(RoleError) as refused:
            grants.apply(connection)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")

    message = str(refused.value)
    assert "search_path could not be set" in message
    assert "no grant was changed" in message
    assert f"ALTER ROLE {v2_roles['balancer-v2']} IN DATABASE " in message.replace('"', "")
    assert "options=-c%20search_path%3Dledgerflow_v2" in message
    assert grants.plan(connection).statements() != []  # nothing was granted or set


V2_REFUSED = {
    "balancer-v2": [
        "SELECT * FROM chain_states",
        "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
        "transaction_hash, block_number, log_index) VALUES (1, 'c', 'o', 's', 1, 't', 1, 1)",
        "DELETE FROM orders",
        "SELECT * FROM cutover_rejects",
    ],
    "bot-v2": [
        "UPDATE balances SET balance = 0",
        "INSERT INTO balances (account_id, balance) VALUES (1, 1)",
        "SELECT * FROM deposit_events",
        "DELETE FROM accounts",
    ],
    "indexer-v2": [
        "SELECT * FROM accounts",
        "SELECT amount FROM orders",
        "SELECT * FROM balances",
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
        "VALUES ('o', 1, 'b', 1, '0x')",
        "SELECT setval('deposit_events_id_seq', 1)",
    ],
}
# v1 in public, whatever the service: the newest services never touch the older generation's
# data, nor the project's bookkeeping.
V1_REFUSED = [
    "SELECT * FROM public.users",
    "SELECT * FROM public.orders",
    "SELECT * FROM public.accounts",
    "INSERT INTO public.chain_states (chain_id, contract_address) VALUES (1, '0xc')",
    "UPDATE public.deposit_events SET processed = true",
    "SELECT * FROM public.ledgerflow_migration_checksums",
    "INSERT INTO public.django_migrations (app, name, applied) VALUES ('x', 'y', now())",
    "CREATE TABLE ledgerflow_v2.service_scratch (id int)",
    "ALTER TABLE ledgerflow_v2.orders ADD COLUMN note text",
    "TRUNCATE ledgerflow_v2.orders",
]


def refused(role, sql):
    """``sql``'s failure as ``role``, or ``None`` when it ran; nothing it did is kept."""
    failure = None
    with transaction.atomic(), connection.cursor() as cursor:
        as_v2_role(cursor, role)
        try:
            cursor.execute(sql)
        except DatabaseError as exc:
            failure = str(exc).strip().splitlines()[0]
        transaction.set_rollback(True)
    return failure


@pytest.mark.parametrize("name", list(SERVICE))
def test_v1_tables_and_what_a_v2_service_does_not_need_are_refused(v2_roles, name):
    grants.apply(connection)

    outcomes = {sql: refused(v2_roles[name], sql) for sql in V2_REFUSED[name] + V1_REFUSED}

    assert [sql for sql, failure in outcomes.items() if failure is None] == []
    assert all(
        "permission denied" in failure or "must be owner" in failure
        for failure in outcomes.values()
    ), outcomes


def test_the_v1_roles_lose_what_they_held_on_v2(v2_roles, service_roles):
    with connection.cursor() as cursor:
        cursor.execute(
            f'GRANT USAGE ON SCHEMA ledgerflow_v2 TO "{service_roles["bot"]}"; '
            f'GRANT SELECT ON ledgerflow_v2.orders TO "{service_roles["bot"]}"'
        )

    plan = grants.apply(connection)

    assert f"REVOKE SELECT ON TABLE ledgerflow_v2.orders FROM {service_roles['bot']}" in [
        statement.replace('"', "") for statement in plan.statements()
    ]
    held = grants.held_privileges(connection).get(service_roles["bot"], {})
    assert [item for item in held if item[0].startswith("ledgerflow_v2")] == []


@pytest.mark.process
def test_a_url_naming_only_the_v2_role_reaches_v2_and_its_statements_run(v2_role_names):
    """The service's DATABASE_URL carries no search_path: the role setting that
    ``service_grants --apply`` makes is what sends its unqualified names to ledgerflow_v2."""
    with migrated_database("lf_v2roles") as name:
        result = manage(
            "service_grants", "--apply", database_url_value=database_url(name),
            env=role_env(v2_role_names),
        )  # fmt: skip
        assert "search_path = ledgerflow_v2 (role setting in this database)" in result.stdout
        with connect(name, autocommit=True) as owner:
            seed_indexer_order(owner.cursor())
        for service in SERVICE:
            # Client-side binding, as Django's cursors do: EXECUTE's NULL arguments need it.
            login = {**server_conninfo(name), "user": v2_role_names[service]}
            with (
                psycopg.connect(**login, cursor_factory=psycopg.ClientCursor) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute("SHOW search_path")
                assert cursor.fetchone() == ("ledgerflow_v2",)
                assert run_statements(cursor, service) is None
                conn.rollback()
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    cursor.execute("SELECT * FROM public.orders")
        check = manage(
            "service_grants", "--check", database_url_value=database_url(name),
            env=role_env(v2_role_names),
        )  # fmt: skip
        assert "Every service role holds exactly what it needs." in check.stdout
        with connect(name, autocommit=True) as owner:
            for role in v2_role_names.values():
                owner.execute(f'DROP OWNED BY "{role}"')
