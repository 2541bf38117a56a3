"""Least-privilege PostgreSQL roles for the Rust services and the monitor.

Operators create one login role per service and name it in ``LEDGERFLOW_BALANCER_ROLE``,
``LEDGERFLOW_BOT_ROLE``, ``LEDGERFLOW_INDEXER_ROLE`` and ``LEDGERFLOW_MONITOR_ROLE``. After every
``migrate`` (``ledgerflow.roles.hooks``) and on ``manage.py service_grants --apply``, each named
role is given exactly the privileges its service's statements need (``services.SERVICES``), and
every other privilege it holds on the project's tables and sequences is revoked
(``grants.apply``), in one transaction.

What the project owns, and so may revoke: the privileges of the roles named in those settings on
the tables its migrations create (the five ledger tables, its bookkeeping tables, Django's own,
``django_migrations``) and on their sequences, table- and column-level, with their grant options.
What it never touches: roles named in no setting (a reporting role, or a role that used to be
named: ``service_grants`` lists them so an operator can revoke by hand), grants to PUBLIC and the
owner's privileges (``schema_drift`` reports those), objects outside the project's tables,
database- and schema-level privileges (CONNECT, TEMPORARY, USAGE on the schema) and role
memberships.
"""


class RoleError(Exception):
    """A configuration or database state that stops grants being reconciled; the message is one
    paragraph for an operator, and nothing was changed."""
