"""Migration states and the stored expectations they key."""

from pathlib import Path

from django.apps import apps
from django.conf import settings

from ledgerflow.schema import expected
from ledgerflow.schema.states import (
    SCHEMA_APPS,
    adopted_state,
    baseline_state,
    head_state,
    takeover_migration,
)


def test_every_project_app_is_a_schema_app():
    local = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == Path(settings.BASE_DIR).resolve()
    }

    assert local == set(SCHEMA_APPS)


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
