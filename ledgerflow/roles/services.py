"""What each service's statements need, object by object.

Each need names the statements that require it: the SQL the services send is catalogued in
``ledgerflow/contract/statements.py`` (rendered in ``docs/CONTRACT.md``), and
``tests/roles/test_service_roles.py`` proves both directions: every statement passes under its
role, and taking away any one privilege below makes one of them fail. A privilege no statement
needs fails that test, so this table cannot grow quietly.

The newest services (``V2_SERVICES``) run on schema v2: their needs are on ``ledgerflow_v2``
objects, named ``ledgerflow_v2.<name>`` here, and their statements are CONTRACT-V2.md's, typed in
``tests/contract_v2/service_statements.py`` (proved the same way in
``tests/roles/test_v2_service_roles.py``). Each v2 role also gets ``search_path = ledgerflow_v2``
as its role setting in the database, so the services' unqualified names (``orders``,
``nextval('orders_id_seq')``, ``'deposited'``) resolve in v2 with no change to their URL.
"""

from dataclasses import dataclass

from django.conf import settings

from ledgerflow.db.tables import V2_SCHEMA

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
    schema: bool = False  # ``relation`` is a schema (USAGE on ledgerflow_v2)

    @property
    def kind(self):
        return "SCHEMA" if self.schema else "SEQUENCE" if self.sequence else "TABLE"

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
    # A role setting the service's connections rely on (the v2 services: ledgerflow_v2).
    search_path: str | None = None

    @property
    def role(self):
        """The role named in this service's setting, or ``None`` when it is not set."""
        return getattr(settings, self.setting, "") or None

    def items(self):
        return {item for need in self.needs for item in need.items()}


# The v2 tables whose id sequence drift checks (the cutover's bookkeeping tables included): the
# monitor reads their ids and the sequences' positions, never a payment column.
V2_MONITORED_SEQUENCES = (
    "accounts",
    "balances",
    "cutover_notes",
    "cutover_rejects",
    "cutover_runs",
    "deposit_events",
    "orders",
)

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
            Need(
                V2_SCHEMA,
                ("USAGE",),
                "readiness, /metrics and schema_drift compare schema v2 (PostgreSQL hides the "
                "objects of a schema from a role without USAGE on it)",
                schema=True,
            ),
            *(
                need
                for table in V2_MONITORED_SEQUENCES
                for need in (
                    Need(
                        f"{V2_SCHEMA}.{table}",
                        ("SELECT",),
                        "schema_drift checks the v2 sequence is ahead of max(id); no payment "
                        "column is read",
                        columns=("id",),
                    ),
                    Need(
                        f"{V2_SCHEMA}.{table}_id_seq",
                        ("SELECT",),
                        "schema_drift reads the v2 sequence's position",
                        sequence=True,
                    ),
                )
            ),
        ),
    ),
)


def _v2(name):
    return f"{V2_SCHEMA}.{name}"


V2_USAGE = "USAGE on the schema: without it PostgreSQL hides every ledgerflow_v2 object"
V2_START_UP_CHECK = "the v2 schema-version check at start-up (docs/INTEGRATION.md)"

V2_SERVICES = (
    Service(
        "balancer-v2",
        "LEDGERFLOW_V2_BALANCER_ROLE",
        (
            Need(V2_SCHEMA, ("USAGE",), V2_USAGE, schema=True),
            Need(
                _v2("accounts"),
                ("SELECT", "INSERT", "UPDATE"),
                "registers accounts (N10), upserts them ON CONFLICT (username) DO UPDATE (N9) and "
                "reads them by username, email, Telegram id, id and token hash (N11-N15)",
            ),
            Need(
                _v2("accounts_id_seq"),
                ("USAGE",),
                "the id default (nextval) of the account inserts (N9, N10)",
                sequence=True,
            ),
            Need(
                _v2("orders"),
                ("SELECT", "INSERT", "UPDATE"),
                "creates orders (N2), reads them by id, account and status (N3-N7, N16) and "
                "updates their status (N8, N20)",
            ),
            Need(
                _v2("orders_id_seq"),
                ("USAGE",),
                "nextval('orders_id_seq') for each new order's number (N1)",
                sequence=True,
            ),
            Need(
                _v2("balances"),
                ("SELECT", "INSERT", "UPDATE"),
                "reads a balance, creating a zero one (N21), and adds deposits to it ON CONFLICT "
                "(account_id) DO UPDATE (N18)",
            ),
            Need(
                _v2("balances_id_seq"),
                ("USAGE",),
                "the id default (nextval) of the balance inserts (N18, N21)",
                sequence=True,
            ),
            Need("django_migrations", ("SELECT",), V2_START_UP_CHECK),
        ),
        search_path=V2_SCHEMA,
    ),
    Service(
        "bot-v2",
        "LEDGERFLOW_V2_BOT_ROLE",
        (
            Need(V2_SCHEMA, ("USAGE",), V2_USAGE, schema=True),
            Need(
                _v2("accounts"),
                ("SELECT", "INSERT", "UPDATE"),
                "reads accounts by id and Telegram id (T1, T4), creates them RETURNING id (T3) "
                "and updates their key and EVM address (T2, T5)",
            ),
            Need(
                _v2("accounts_id_seq"),
                ("USAGE",),
                "the id default (nextval) of create_account (T3)",
                sequence=True,
            ),
            Need(
                _v2("orders"),
                ("SELECT", "INSERT", "UPDATE"),
                "lists orders with their account (T7, T9), creates them RETURNING id (T6) and "
                "marks them notified (T10)",
            ),
            Need(
                _v2("orders_id_seq"),
                ("USAGE",),
                "the id default (nextval) of create_order (T6)",
                sequence=True,
            ),
            Need(_v2("balances"), ("SELECT",), "reads an account's balance (T8)"),
            Need("django_migrations", ("SELECT",), V2_START_UP_CHECK),
        ),
        search_path=V2_SCHEMA,
    ),
    Service(
        "indexer-v2",
        "LEDGERFLOW_V2_INDEXER_ROLE",
        (
            Need(V2_SCHEMA, ("USAGE",), V2_USAGE, schema=True),
            Need(
                _v2("chain_states"),
                ("SELECT", "INSERT", "UPDATE"),
                "reads and upserts its scan cursor ON CONFLICT (chain_id, contract_address) "
                "(I1, I2)",
            ),
            Need(
                _v2("deposit_events"),
                ("SELECT", "INSERT", "UPDATE"),
                "inserts events ON CONFLICT (chain_id, transaction_hash, log_index) DO NOTHING "
                "(I3), reads unprocessed ones (I5) and marks them processed (I4)",
            ),
            Need(
                _v2("deposit_events_id_seq"),
                ("USAGE",),
                "the id default (nextval) of every deposit_events insert (I3)",
                sequence=True,
            ),
            Need(
                _v2("orders"),
                ("SELECT",),
                "finds the order a deposit pays (I6's WHERE order_id); no other column is read",
                columns=("order_id",),
            ),
            Need(
                _v2("orders"),
                ("UPDATE",),
                "marks the order deposited with the on-chain amount, chain and transaction (I6)",
                columns=("amount", "chain_id", "status", "transaction_hash", "updated_at"),
            ),
            Need("django_migrations", ("SELECT",), V2_START_UP_CHECK),
        ),
        search_path=V2_SCHEMA,
    ),
)

ALL_SERVICES = SERVICES + V2_SERVICES


def configured_services():
    """The services whose role setting is set, in ``ALL_SERVICES`` order."""
    return [service for service in ALL_SERVICES if service.role]


def table_grants(tables, prefix=""):
    """``{table: {role: [privilege, ...]}}``: the table-level privileges the project grants on
    ``tables`` to the configured roles, sorted as a schema snapshot lists them. ``prefix``
    picks the relations of another schema (``ledgerflow_v2.``), named without it."""
    grants = {}
    for service in configured_services():
        for need in service.needs:
            if need.columns or need.sequence or need.schema:
                continue
            if not need.relation.startswith(prefix) or (not prefix and "." in need.relation):
                continue
            table = need.relation[len(prefix) :]
            if table in tables:
                grants.setdefault(table, {})[service.role] = sorted(need.privileges)
    return grants


def v2_table_grants(tables):
    """``table_grants`` for the ``ledgerflow_v2`` tables."""
    return table_grants(tables, prefix=f"{V2_SCHEMA}.")
