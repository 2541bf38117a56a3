"""Model fields for column types Django does not ship: a native enum and a bigserial key."""

from django.db import models


class PostgresEnumField(models.CharField):
    """A column whose type is a native PostgreSQL enum.

    The type itself is created by the ``CreateEnumType`` migration operation; this field only
    declares it as the column type. Values travel as text, so choices must mirror the labels.
    """

    description = "PostgreSQL enum"

    def __init__(self, *args, enum_type, **kwargs):
        self.enum_type = enum_type
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["enum_type"] = self.enum_type
        return name, path, args, kwargs

    def db_type(self, connection):
        return self.enum_type

    def rel_db_type(self, connection):
        return self.enum_type

    def cast_db_type(self, connection):
        return self.enum_type


class BigSerialField(models.BigAutoField):
    """A ``bigserial`` primary key: a bigint column defaulting to ``nextval('<table>_id_seq')``.

    Django 5.2's ``BigAutoField`` creates an identity column instead, which the legacy schema
    (and tooling that reads ``pg_get_serial_sequence``/column defaults) does not have.
    """

    description = "Big (8 byte) serial integer"

    def db_type(self, connection):
        return "bigserial"

    def db_type_suffix(self, connection):
        return None

    def rel_db_type(self, connection):
        return "bigint"

    def cast_db_type(self, connection):
        return "bigint"
