"""Migration states: which of this project's migrations a database has recorded as applied.

A state is a sorted tuple of ``"app.name"`` strings over ``SCHEMA_APPS``. Reading it never
creates anything: a database without ``django_migrations`` is in the empty state.
"""

from django.db.migrations.loader import MigrationLoader

# The apps whose migrations build objects of the LedgerFlow schema or this project's bookkeeping.
# Django's own apps are left out: they never touch the LedgerFlow objects.
SCHEMA_APPS = ("ledgerflow", "accounts", "users", "orders", "indexer", "ledgerflow_v2")

# The migrations that build what sqlx migration 20250709000001 ("initial schema") built.
SQLX_VERSION = 20250709000001
SQLX_BASELINE = (
    ("ledgerflow", "0001_install_update_updated_at_column"),
    ("accounts", "0001_create_accounts"),
    ("users", "0001_create_users"),
    ("orders", "0001_create_order_status_and_orders"),
    ("indexer", "0001_create_chain_states_and_deposit_events"),
)

# The bookkeeping model a takeover writes its record into.
TAKEOVER_MODEL = ("ledgerflow", "schematakeover")


def state_of(nodes):
    """The canonical form of a set of ``(app, name)`` nodes or ``"app.name"`` strings."""
    return tuple(
        sorted(node if isinstance(node, str) else f"{node[0]}.{node[1]}" for node in nodes)
    )


def nodes_of(state):
    return [tuple(item.split(".", 1)) for item in state]


def applied_state(cursor):
    """The state recorded in the cursor's database; reads only."""
    cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return ()
    cursor.execute(
        "SELECT app, name FROM django_migrations WHERE app = ANY(%s)", [list(SCHEMA_APPS)]
    )
    return state_of(cursor.fetchall())


def load_graph():
    """The migration graph as on disk, without touching any database."""
    return MigrationLoader(None, ignore_no_migrations=True).graph


def head_state(graph=None):
    """Every migration of ``SCHEMA_APPS`` on disk: a fully migrated database's state."""
    graph = graph or load_graph()
    return state_of(node for node in graph.nodes if node[0] in SCHEMA_APPS)


def baseline_state():
    return state_of(SQLX_BASELINE)


def takeover_migration(graph=None):
    """The migration that creates the takeover record's table (found by content, so renumbering
    the ``ledgerflow`` app's migrations needs no change here)."""
    graph = graph or load_graph()
    app_label, model_name = TAKEOVER_MODEL
    for node in sorted(graph.nodes):
        if node[0] != app_label:
            continue
        for operation in graph.nodes[node].operations:
            if (
                getattr(operation, "name_lower", None) == model_name
                and type(operation).__name__ == "CreateModel"
            ):
                return node
    raise LookupError(f"no migration of {app_label!r} creates the model {model_name!r}")


def adopted_state(graph=None):
    """The state right after ``adopt_sqlx``: the baseline plus what the takeover record needs."""
    graph = graph or load_graph()
    return state_of({*SQLX_BASELINE, *graph.forwards_plan(takeover_migration(graph))})


def unknown_migrations(state, graph=None):
    """Migrations recorded in ``state`` that are not on disk (the database is ahead of the code)."""
    graph = graph or load_graph()
    return [item for item in state if tuple(item.split(".", 1)) not in graph.nodes]
