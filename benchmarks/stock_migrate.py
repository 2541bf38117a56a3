"""Stock Django's ``migrate`` (django.core.management.commands.migrate), bypassing this
project's override, on the same settings, models and migrations: the benchmarks' baseline.

The project's app puts its executor into Django's command at start-up
(``ledgerflow.migrating.executor.install``); Django's own is put back here, so that this is
Django's command and executor, with the project's models, migrations and migrate signals."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")

import django
from django.core.management.commands import migrate
from django.db.migrations.executor import MigrationExecutor

django.setup()
migrate.MigrationExecutor = MigrationExecutor
# run_from_argv, as `manage.py migrate` does: system checks included (call_command skips them).
migrate.Command().run_from_argv(["manage.py", "migrate", *sys.argv[1:]])
