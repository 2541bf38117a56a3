"""Migration operations for the objects the ORM does not model: enum types, triggers.

Each is a ``RunSQL`` with exact forward and reverse SQL, so ``sqlmigrate``, the migration plan
and reversal all see the statements that run. None of them changes the ORM state.
"""

from django.db import migrations

UPDATED_AT_FUNCTION = "update_updated_at_column"

# The body is the legacy sqlx migration's, character for character: drift checks compare it.
UPDATED_AT_FUNCTION_SQL = f"""CREATE OR REPLACE FUNCTION {UPDATED_AT_FUNCTION}()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ language 'plpgsql';"""


def _quote_label(label):
    return "'" + label.replace("'", "''") + "'"


class CreateEnumType(migrations.RunSQL):
    """Create a native PostgreSQL enum type with labels in the given order; drop it on reverse."""

    def __init__(self, name, labels):
        self.name = name
        self.labels = tuple(labels)
        labels_sql = ", ".join(_quote_label(label) for label in self.labels)
        super().__init__(
            sql=f"CREATE TYPE {name} AS ENUM ({labels_sql});",
            reverse_sql=f"DROP TYPE {name};",
        )

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"name": self.name, "labels": list(self.labels)}

    def describe(self):
        return f"Create enum type {self.name} ({', '.join(self.labels)})"

    @property
    def migration_name_fragment(self):
        return f"create_{self.name}_type"


class InstallUpdatedAtFunction(migrations.RunSQL):
    """Install the trigger function that stamps ``updated_at`` on every UPDATE."""

    def __init__(self):
        super().__init__(
            sql=UPDATED_AT_FUNCTION_SQL,
            reverse_sql=f"DROP FUNCTION {UPDATED_AT_FUNCTION}();",
        )

    def deconstruct(self):
        return self.__class__.__qualname__, [], {}

    def describe(self):
        return f"Install trigger function {UPDATED_AT_FUNCTION}()"

    @property
    def migration_name_fragment(self):
        return f"install_{UPDATED_AT_FUNCTION}"


class CreateUpdatedAtTrigger(migrations.RunSQL):
    """Create ``update_<table>_updated_at``: BEFORE UPDATE, FOR EACH ROW, on ``table``."""

    def __init__(self, table):
        self.table = table
        self.trigger = f"update_{table}_updated_at"
        super().__init__(
            sql=(
                f"CREATE TRIGGER {self.trigger} BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {UPDATED_AT_FUNCTION}();"
            ),
            reverse_sql=f"DROP TRIGGER {self.trigger} ON {table};",
        )

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"table": self.table}

    def describe(self):
        return f"Create trigger {self.trigger} on {self.table}"

    @property
    def migration_name_fragment(self):
        return f"create_{self.trigger}"
