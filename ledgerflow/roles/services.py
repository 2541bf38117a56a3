"""What each service's statements need, object by object.

Each need names the statements that require it: the SQL the services send is catalogued in
``ledgerflow/contract/statements.py`` (rendered in ``docs/CONTRACT.md``), and
``tests/roles/test_service_roles.py`` proves both directions: every statement passes under its
role, and taking away any one privilege below makes one of them fail. A privilege no statement
needs fails that test, so this table cannot grow quietly.
"""

from dataclasses import dataclass

from django.conf import settings

# Every service reads the schema version at start-up (docs/INTEGRATION.md, section 4), a query
# on django_migrations; without SELECT it gets "permission denied" instead of a version.
START_UP_CHECK = "the schema-version check at start-up (docs/INTEGRATION.md)"


@dataclass(frozen=True)
class Need:
    """``privileges`` on ``relation`` (a table, or a sequence when ``sequence``), or on
    ``columns`` of it only, for the statements named in ``because``."""

    relation: str
    privileges: tuple
    because: str
    columns: tuple = ()
    sequence: bool = False

    @property
    def kind(self):
        return "SEQUENCE" if self.sequence else "TABLE"

    def items(self):
        """``(relation, column or None, privilege)`` for each privilege this need grants."""
        for privilege in self.privileges:
            for column in self.columns or (None,):
                yield (self.relation, column, privilege)


@dataclass(frozen=True)
class Service:
    name: str
    setting: str
    needs: tuple

    @property
    def role(self):
        """The role named in this service's setting, or ``None`` when it is not set."""
        return getattr(settings, self.setting, "") or None

    def items(self):
        return {item for need in self.needs for item in need.items()}


SERVICES = (
    Service(
        "balancer",
        "LEDGERFLOW_BALANCER_ROLE",
        (
            Need(
                "orders",
                ("SELECT", "INSERT", "UPDATE"),
                "creates orders, reads them by id, account and status (counts, totals, the "
                "pending list) and updates their status",
            ),
            Need(
                "accounts",
                ("SELECT", "INSERT", "UPDATE"),
                "upserts accounts ON CONFLICT (account_id) DO UPDATE, which reads the key",
            ),
            Need("django_migrations", ("SELECT",), START_UP_CHECK),
        ),
    ),
    Service(
        "bot",
        "LEDGERFLOW_BOT_ROLE",
        (
            Need(
                "users",
                ("SELECT", "INSERT", "UPDATE"),
                "creates and upserts users ON CONFLICT (telegram_id), reads them and updates "
                "their EVM address",
            ),
            Need("orders", ("SELECT",), "lists a user's orders and totals completed ones"),
            Need("django_migrations", ("SELECT",), START_UP_CHECK),
        ),
    ),
    Service(
        "indexer",
        "LEDGERFLOW_INDEXER_ROLE",
        (
            Need(
                "chain_states",
                ("SELECT", "INSERT", "UPDATE"),
                "reads and upserts its scan cursor ON CONFLICT (chain_id, contract_address)",
            ),
            Need(
                "deposit_events",
                ("SELECT", "INSERT", "UPDATE"),
                "inserts events ON CONFLICT (chain_id, transaction_hash, log_index) DO NOTHING, "
                "reads unprocessed ones and marks them processed",
            ),
            Need(
                "deposit_events_id_seq",
                ("USAGE",),
                "the id default (nextval) of every deposit_events insert",
                sequence=True,
            ),
            Need("django_migrations", ("SELECT",), START_UP_CHECK),
        ),
    ),
    Service(
        "monitor",
        "LEDGERFLOW_MONITOR_ROLE",
        (
            Need(
                "django_migrations",
                ("SELECT",),
                "readiness, /metrics, schema_version --check and schema_drift read the applied "
                "migrations",
            ),
            Need(
                "ledgerflow_migration_checksums",
                ("SELECT",),
                "readiness and /metrics compare the recorded checksums",
            ),
            Need("ledgerflow_migrate_runs", ("SELECT",), "/metrics reports the last migrate run"),
            Need(
                "deposit_events",
                ("SELECT",),
                "schema_drift checks the sequence is ahead of max(id); no payment column is read",
                columns=("id",),
            ),
            Need(
                "deposit_events_id_seq",
                ("SELECT",),
                "schema_drift reads the sequence's position",
                sequence=True,
            ),
        ),
    ),
)


def configured_services():
    """The services whose role setting is set, in ``SERVICES`` order."""
    return [service for service in SERVICES if service.role]


def table_grants(tables):
    """``{table: {role: [privilege, ...]}}``: the table-level privileges the project grants on
    ``tables`` to the configured roles, sorted as a schema snapshot lists them."""
    grants = {}
    for service in configured_services():
        for need in service.needs:
            if need.relation in tables and not need.columns and not need.sequence:
                grants.setdefault(need.relation, {})[service.role] = sorted(need.privileges)
    return grants
