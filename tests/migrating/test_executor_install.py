"""The project's executor is put into Django's ``migrate`` once, on the verified Django only."""

import django
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.commands import migrate as django_migrate
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.migrating import executor


def test_the_executor_is_installed_at_start_up():
    assert django_migrate.MigrationExecutor is executor.SafeMigrationExecutor


def test_another_django_release_keeps_its_own_executor_and_migrate_refuses(monkeypatch):
    monkeypatch.setattr(django_migrate, "MigrationExecutor", MigrationExecutor)
    monkeypatch.setattr(django, "VERSION", (6, 0, 0, "final", 0))

    assert executor.install() is False
    assert django_migrate.MigrationExecutor is MigrationExecutor
    with pytest.raises(CommandError) as refused:
        call_command("migrate", verbosity=0)
    assert "the installed Django is 6.0" in str(refused.value)
    assert "verified against Django 5.2 only" in str(refused.value)
    assert "Nothing was changed." in str(refused.value)
