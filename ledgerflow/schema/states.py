"""The named migration states whose expected schema is stored: the sqlx baseline, the state right
after a takeover, and head.

A state is a state key (``ledgerflow.migrating.history.state_key``): the sorted ``"app.name"`` of
applied migrations of ``PROJECT_APPS``.
"""

from ledgerflow.db.tables import PROJECT_APPS, V2_APP
from ledgerflow.migrating.history import code_loader, state_key

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


def nodes_of(state):
    return [tuple(item.split(".", 1)) for item in state]


def head_state(graph=None):
    """Every migration of ``PROJECT_APPS`` on disk: a fully migrated database's state."""
    graph = graph or code_loader().graph
    return state_key(node for node in graph.nodes if node[0] in PROJECT_APPS)


def v2_states(graph=None):
    """The state key of schema v2 (``V2_APP``'s applied migrations) after each of its migrations,
    oldest first: its history is linear, so these are every state a database can be in."""
    graph = graph or code_loader().graph
    leaves = graph.leaf_nodes(V2_APP)
    if not leaves:
        return []
    chain = [node for node in graph.forwards_plan(max(leaves)) if node[0] == V2_APP]
    return [state_key(chain[: count + 1]) for count in range(len(chain))]


def baseline_state():
    return state_key(SQLX_BASELINE)


def takeover_migration(graph=None):
    """The migration that creates the takeover record's table (found by content, so renumbering
    the ``ledgerflow`` app's migrations needs no change here)."""
    graph = graph or code_loader().graph
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
    graph = graph or code_loader().graph
    return state_key({*SQLX_BASELINE, *graph.forwards_plan(takeover_migration(graph))})
