"""Reconciling the service roles' privileges: grants what is missing, revokes what is extra on
the project's tables only, leaves other roles alone, is idempotent, and changes nothing when it
cannot finish."""

import pytest
from django.db import connection

from ledgerflow.roles import RoleError, grants
from ledgerflow.roles.services import V2_MONITORED_SEQUENCES

pytestmark = pytest.mark.django_db


def execute(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)


def privileges(role):
    """``{(relation, column, privilege)}`` the role holds on the project's tables."""
    return set(grants.held_privileges(connection).get(role, {}))


def test_apply_grants_exactly_the_services_needs(service_roles):
    applied = grants.apply(connection)

    assert privileges(service_roles["bot"]) == {
        ("users", None, "SELECT"),
        ("users", None, "INSERT"),
        ("users", None, "UPDATE"),
        ("orders", None, "SELECT"),
        ("django_migrations", None, "SELECT"),
    }
    assert privileges(service_roles["monitor"]) == {
        ("django_migrations", None, "SELECT"),
        ("ledgerflow_migration_checksums", None, "SELECT"),
        ("ledgerflow_migrate_runs", None, "SELECT"),
        ("deposit_events", "id", "SELECT"),
        ("deposit_events_id_seq", None, "SELECT"),
        # Schema v2: drift reads each sequence's position and the id beside it, nothing else.
        ("ledgerflow_v2", None, "USAGE"),
        *(
            item
            for table in V2_MONITORED_SEQUENCES
            for item in (
                (f"ledgerflow_v2.{table}", "id", "SELECT"),
                (f"ledgerflow_v2.{table}_id_seq", None, "SELECT"),
            )
        ),
    }
    assert applied.differences() != []  # it reports what it changed
    assert grants.plan(connection).differences() == []


def test_a_second_apply_changes_nothing(service_roles):
    grants.apply(connection)

    again = grants.apply(connection)

    assert again.statements() == []


def test_apply_revokes_what_a_service_role_holds_beyond_its_needs(service_roles, role_names):
    bot = service_roles["bot"]
    execute(f'GRANT DELETE, TRUNCATE ON orders TO "{bot}"')
    execute(f'GRANT UPDATE (email) ON accounts TO "{bot}"')
    execute(f'GRANT SELECT ON auth_user TO "{bot}"')
    execute(f'GRANT SELECT ON users TO "{bot}" WITH GRANT OPTION')
    execute(f'GRANT SELECT ON orders TO "{role_names["outsider"]}"')
    before = grants.plan(connection)

    grants.apply(connection)

    assert sorted(line for line in before.differences() if line.startswith(bot)) == sorted(
        [
            f"{bot} lacks SELECT on orders",
            f"{bot} lacks INSERT on users",
            f"{bot} lacks UPDATE on users",
            f"{bot} lacks SELECT on django_migrations",
            f"{bot} holds DELETE on orders, which the bot's statements do not need",
            f"{bot} holds TRUNCATE on orders, which the bot's statements do not need",
            f"{bot} holds UPDATE on accounts(email), which the bot's statements do not need",
            f"{bot} holds SELECT on auth_user, which the bot's statements do not need",
            f"{bot} may grant SELECT on users to others (WITH GRANT OPTION)",
        ]
    )
    assert ("orders", None, "DELETE") not in privileges(bot)
    assert ("accounts", "email", "UPDATE") not in privileges(bot)
    assert ("auth_user", None, "SELECT") not in privileges(bot)
    assert grants.plan(connection).differences() == []


def test_roles_no_setting_names_are_left_alone_and_listed(service_roles, role_names):
    outsider = role_names["outsider"]
    execute(f'GRANT SELECT, DELETE ON orders TO "{outsider}"')

    plan = grants.apply(connection)

    assert privileges(outsider) == {("orders", None, "SELECT"), ("orders", None, "DELETE")}
    assert plan.others == {outsider: [("orders", None, "DELETE"), ("orders", None, "SELECT")]}


def test_unset_settings_grant_nothing(settings, role_names):
    settings.LEDGERFLOW_BOT_ROLE = role_names["bot"]

    plan = grants.apply(connection)

    assert [role_plan.service.name for role_plan in plan.roles] == ["bot"]
    assert [service.name for service in plan.unset] == [
        "balancer",
        "indexer",
        "monitor",
        "balancer-v2",
        "bot-v2",
        "indexer-v2",
    ]
    assert privileges(role_names["balancer"]) == set()


def test_a_missing_role_is_refused_naming_the_setting_and_nothing_is_granted(
    service_roles, settings
):
    settings.LEDGERFLOW_INDEXER_ROLE = "lf_test_no_such_role"

    with pytest.raises(RoleError) as refused:
        grants.apply(connection)

    assert str(refused.value) == (
        "LEDGERFLOW_INDEXER_ROLE names the role 'lf_test_no_such_role', which does not exist on "
        "this PostgreSQL server. Create it (CREATE ROLE name LOGIN PASSWORD '…'), or correct or "
        "unset the setting. No grant was changed."
    )
    assert privileges(service_roles["bot"]) == set()


def test_a_superuser_or_a_shared_role_is_refused(service_roles, settings):
    settings.LEDGERFLOW_MONITOR_ROLE = "postgres"
    settings.LEDGERFLOW_BOT_ROLE = service_roles["balancer"]

    with pytest.raises(RoleError) as refused:
        grants.plan(connection)

    message = str(refused.value)
    assert (
        f"LEDGERFLOW_BALANCER_ROLE and LEDGERFLOW_BOT_ROLE all name '{service_roles['balancer']}'"
        in message
    )
    assert "LEDGERFLOW_MONITOR_ROLE names 'postgres', which is a superuser" in message
    assert message.endswith("No grant was changed.")


def test_a_grant_only_its_grantor_can_revoke_stops_everything(service_roles, role_names):
    grantor, bot = role_names["grantor"], service_roles["bot"]
    execute(f'GRANT DELETE ON users TO "{grantor}" WITH GRANT OPTION')
    execute(f'SET ROLE "{grantor}"')
    execute(f'GRANT DELETE ON users TO "{bot}"')
    execute("RESET ROLE")

    with pytest.raises(RoleError) as refused:
        grants.apply(connection)

    assert f"{bot} holds DELETE on users" in str(refused.value)
    assert "no grant was changed" in str(refused.value)
    assert privileges(service_roles["balancer"]) == set()  # granted first, then rolled back
    assert privileges(bot) == {("users", None, "DELETE")}


def test_a_member_of_the_tables_owner_is_refused(service_roles, settings, role_names):
    outsider = role_names["outsider"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'orders'")
        [owner] = cursor.fetchone()
    execute(f'GRANT "{owner}" TO "{outsider}"')
    settings.LEDGERFLOW_BOT_ROLE = outsider

    with pytest.raises(RoleError) as refused:
        grants.apply(connection)

    assert str(refused.value) == (
        f"LEDGERFLOW_BOT_ROLE names '{outsider}', which owns the project's tables or is a "
        f"member of their owner ({owner}), so it can alter and drop them; name a plain login "
        "role. No grant was changed."
    )
