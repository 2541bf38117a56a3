"""Reverse steps of migrations beyond the 0001s: irreversible, Python and added-column steps."""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

from accounts.models import Account
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.planning import (
    IRREVERSIBLE,
    LOSSLESS,
    LOSSY,
    assess,
    build_plan,
    render,
)
from ledgerflow.recovery.tags import create_tag, list_tags


def _forward(apps, schema_editor):
    """Stands in for a data migration; never run here."""


def _plan_for(operations, db_atomic=True):
    loader = MigrationLoader(connection)
    migration = migrations.Migration("0002_later_change", "accounts")
    migration.dependencies = [("accounts", "0001_create_accounts")]
    migration.operations = operations
    migration.atomic = db_atomic
    key = ("accounts", migration.name)
    loader.graph.add_node(key, migration)
    loader.graph.add_dependency(migration, key, ("accounts", "0001_create_accounts"))
    return build_plan(loader, connection, [migration], "test")


def test_irreversible_step_is_named_up_front(db):
    plan = _plan_for([migrations.RunPython(_forward)])

    assert plan.steps[0].classification == IRREVERSIBLE
    text = render(plan, "db")
    assert "Irreversible steps: accounts.0002_later_change (this rollback cannot run)" in text
    assert text.index("Irreversible steps") < text.index("[1] unapply")


def test_python_reverse_code_is_lossy_and_noop_is_lossless(db):
    lossy = _plan_for([migrations.RunPython(_forward, reverse_code=_forward)])
    noop = _plan_for([migrations.RunPython(_forward, reverse_code=migrations.RunPython.noop)])

    assert lossy.steps[0].classification == LOSSY
    assert "cannot be previewed" in lossy.losses()[0].what
    assert noop.steps[0].classification == LOSSLESS


def test_reverse_of_add_field_drops_the_column_and_is_lossy_when_it_holds_values(db):
    plan = _plan_for(
        [migrations.AddField("account", "nickname", models.CharField(max_length=20, null=True))]
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts ADD COLUMN nickname varchar(20)")
    Account.objects.create(account_id="acc-9")
    empty_column = [loss for op in plan.steps[0].operations for loss in op.losses]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts SET nickname = 'nick'")

    assess(plan, connection)

    assert empty_column == []
    assert plan.steps[0].operations[0].sql == [
        'ALTER TABLE "accounts" DROP COLUMN "nickname" CASCADE;'
    ]
    assert plan.tables_at_stake() == {"public.accounts": 1}


def test_non_atomic_migration_makes_the_plan_say_so(db):
    plan = _plan_for([migrations.RunSQL("SELECT 1", reverse_sql="SELECT 1")], db_atomic=False)

    assert not plan.atomic
    assert "Atomic: NO. Non-atomic migrations (accounts.0002_later_change)" in render(plan, "db")


def test_release_tags_are_json_serialisable_with_state(db):
    create_tag("v1.2.0", "ops@host", [("ledgerflow", "0001_install_update_updated_at_column")])

    (tag,) = list_tags()

    assert tag["name"] == "v1.2.0"
    assert tag["created_by"] == "ops@host"
    assert tag["migration_state"] == [["ledgerflow", "0001_install_update_updated_at_column"]]
    assert tag["created_at"].endswith("+00:00")


def test_tag_names_are_unique_and_checked(db):
    create_tag("v1", "ops@host", [])

    with pytest.raises(RecoveryError, match="already exists"):
        create_tag("v1", "someone@else", [])
    with pytest.raises(RecoveryError, match="not a valid tag name"):
        create_tag("../v2", "ops@host", [])
    assert [tag["name"] for tag in list_tags()] == ["v1"]
