"""``runserver`` (staticfiles' own), whose start-up migration check only warns when the role
cannot read ``django_migrations``: a read-only or service role must still serve the admin and
the health endpoints, which report the migration state themselves."""

from django.contrib.staticfiles.management.commands import runserver
from django.db import DatabaseError

from ledgerflow.db.urls import describe_target


class Command(runserver.Command):
    def check_migrations(self):
        try:
            super().check_migrations()
        except DatabaseError as exc:
            from django.db import DEFAULT_DB_ALIAS, connections

            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.stdout.write(
                self.style.WARNING(
                    "\nCould not check for unapplied migrations on "
                    f"{describe_target(connections[DEFAULT_DB_ALIAS].settings_dict)}: {reason}. "
                    "Starting anyway; /health/ready reports the migration state. Connect as the "
                    "role named in LEDGERFLOW_MONITOR_ROLE (or one that may read "
                    "django_migrations) to have it checked here."
                )
            )
