"""Database-side default expressions, rendered exactly as the schema contract prints them."""

from django.db import models


class Now(models.Func):
    """PostgreSQL's ``now()``.

    Django's own ``Now()`` renders ``STATEMENT_TIMESTAMP()``; the contract's defaults are ``now()``
    (the transaction's start time), and ``pg_get_expr`` must print exactly that.
    """

    template = "now()"
    output_field = models.DateTimeField()


class GenRandomUUID(models.Func):
    """PostgreSQL's ``gen_random_uuid()`` (built in since PostgreSQL 13)."""

    template = "gen_random_uuid()"
    output_field = models.UUIDField()
