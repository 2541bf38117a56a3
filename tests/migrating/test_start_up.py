"""What ``migrate`` loads and checks before it touches the database.

It runs Django's system checks about models, databases and the migration commands, so a broken
model still stops it before anything is applied, while the URL configuration (the health views,
django-health-check, dnspython) is never imported on its way.
"""

import textwrap

import pytest

from tests.migrating.support import query, run_manage
from tests.support.databases import scratch_database

pytestmark = pytest.mark.process


@pytest.fixture
def broken_models(tmp_path):
    """Settings with one more app whose model orders by a field it lacks (models.E015)."""
    app = tmp_path / "lf_broken_models"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(
        textwrap.dedent(
            """
            from django.db import models


            class Broken(models.Model):
                class Meta:
                    ordering = ["no_such_field"]
            """
        )
    )
    (tmp_path / "lf_broken_settings.py").write_text(
        "from ledgerflow.settings import *  # noqa: F403\n"
        'INSTALLED_APPS = [*INSTALLED_APPS, "lf_broken_models"]  # noqa: F405\n'
    )
    return {"PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "lf_broken_settings"}


def _has_history(dbname):
    return query(dbname, "SELECT to_regclass('django_migrations') IS NOT NULL")[0][0]


def test_a_broken_model_stops_migrate_before_anything_is_applied(broken_models):
    with scratch_database() as dbname:
        result = run_manage(dbname, "migrate", "--no-input", env=broken_models)

        assert result.returncode != 0
        assert "models.E015" in result.stderr
        assert "no_such_field" in result.stderr
        assert not _has_history(dbname)


def test_skip_checks_still_skips_them(broken_models):
    with scratch_database() as dbname:
        result = run_manage(dbname, "migrate", "--no-input", "--skip-checks", env=broken_models)

        assert result.returncode == 0, result.stderr
        assert "models.E015" not in result.stderr
        assert _has_history(dbname)


def test_migrate_imports_neither_the_url_configuration_nor_the_health_checks():
    with scratch_database() as dbname:
        result = run_manage(dbname, "migrate", "--plan", env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "django.core.checks.model_checks" in imported  # the import log is there
    unwanted = {"ledgerflow.urls", "ledgerflow.health.views", "health_check", "dns"}
    assert not unwanted & imported
