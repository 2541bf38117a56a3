"""The pending plan and the exact SQL ``migrate`` would run for it, without running it."""

from django.db.migrations.executor import MigrationExecutor


def pending_plan(executor):
    """``[(migration, backwards)]`` to bring every app to its leaf, as ``migrate`` would."""
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def plan_sql(executor, plan):
    """``[{"app", "name", "atomic", "sql": [statements]}]`` for each forward migration, rendered
    by Django's schema editor in collect-only mode (what ``sqlmigrate`` prints)."""
    rendered = []
    for migration, backwards in plan:
        if backwards:
            continue
        statements = executor.collect_sql([(migration, False)])
        rendered.append(
            {
                "app": migration.app_label,
                "name": migration.name,
                "atomic": migration.atomic,
                "sql": [
                    s for s in statements if s.strip() and s.strip() not in ("BEGIN;", "COMMIT;")
                ],
            }
        )
    return rendered


def new_executor(connection):
    return MigrationExecutor(connection)
