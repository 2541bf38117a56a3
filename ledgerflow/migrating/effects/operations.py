"""Effects computed from the structure of Django's migration operations, forwards (what applying
an operation does) and backwards (what unapplying it does). ``None`` means the operation's
structure is not known here; the caller then reads the SQL it renders (``effects.sql``)."""

import re

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.models.options import normalize_together

from ledgerflow.migrating import effects as fx
from ledgerflow.migrating.effects.sql import read_sql

# Operations whose database work does not depend on the models (so they reverse on their own).
_STATELESS = (migrations.RunSQL, migrations.RunPython)
_STATE_ONLY = (migrations.AlterModelOptions, migrations.AlterModelManagers)


def _model_state(state, app_label, model_name):
    return state.models.get((app_label, model_name.lower()))


def _table(state, app_label, model_name):
    model = _model_state(state, app_label, model_name)
    if model is None:
        return None
    return model.options.get("db_table") or f"{app_label}_{model.name_lower}"


def _qualified(table):
    return None if table is None else f"public.{table}"


def column_name(field, name):
    """The column of an unbound field of a ModelState called ``name``."""
    return field.db_column or (f"{name}_id" if field.is_relation and field.many_to_one else name)


def python_effect(code):
    """Running ``code`` (a RunPython function): what it does cannot be known."""
    name = getattr(code, "__qualname__", repr(code))
    return fx.Effect(fx.RUN_PYTHON, name=name, noop=code is migrations.RunPython.noop)


def _column_types(operation, state, app_label, connection):
    """An AlterField's column type before and after. The fields of a ModelState are unbound, and a
    relation's type is its target's, which only a rendered model resolves."""
    scratch = state.clone()  # rendered and altered here; the caller's state stays as it was

    def column_type():
        model = scratch.apps.get_model(app_label, operation.model_name)
        return model._meta.get_field(operation.name).db_type(connection)

    old_type = column_type()
    operation.state_forwards(app_label, scratch)
    return old_type, column_type()


_VARCHAR = re.compile(r"varchar(?:\((\d+)\))?")
_NUMERIC = re.compile(r"numeric\((\d+), ?(\d+)\)")


def widens_in_catalogue(old_type, new_type):
    """Whether PostgreSQL changes ``old_type`` to ``new_type`` without rewriting the table: a
    varchar made longer, unbounded or text, a numeric given more digits at the same scale."""
    old_varchar = _VARCHAR.fullmatch(old_type)
    if old_varchar:
        if new_type == "text":
            return True
        new_varchar = _VARCHAR.fullmatch(new_type)
        if new_varchar is None:
            return False
        old_length, new_length = old_varchar[1], new_varchar[1]
        return new_length is None or (old_length is not None and int(new_length) >= int(old_length))
    old_numeric, new_numeric = _NUMERIC.fullmatch(old_type), _NUMERIC.fullmatch(new_type)
    return bool(
        old_numeric
        and new_numeric
        and old_numeric[2] == new_numeric[2]
        and int(new_numeric[1]) >= int(old_numeric[1])
    )


def _builds_index(old, new):
    """Whether AlterField from ``old`` to ``new`` creates an index (as Django's schema editor
    decides): a unique one when the field becomes unique, a plain one when it becomes db_index."""
    plain = new.db_index and not new.unique and (old.unique or not old.db_index)
    return plain or (new.unique and not old.unique)


def database_operations(operation):
    """SeparateDatabaseAndState runs its database_operations; its state_operations only change
    Django's idea of the models."""
    if isinstance(operation, migrations.SeparateDatabaseAndState):
        for inner in operation.database_operations:
            yield from database_operations(inner)
    else:
        yield operation


def forwards(operation, app_label, state, connection):
    """What applying ``operation`` does, judged against ``state``, the models before its
    migration; ``None`` for an operation whose structure is not known here."""
    if isinstance(operation, migrations.SeparateDatabaseAndState):
        found = [
            forwards(op, app_label, state, connection) for op in database_operations(operation)
        ]
        return [effect for effects in found if effects for effect in effects]
    if isinstance(operation, migrations.RunSQL):
        return read_sql(operation.sql)
    if isinstance(operation, migrations.RunPython):
        return [python_effect(operation.code)]
    if isinstance(operation, migrations.CreateModel):
        name = operation.options.get("db_table") or f"{app_label}_{operation.name_lower}"
        return [fx.Effect(fx.CREATE_TABLE, table=_qualified(name))]
    model_name = (
        getattr(operation, "model_name", None)
        or getattr(operation, "name", None)
        or getattr(operation, "old_name", None)
    )
    model = _model_state(state, app_label, model_name) if isinstance(model_name, str) else None
    if model is None:
        return None
    table = _qualified(_table(state, app_label, model_name))
    effect = _forwards_on(operation, app_label, state, connection, model, table)
    return None if effect is None else [e for e in effect if e is not None]


def _forwards_on(operation, app_label, state, connection, model, table):
    """``forwards`` for an operation on ``model`` (a ModelState) and its ``table``."""
    if isinstance(operation, migrations.DeleteModel):
        return [fx.Effect(fx.DROP_TABLE, table=table)]
    if isinstance(operation, migrations.RenameModel):
        # With an explicit db_table the table keeps its name; only the columns of an auto-created
        # many-to-many table are named after the model.
        if not model.options.get("db_table") or any(
            field.many_to_many for field in model.fields.values()
        ):
            new = model.options.get("db_table") or f"{app_label}_{operation.new_name_lower}"
            return [fx.Effect(fx.RENAME_TABLE, table=table, new_name=_qualified(new))]
        return []
    if isinstance(operation, migrations.AlterModelTable):
        return [fx.Effect(fx.RENAME_TABLE, table=table, new_name=_qualified(operation.table))]
    if isinstance(operation, migrations.RemoveField):
        field = model.fields.get(operation.name)
        column = column_name(field, operation.name) if field else operation.name
        return [fx.Effect(fx.DROP_COLUMN, table=table, column=column)]
    if isinstance(operation, migrations.RenameField):
        field = model.fields.get(operation.old_name)
        if field is None or field.db_column:
            return []
        return [
            fx.Effect(
                fx.RENAME_COLUMN,
                table=table,
                column=operation.old_name,
                new_name=operation.new_name,
            )
        ]
    if isinstance(operation, migrations.AddField):
        field = operation.field
        column = column_name(field, operation.name)
        return [
            fx.Effect(
                fx.ADD_COLUMN,
                table=table,
                column=column,
                not_null=not field.null and not field.has_db_default() and not field.many_to_many,
            ),
            fx.Effect(fx.BUILD_INDEX, table=table, column=column)
            if (field.db_index or field.unique) and not field.primary_key
            else None,
        ]
    if isinstance(operation, migrations.AlterField):
        old, new = model.fields.get(operation.name), operation.field
        if old is None:
            return []
        column = column_name(new, operation.name)
        old_type, new_type = _column_types(operation, state, app_label, connection)
        return [
            fx.Effect(
                fx.CHANGE_TYPE,
                table=table,
                column=column,
                new_type=new_type,
                old_type=old_type,
                rewrites=not widens_in_catalogue(old_type, new_type),
            )
            if old_type != new_type
            else None,
            fx.Effect(fx.SET_NOT_NULL, table=table, column=column)
            if old.null and not new.null
            else None,
            fx.Effect(fx.BUILD_INDEX, table=table, column=operation.name)
            if _builds_index(old, new)
            else None,
        ]
    if isinstance(operation, migrations.AlterUniqueTogether):
        old = model.options.get("unique_together")
        added = set(normalize_together(operation.unique_together)) - set(
            normalize_together(old or ())
        )
        return [
            fx.Effect(fx.BUILD_INDEX, table=table, unique=True, name=", ".join(fields))
            for fields in sorted(added)
        ]
    if isinstance(operation, migrations.AddIndex):
        concurrently = isinstance(operation, AddIndexConcurrently)
        return [
            fx.Effect(
                fx.BUILD_INDEX, table=table, name=operation.index.name, concurrently=concurrently
            )
        ]
    if isinstance(operation, migrations.RemoveIndex):
        concurrently = isinstance(operation, RemoveIndexConcurrently)
        return [
            fx.Effect(fx.DROP_INDEX, table=table, name=operation.name, concurrently=concurrently)
        ]
    if isinstance(operation, migrations.AddConstraint):
        unique = isinstance(operation.constraint, models.UniqueConstraint)
        return [
            fx.Effect(fx.ADD_CONSTRAINT, table=table, name=operation.constraint.name, unique=unique)
        ]
    return None


def _meta(state, app_label, model_name):
    return state.apps.get_model(app_label, model_name)._meta


def _through_tables(meta):
    """The auto-created many-to-many tables of a model: created and dropped with it."""
    return [
        _qualified(field.remote_field.through._meta.db_table)
        for field in meta.local_many_to_many
        if field.remote_field.through._meta.auto_created
    ]


def backwards(operation, app_label, before, after, connection):
    """What unapplying ``operation`` does: ``after`` holds the models as it left them, ``before``
    as it found them (the reverse goes from ``after`` to ``before``). ``None`` for an operation
    whose structure is not known here."""
    if isinstance(operation, migrations.SeparateDatabaseAndState):
        inner = list(database_operations(operation))
        if not all(isinstance(op, _STATELESS) for op in inner):
            return None
        found = [backwards(op, app_label, before, after, connection) for op in reversed(inner)]
        return [effect for effects in found for effect in effects]
    if isinstance(operation, migrations.RunSQL):
        return read_sql(operation.reverse_sql)
    if isinstance(operation, migrations.RunPython):
        return [python_effect(operation.reverse_code)]
    if isinstance(operation, _STATE_ONLY):
        return []
    if isinstance(operation, migrations.CreateModel):
        meta = _meta(after, app_label, operation.name)
        tables = [*_through_tables(meta), _qualified(meta.db_table)]
        return [fx.Effect(fx.DROP_TABLE, table=table) for table in tables]
    if isinstance(operation, migrations.DeleteModel):
        meta = _meta(before, app_label, operation.name)
        tables = [_qualified(meta.db_table), *_through_tables(meta)]
        return [fx.Effect(fx.CREATE_TABLE, table=table) for table in tables]
    if isinstance(operation, migrations.RenameModel | migrations.AlterModelTable):
        new_model = getattr(operation, "new_name", operation.name)
        old_model = getattr(operation, "old_name", operation.name)
        now = _meta(after, app_label, new_model)
        then = _meta(before, app_label, old_model)
        if now.local_many_to_many or now.db_table == then.db_table:
            return None if now.local_many_to_many else []
        return [
            fx.Effect(
                fx.RENAME_TABLE,
                table=_qualified(now.db_table),
                new_name=_qualified(then.db_table),
            )
        ]
    if isinstance(operation, migrations.AddField | migrations.RemoveField | migrations.AlterField):
        return _field_backwards(operation, app_label, before, after, connection)
    if isinstance(operation, migrations.RenameField):
        table = _qualified(_meta(after, app_label, operation.model_name).db_table)
        now = _meta(after, app_label, operation.model_name).get_field(operation.new_name)
        then = _meta(before, app_label, operation.model_name).get_field(operation.old_name)
        if now.many_to_many or now.column == then.column:
            return None if now.many_to_many else []
        return [fx.Effect(fx.RENAME_COLUMN, table=table, column=now.column, new_name=then.column)]
    table = _qualified(_table(after, app_label, getattr(operation, "model_name", "") or ""))
    if isinstance(operation, migrations.AddIndex):
        concurrently = isinstance(operation, AddIndexConcurrently)
        return [
            fx.Effect(
                fx.DROP_INDEX, table=table, name=operation.index.name, concurrently=concurrently
            )
        ]
    if isinstance(operation, migrations.RemoveIndex):
        concurrently = isinstance(operation, RemoveIndexConcurrently)
        return [
            fx.Effect(fx.BUILD_INDEX, table=table, name=operation.name, concurrently=concurrently)
        ]
    if isinstance(operation, migrations.AddConstraint):
        return [fx.Effect(fx.ALTER_TABLE, table=table)]
    if isinstance(operation, migrations.RemoveConstraint):
        return [fx.Effect(fx.ADD_CONSTRAINT, table=table, name=operation.name)]
    return None


def _field_backwards(operation, app_label, before, after, connection):
    """Unapplying AddField (drops the column), RemoveField (adds it back) or AlterField (alters it
    back). A primary key or many-to-many change reaches other tables: not modelled here."""
    model_name = operation.model_name
    table = _qualified(_meta(after, app_label, model_name).db_table)
    now = then = None
    if not isinstance(operation, migrations.RemoveField):
        now = _meta(after, app_label, model_name).get_field(operation.name)
    if not isinstance(operation, migrations.AddField):
        then = _meta(before, app_label, model_name).get_field(operation.name)
    fields = [field for field in (now, then) if field is not None]
    if any(field.primary_key for field in fields):
        return None
    if isinstance(operation, migrations.AddField):
        if now.many_to_many:
            return [
                fx.Effect(fx.DROP_TABLE, table=_qualified(now.remote_field.through._meta.db_table))
            ]
        return [fx.Effect(fx.DROP_COLUMN, table=table, column=now.column)]
    if isinstance(operation, migrations.RemoveField):
        if then.many_to_many:
            through = then.remote_field.through._meta.db_table
            return [fx.Effect(fx.CREATE_TABLE, table=_qualified(through))]
        return [fx.Effect(fx.ADD_COLUMN, table=table, column=then.column)]
    if now.many_to_many or then.many_to_many:
        return None
    effects = []
    if now.column != then.column:
        effects.append(
            fx.Effect(fx.RENAME_COLUMN, table=table, column=now.column, new_name=then.column)
        )
    now_type, then_type = now.db_type(connection), then.db_type(connection)
    if now_type != then_type:
        effects.append(
            fx.Effect(
                fx.CHANGE_TYPE,
                table=table,
                column=then.column,
                old_type=now_type,
                new_type=then_type,
                rewrites=not widens_in_catalogue(now_type, then_type),
            )
        )
    if now.null and not then.null:
        effects.append(fx.Effect(fx.SET_NOT_NULL, table=table, column=then.column))
    return effects or [fx.Effect(fx.ALTER_TABLE, table=table)]
