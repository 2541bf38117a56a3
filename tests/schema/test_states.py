"""Migration states and the stored expectations they key."""

from ledgerflow.schema import expected
from ledgerflow.schema.states import (
    adopted_state,
    baseline_state,
    head_state,
    takeover_migration,
)


def test_takeover_record_migration_is_found_by_its_content():
    assert takeover_migration() == ("ledgerflow", "0003_schema_takeover")


def test_stored_file_holds_baseline_adopted_and_head():
    stored = expected.stored()

    assert stored.state_with_role("baseline") == baseline_state()
    assert stored.state_with_role("adopted") == adopted_state()
    assert stored.state_with_role("head") == head_state()


def test_regeneration_keeps_earlier_states_only_while_their_migrations_exist():
    earlier = (*baseline_state(),)
    vanished = tuple(sorted((*baseline_state(), "orders.0002_renumbered_away")))
    previous = expected.ExpectedStates(
        {
            "snapshots": {"x": {}},
            "states": [
                {"applied": list(earlier), "roles": [], "snapshot": "x"},
                {"applied": list(vanished), "roles": [], "snapshot": "x"},
            ],
        }
    )

    roles = expected.states_to_generate(previous)

    assert earlier in roles
    assert vanished not in roles
    assert "head" in roles[head_state()]
