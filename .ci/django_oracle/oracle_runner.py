"""Django's test runner with the project swapped in, as ``ORACLE_SWAP`` says.

``executor``: Django's ``MigrationExecutor`` is the project's ``SafeMigrationExecutor`` wherever
Django and its tests look it up. ``command``: ``call_command("migrate")`` runs the project's
``migrate`` command, pre-flight off (its models and lint checks judge the project's migrations,
not Django's test apps). ``none``: stock Django, to tell the machine's failures from ours.

The swap happens after runtests.py has set up the apps and before any test module is imported,
so a test's ``from django.db.migrations.executor import MigrationExecutor`` gets the swapped class.
"""

import json
import os
import unittest
from pathlib import Path

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import DatabaseError, connections
from django.test.runner import DiscoverRunner

SWAPS = ("none", "executor", "command")


class ProjectModels(AppConfig):
    """The project app for its models (the migration ledger), without its commands: ``path``
    has no management/ package, so Django's flush, runserver, … stay Django's own."""

    name = "ledgerflow"
    path = str(Path(__file__).resolve().parent)


def swap_in(swap):
    """Install the project's class in Django's place; the glue is only what has no entry point."""
    from django.core.management.commands import migrate as django_migrate
    from django.db.migrations import executor as django_executor

    from ledgerflow.management.commands.migrate import Command as ProjectMigrate
    from ledgerflow.migrating import executor

    if swap == "executor":
        django_executor.MigrationExecutor = executor.SafeMigrationExecutor
        assert executor.install(), "the executor refuses this Django release"
    elif swap == "command":
        # The project's command runs only with its executor, as the app's ready() installs it.
        assert executor.install(), "the executor refuses this Django release"

        class Command(ProjectMigrate):
            def add_arguments(self, parser):
                super().add_arguments(parser)
                parser.set_defaults(no_preflight=True)

        # call_command("migrate") loads django.core.management.commands.migrate.Command, even
        # after a test's override_settings(INSTALLED_APPS=...) has reset the command cache.
        django_migrate.Command = Command


class CleanAfterEachTest(unittest.TextTestResult):
    """After each test, the test databases are put back as they were before the first one.

    Django's tests clean up with ``migrate APP zero``, which the project's command refuses
    (forward only); without this, that test's tables, history and checksum rows would make the
    tests after it fail too, and the expected list would be knock-ons, not differences."""

    baseline = {}  # alias -> (tables, history rows, checksum rows)

    @classmethod
    def take_baseline(cls):
        cls.baseline = {alias: _contents(connections[alias]) for alias in connections}

    def stopTest(self, test):
        super().stopTest(test)
        for alias, (tables, history, ledger) in self.baseline.items():
            connection = connections[alias]
            # Django forbids a test the databases it does not declare; nor can it change them.
            if alias not in getattr(test, "databases", ()) or connection.in_atomic_block:
                continue  # inside a TestCase class's transaction: it is rolled back anyway
            try:
                _restore(connection, tables, history, ledger)
            except DatabaseError as exc:  # the tests after this one will show it
                self.stream.writeln(f"Could not clean {alias} after {test.id()}: {exc}")


def _restore(connection, tables, history, ledger):
    from ledgerflow.models import AppliedMigrationChecksum

    CHECKSUM_TABLE = AppliedMigrationChecksum._meta.db_table

    now_tables, now_history, now_ledger = _contents(connection)
    with connection.cursor() as cursor:
        for table in sorted(now_tables - tables):
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
        for app, name in now_history - history:
            cursor.execute(
                "DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name]
            )
        for app, name in now_ledger - ledger:
            cursor.execute(
                f"DELETE FROM {CHECKSUM_TABLE} WHERE app = %s AND name = %s", [app, name]
            )


def _contents(connection):
    from ledgerflow.models import AppliedMigrationChecksum

    CHECKSUM_TABLE = AppliedMigrationChecksum._meta.db_table

    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        cursor.execute("SELECT app, name FROM django_migrations")
        history = set(cursor.fetchall())
        ledger = set()
        if CHECKSUM_TABLE in tables:
            cursor.execute(f"SELECT app, name FROM {CHECKSUM_TABLE}")
            ledger = set(cursor.fetchall())
    return tables, history, ledger


class OracleRunner(DiscoverRunner):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        swap = os.environ.get("ORACLE_SWAP", "none")
        if swap not in SWAPS:
            raise SystemExit(f"ORACLE_SWAP is {swap!r}; it must be one of {', '.join(SWAPS)}.")
        if swap != "none":
            # The list runtests.py installed the test apps into; the project app joins them.
            settings.INSTALLED_APPS.append(f"{__name__}.ProjectModels")
            apps.set_installed_apps(settings.INSTALLED_APPS)
            swap_in(swap)

    def get_resultclass(self):
        return CleanAfterEachTest

    def run_suite(self, suite, **kwargs):
        """Also write each test's outcome to ``ORACLE_RESULTS`` (JSON) for .ci/django-oracle."""
        CleanAfterEachTest.take_baseline()
        result = super().run_suite(suite, **kwargs)
        if path := os.environ.get("ORACLE_RESULTS"):
            failed = [test.id() for test, _ in result.failures + result.errors]
            failed += [test.id() for test in result.unexpectedSuccesses]
            outcome = {"run": result.testsRun, "skipped": len(result.skipped), "failed": failed}
            Path(path).write_text(json.dumps(outcome, indent=1))
        return result
