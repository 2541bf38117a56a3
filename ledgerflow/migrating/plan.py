"""The pending plan and the exact SQL ``migrate`` would run for it, without running it."""


def pending_plan(executor):
    """``[(migration, backwards)]`` to bring every app to its leaf, as ``migrate`` would."""
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def plan_sql(executor, plan):
    """``[{"app", "name", "atomic", "sql": [statements]}]`` for each forward migration, rendered
    by Django's schema editor in collect-only mode (what ``sqlmigrate`` prints); nothing runs."""
    rendered = []
    # Every applied migration's models, as migrate starts from: a plan spanning several apps
    # needs the other apps' models too, not only the first pending migration's ancestors.
    state = executor._create_project_state(with_applied_migrations=True)
    for migration, backwards in plan:
        if backwards:
            continue
        with executor.connection.schema_editor(
            collect_sql=True, atomic=migration.atomic
        ) as schema_editor:
            state = migration.apply(state, schema_editor, collect_sql=True)
        statements = [
            s for s in schema_editor.collected_sql if s.strip() not in ("", "BEGIN;", "COMMIT;")
        ]
        rendered.append(
            {
                "app": migration.app_label,
                "name": migration.name,
                "atomic": migration.atomic,
                "sql": statements,
            }
        )
    return rendered
