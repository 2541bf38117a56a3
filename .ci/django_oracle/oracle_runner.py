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
from pathlib import Path

from django.apps import AppConfig, apps
from django.conf import settings
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
    from ledgerflow.migrating.executor import SafeMigrationExecutor

    if swap == "executor":
        django_executor.MigrationExecutor = SafeMigrationExecutor
        django_migrate.MigrationExecutor = SafeMigrationExecutor
    elif swap == "command":

        class Command(ProjectMigrate):
            def add_arguments(self, parser):
                super().add_arguments(parser)
                parser.set_defaults(no_preflight=True)

        # call_command("migrate") loads django.core.management.commands.migrate.Command, even
        # after a test's override_settings(INSTALLED_APPS=...) has reset the command cache.
        django_migrate.Command = Command


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

    def run_suite(self, suite, **kwargs):
        """Also write each test's outcome to ``ORACLE_RESULTS`` (JSON) for .ci/django-oracle."""
        result = super().run_suite(suite, **kwargs)
        if path := os.environ.get("ORACLE_RESULTS"):
            failed = [test.id() for test, _ in result.failures + result.errors]
            failed += [test.id() for test in result.unexpectedSuccesses]
            outcome = {"run": result.testsRun, "skipped": len(result.skipped), "failed": failed}
            Path(path).write_text(json.dumps(outcome, indent=1))
        return result
