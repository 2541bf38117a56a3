"""Keyset pagination: a page starts after (or ends before) the key of a row, not at an offset.

``OFFSET 50000`` reads and throws away fifty thousand rows; ``WHERE (created_at, id) <
(last seen) ORDER BY created_at DESC, id DESC LIMIT 51`` reads 51 through the index, whatever
the page. The key is the list's ordering columns (the admin always ends it with the primary key,
so keys are unique), written into the page links as a JSON list.

PostgreSQL puts NULLs last in ascending and first in descending order; the conditions below
follow that, so a nullable ordering column (``created_at``) pages through its NULL rows too.
"""

import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q


class _KeyEncoder(DjangoJSONEncoder):
    """Django's encoder, except that times keep their microseconds (Django's rounds them to
    milliseconds, and a key must compare equal to the row it came from)."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class InvalidCursor(ValueError):
    """A cursor from the query string that is not a key of this list's ordering."""


@dataclass(frozen=True)
class KeyColumn:
    field: object
    descending: bool

    @property
    def name(self):
        return self.field.attname


def key_columns(opts, ordering):
    """The key of ``ordering`` (Django's ``order_by`` strings), or ``None`` when an entry is not
    a plain column of the model (an expression, a relation, ``?``): such lists keep OFFSET."""
    columns = []
    seen = set()
    for entry in ordering:
        if not isinstance(entry, str):
            return None
        name = entry.removeprefix("-")
        try:
            field = opts.pk if name == "pk" else opts.get_field(name)
        except FieldDoesNotExist:
            return None
        if field.is_relation or not field.concrete:
            return None
        # The admin repeats the queryset's own ordering after its own: a repeated column only
        # ever compares equal, and the first mention decides.
        if field.attname not in seen:
            seen.add(field.attname)
            columns.append(KeyColumn(field, entry.startswith("-")))
    return columns or None


def encode(columns, obj):
    """The cursor of ``obj``: its key values as JSON."""
    values = [getattr(obj, column.name) for column in columns]
    return json.dumps(values, cls=_KeyEncoder, separators=(",", ":"))


def decode(columns, text):
    """The key values of cursor ``text``; ``InvalidCursor`` when it is not one."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidCursor(text) from None
    if not isinstance(raw, list) or len(raw) != len(columns):
        raise InvalidCursor(text)
    values = []
    for column, value in zip(columns, raw, strict=True):
        if value is None:
            if not column.field.null:
                raise InvalidCursor(text)
            values.append(None)
            continue
        try:
            ProhibitNullCharactersValidator()(str(value))
            value = column.field.to_python(value)
            column.field.run_validators(value)
        except ValidationError:
            raise InvalidCursor(text) from None
        values.append(value)
    return values


def _after(column, value, reverse):
    """Rows whose ``column`` comes strictly after ``value`` in the list's order (or before it
    when ``reverse``)."""
    descending = column.descending != reverse
    name = column.name
    if descending:  # NULLs first
        return Q(**{f"{name}__isnull": False}) if value is None else Q(**{f"{name}__lt": value})
    if value is None:  # NULLs last: nothing follows them
        return Q(pk__in=[])
    after = Q(**{f"{name}__gt": value})
    return after | Q(**{f"{name}__isnull": True}) if column.field.null else after


def _at_or_after(column, value, reverse):
    """``_after`` or equal, as one range where it can be one (an index condition)."""
    descending = column.descending != reverse
    name = column.name
    if value is None:
        return Q() if descending else Q(**{f"{name}__isnull": True})
    if descending:
        return Q(**{f"{name}__lte": value})
    at_or_after = Q(**{f"{name}__gte": value})
    return at_or_after | Q(**{f"{name}__isnull": True}) if column.field.null else at_or_after


def _equal(column, value):
    return Q(**{f"{column.name}__isnull": True}) if value is None else Q(**{column.name: value})


def beyond(columns, values, reverse=False):
    """Rows after the key ``values`` in the order of ``columns`` (before it when ``reverse``).

    The first column's bound is repeated on its own so that PostgreSQL can start an index scan
    there; the OR of the full comparison alone it could only filter.
    """
    condition = Q()
    equal = Q()
    for column, value in zip(columns, values, strict=True):
        condition |= equal & _after(column, value, reverse)
        equal &= _equal(column, value)
    return _at_or_after(columns[0], values[0], reverse) & condition


def reversed_ordering(columns):
    return [column.name if column.descending else f"-{column.name}" for column in columns]
