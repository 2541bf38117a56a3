"""Each service's statements pass under the role ``migrate`` grants it, each privilege granted is
needed by one of them, and what a service does not do is refused (docs/CONTRACT.md, the services'
statements in ledgerflow/contract/statements.py)."""

import pytest
from django.db import connection, transaction

from ledgerflow.contract.statements import STATEMENTS
from ledgerflow.db.tables import V2_SCHEMA
from ledgerflow.migrating.checksums import checksum_mismatches
from ledgerflow.migrating.history import migration_history
from ledgerflow.migrating.status import migration_status
from ledgerflow.roles import grants
from ledgerflow.roles.services import SERVICES
from ledgerflow.schema.drift import V2_CHECKED, detect_drift, detect_v2_drift
from tests.roles.conftest import as_role, attempt

pytestmark = pytest.mark.django_db

SERVICE = {service.name: service for service in SERVICES}


def _reading(function):
    def read():
        try:
            with transaction.atomic():
                function(connection)
        except Exception as exc:  # any failure of a monitor read is the finding
            return str(exc).strip().splitlines()[0]
        return None

    return read


def _drift_with_sequence_positions(connection):
    """Drift in full: a sequence whose position could not be read is a failure too."""
    notes = []
    differences = detect_drift(connection, notes=notes)
    unread = [str(note) for note in notes if note.kind == "sequence"]
    if unread or differences:
        raise AssertionError("; ".join(unread + [str(d) for d in differences]))


def _v2_drift_with_sequence_positions(connection):
    """Schema v2's drift in full, as readiness and schema_drift read it."""
    notes = []
    v2 = detect_v2_drift(connection, notes=notes)
    unread = [str(note) for note in notes if note.kind == "sequence"]
    if unread or v2.differences or v2.status != V2_CHECKED:
        raise AssertionError("; ".join(unread + [str(d) for d in v2.differences]))


# What readiness, /metrics, schema_version --check and schema_drift read, each returning None
# when it ran in full.
MONITOR_READS = {
    "readiness, schema_version --check: migration history": _reading(migration_history),
    "readiness: checksums": _reading(checksum_mismatches),
    "metrics, migration_status: status report": _reading(migration_status),
    "schema_drift with sequence positions": _reading(_drift_with_sequence_positions),
    "schema_drift of schema v2 with sequence positions": _reading(
        _v2_drift_with_sequence_positions
    ),
}


def run_service(name):
    """``{statement id: failure}`` for the statements of service ``name`` that fail."""
    if name == "monitor":
        results = {label: read() for label, read in MONITOR_READS.items()}
    else:
        results = {sid: attempt(sql, params) for sid, sql, params in STATEMENTS[name]}
    return {sid: failure for sid, failure in results.items() if failure}


def revoke(role, item):
    relation, column, privilege = item
    kind = "SEQUENCE" if relation.endswith("_seq") else "TABLE"
    if relation == V2_SCHEMA:
        kind = "SCHEMA"
    columns = f' ("{column}")' if column else ""
    quoted = ".".join(f'"{part}"' for part in relation.split("."))
    return f'REVOKE {privilege}{columns} ON {kind} {quoted} FROM "{role}"'


@pytest.mark.parametrize("name", list(SERVICE))
def test_every_statement_of_a_service_runs_under_its_role(service_roles, name):
    grants.apply(connection)

    with as_role(service_roles[name]):
        failures = run_service(name)

    assert failures == {}


@pytest.mark.parametrize("name", list(SERVICE))
def test_without_its_role_grants_the_statements_are_refused(service_roles, name):
    with as_role(service_roles[name]):
        failures = run_service(name)

    expected = MONITOR_READS.keys() if name == "monitor" else {s[0] for s in STATEMENTS[name]}
    assert failures.keys() == set(expected)


@pytest.mark.parametrize("name", list(SERVICE))
def test_each_privilege_granted_is_needed_by_a_statement_of_its_service(service_roles, name):
    grants.apply(connection)
    unneeded = []
    for item in sorted(SERVICE[name].items(), key=lambda i: (i[0], i[1] or "", i[2])):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(revoke(service_roles[name], item))
            with as_role(service_roles[name]):
                failures = run_service(name)
            transaction.set_rollback(True)
        if not failures:
            unneeded.append(grants.describe_privilege(item))

    assert unneeded == []


REFUSED = {
    "balancer": [
        "INSERT INTO users (telegram_id) VALUES (1)",
        "INSERT INTO chain_states (chain_id, contract_address) VALUES (1, '0xc')",
        "UPDATE deposit_events SET processed = true",
        "SELECT * FROM users",
        "SELECT * FROM deposit_events",
        "DELETE FROM orders",
    ],
    "bot": [
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
        "VALUES ('o', '1', 'b', '1', '0x1')",
        "UPDATE orders SET status = 'completed'",
        "INSERT INTO accounts (account_id) VALUES ('a')",
        "SELECT * FROM accounts",
        "SELECT * FROM chain_states",
        "DELETE FROM users",
    ],
    "indexer": [
        "UPDATE orders SET status = 'completed'",
        "INSERT INTO users (telegram_id) VALUES (1)",
        "SELECT * FROM orders",
        "SELECT * FROM accounts",
        "DELETE FROM deposit_events",
        "SELECT setval('deposit_events_id_seq', 1)",
    ],
    "monitor": [
        "SELECT amount, sender FROM deposit_events",
        "SELECT * FROM orders",
        "SELECT * FROM users",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
        "UPDATE ledgerflow_migration_checksums SET checksum = ''",
        "SELECT nextval('deposit_events_id_seq')",
    ],
}
DDL = [
    "CREATE TABLE service_scratch (id int)",
    "ALTER TABLE orders ADD COLUMN note text",
    "DROP TABLE deposit_events",
    "TRUNCATE chain_states",
    "CREATE INDEX service_idx ON users (username)",
    "SELECT * FROM auth_user",
]


@pytest.mark.parametrize("name", list(SERVICE))
def test_writes_reads_and_ddl_a_service_does_not_need_are_refused(service_roles, name):
    grants.apply(connection)

    with as_role(service_roles[name]):
        outcomes = {sql: attempt(sql) for sql in REFUSED[name] + DDL}

    allowed = [sql for sql, failure in outcomes.items() if failure is None]
    assert allowed == []
    assert all(
        "permission denied" in failure or "must be owner" in failure
        for failure in outcomes.values()
    ), outcomes
