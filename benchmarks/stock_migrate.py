"""Stock Django's ``migrate`` (django.core.management.commands.migrate), bypassing this
project's override, on the same settings, models and migrations: the benchmarks' baseline."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")

import django
from django.core.management import call_command
from django.core.management.commands import migrate

django.setup()
call_command(migrate.Command(), *sys.argv[1:])
